"""Tables on stdout and the JSON file: the same numbers, two readers."""

import json
import math

from groupquant.bench import extras


def _table(rows, headers):
    tabulate = extras.load("tabulate").tabulate
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _num(v, digits=3):
    """Three significant digits, no exponent for the magnitudes seen here."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if v == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
    return f"{v:.{decimals}f}"


def _x(v):
    return "n/a" if v is None else f"{v:.2f}x"


def _yes(flag):
    return {True: "yes", False: "NO", None: "n/a"}[flag]


def timing_table(run, layout_order=()):
    """One table per format: groupquant vs copy, torch.compile(ref), eager ref."""
    out, notes = [], []
    order = {name: i for i, name in enumerate(layout_order)}
    by_format = {}
    for r in run["results"]:
        by_format.setdefault(r["format"], []).append(r)
    for fmt, rows in by_format.items():
        table, inexact = [], []
        for r in sorted(rows, key=lambda r: (order.get(r["layout"], len(order)), r["layout"], r["k"], r["m"])):
            gq, comp, eager = r["groupquant"], r["compile_ref"], r["eager_ref"]
            if "unavailable" in comp:
                notes.append(f"torch.compile(reference) unavailable: {comp['unavailable']}")
            elif not comp.get("bit_exact", True):
                inexact.append(f"{r['m']}x{r['k']} {r['layout']}")
            if "error" in gq:
                notes.append(f"groupquant failed at {r['m']}x{r['k']} {r['layout']}: {gq['error']}")
                table.append([r["layout"], r["m"], r["k"], "ERROR"] + [""] * 8)
                continue
            table.append([
                r["layout"], r["m"], r["k"], _num(gq["median_us"]), _num(gq["gbps"]),
                _num(r["pct_ceiling"]), _num(r["pct_copy"]),
                _num(comp.get("median_us")), _num(eager["median_us"]),
                _x(r.get("speedup_vs_compile")), _x(r.get("speedup_vs_eager")), _yes(gq.get("bit_exact")),
            ])
        if inexact:
            notes.append(f"torch.compile(reference) is not bit-exact with the eager reference ({fmt}) at: "
                         + ", ".join(inexact))
        headers = ["layout", "M", "K", "µs", "GB/s", "% ceil", "% copy", "compile µs", "eager µs",
                   "vs compile", "vs eager", "exact"]
        out.append(f"{fmt}:\n" + _table(table, headers))
    seen = []
    for n in notes:
        if n not in seen:
            seen.append(n)
    return "\n\n".join(out), seen


def graph_table(run):
    rows = [r for r in run["results"] if r.get("graph")]
    if not rows:
        return None
    table = []
    for r in sorted(rows, key=lambda r: (r["format"], r["layout"], r["k"], r["m"])):
        g = r["graph"]
        if "error" in g:
            table.append([r["format"], r["layout"], r["m"], r["k"], "ERROR: " + g["error"], "", ""])
            continue
        warm = g.get("per_call_warm_us")
        table.append([r["format"], r["layout"], r["m"], r["k"], _num(g["per_call_us"]),
                      _num(warm) if warm is not None else "n/a", _num(g["empty_kernel_us"]),
                      _num(warm / g["empty_kernel_us"]) + "x" if warm is not None else "n/a",
                      _num(r["groupquant"]["median_us"]), _num(g["eager_wall_us"]),
                      _num(g["empty_kernel_eager_us"])])
    headers = ["format", "layout", "M", "K", "graph µs/call (cold x)", "graph µs/call (warm x)",
               "empty graph µs/call", "warm / empty", "device µs", "eager wall µs/call", "empty eager wall µs"]
    g0 = rows[0]["graph"]
    return (_table(table, headers) + f"\n(empty kernel: {g0.get('empty_kernel', '')}; each graph holds "
            f"{g0.get('calls_per_graph')} calls; cold x: every call reads a different input from a pool larger "
            "than the cache, so from memory; warm x: every call reads the same input, as when the producing "
            "kernel has just written it (and as triton's do_bench_cudagraph measures); "
            "eager wall: back-to-back calls, host included)")


def accuracy_table(runs):
    table = []
    for run in runs:
        for r in run["accuracy"]:
            if "error" in r:
                table.append([r["backend"], r["format"], "on" if r["ue8m0"] else "off",
                              f"{r['m']}x{r['k']} {r['in_dtype']}", "ERROR", r["error"], ""])
                continue
            table.append([r["backend"], r["format"], "on" if r["ue8m0"] else "off",
                          f"{r['m']}x{r['k']} {r['in_dtype']}", f"{r['rel_err']:.3e}", f"{r['snr_db']:.2f}",
                          _yes(r["bit_exact"])])
    if not table:
        return None
    return _table(table, ["backend", "format", "UE8M0", "input", "||deq-x||/||x||", "SNR dB", "exact"])


def render(runs, machine, layout_order=()):
    parts = []
    for run in runs:
        dev = machine["devices"][run["backend"]]["name"]
        ceil = run["ceiling"]["copy_gbps"]
        parts.append(f"== {run['backend']}: {dev}; copy ceiling {_num(ceil)} GB/s (read + write) ==")
        if run["device"].startswith("cuda") and machine.get("gpu_tune"):
            parts.append(f"GROUPQUANT_GPU_TUNE={machine['gpu_tune']} (launch tuning overridden)")
        text, notes = timing_table(run, layout_order)
        if run["device"].startswith("cuda"):
            how = ("µs: device time per call (CUDA events, host queued ahead of the GPU); "
                   "GB/s = bytes moved / µs; % copy: vs a copy of the same bytes timed the same way")
        else:
            how = "µs: wall time per call; GB/s = bytes moved / µs; % copy: vs a copy of the same bytes"
        parts.append(how + "; % ceil: vs the copy ceiling; vs compile / vs eager: speedup over "
                     "torch.compile(reference) / the eager reference; exact: bit-identical to the reference\n" + text)
        lines = [f"note: {n}" for n in notes] + [f"note: not measured, {n}" for n in run.get("skipped", ())]
        if lines:
            parts.append("\n".join(lines))
        g = graph_table(run)
        if g:
            parts.append(f"CUDA-graph replay (M <= {runner_graph_max_m()}):\n" + g)
    acc = accuracy_table(runs)
    if acc:
        parts.append("== accuracy (dequantized vs input) ==\n" + acc)
    return "\n\n".join(parts)


def runner_graph_max_m():
    from groupquant.bench import runner
    return runner.GRAPH_MAX_M


def write_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=False, allow_nan=True)
        f.write("\n")
