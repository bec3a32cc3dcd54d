"""Markdown tables for docs/performance.md from a bench JSON.

    python3 tools/gpu/perf_tables.py docs/h200/bench_cuda.json

prints the layout x M table (one column group per K: µs, % copy, speedup
over torch.compile) and the CUDA-graph table, so the document's numbers are
the JSON's, never retyped. A fused-bench JSON (`--ops fused,masked`) gets its
own two tables.
"""

import json
import sys


def _n(v, digits=3):
    if v is None:
        return "n/a"
    return f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:.0f}"


def _x(v):
    return "n/a" if v is None else f"{v:.2f}x"


def plain_tables(results):
    # The default runs: e4m3fn without UE8M0, and the packed layout (UE8M0 by definition).
    rows = [r for r in results
            if r.get("layout") == "packed" or (r.get("format") == "e4m3fn" and not r.get("ue8m0"))]
    ks = sorted({r["k"] for r in rows})
    head = "| layout | M | " + " | ".join(f"K={k} µs | % copy | vs compile" for k in ks) + " |"
    out = [head, "|" + "---|" * (2 + 3 * len(ks))]
    by = {(r["layout"], r["m"], r["k"]): r for r in rows}
    for layout in dict.fromkeys(r["layout"] for r in rows):
        for m in sorted({r["m"] for r in rows if r["layout"] == layout}):
            cells = []
            for k in ks:
                r = by.get((layout, m, k))
                if r is None:
                    cells += ["", "", ""]
                    continue
                cells += [_n(r["groupquant"]["median_us"]), f"{r['pct_copy']:.1f}",
                          _x(r.get("speedup_vs_compile"))]
            out.append(f"| {layout} | {m} | " + " | ".join(cells) + " |")
    graph = ["| layout | M | K | graph µs/call cold x | warm x | empty | warm / empty |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        g = r.get("graph")
        if not g or g.get("per_call_us") is None:
            continue
        graph.append(f"| {r['layout']} | {r['m']} | {r['k']} | {g['per_call_us']:.2f} | "
                     f"{g['per_call_warm_us']:.2f} | {g['empty_kernel_us']:.2f} | "
                     f"{g['per_call_warm_us'] / g['empty_kernel_us']:.2f}x |")
    return "\n".join(out) + "\n\n" + "\n".join(graph)


def main(path):
    d = json.load(open(path))
    for run in d["runs"]:
        print(f"## {run['backend']}: {d['machine']['devices'][run['backend']]['name']}, "
              f"copy ceiling {run['ceiling']['copy_gbps']:.0f} GB/s, "
              f"gpu_tune={d['machine'].get('gpu_tune')}\n")
        if run.get("results"):
            print(plain_tables(run["results"]))
        for key in ("fused", "masked"):
            if run.get(key):
                print(f"\n{key}: {len(run[key])} rows (see the bench's text output)")


if __name__ == "__main__":
    main(sys.argv[1])
