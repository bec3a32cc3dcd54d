"""`python -m groupquant.bench` / `tools/bazel run //:bench -- FLAGS`.

Measures every available backend on the embedded inputs, prints the tables,
and writes bench_<backends>.json and .png under --out. Exit status: 0 when
every groupquant call ran and matched groupquant.reference bit for bit, 1
when one did not, 2 when the request cannot be served (a backend asked for
is not available, a bad flag, the bench extra not installed:
`pip install 'groupquant[bench]'`).
"""

import argparse
import os
import sys
import time

import torch

import groupquant
from groupquant import reference
from groupquant.bench import candidates, extras, fused, inputs, machine, plot, progress, report, runner

DEFAULT_LAYOUTS = "row,col_tma,packed"
OPS = ("quant", "fused", "masked")


def _parser():
    p = argparse.ArgumentParser(prog="python -m groupquant.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="all", choices=("cpu", "cuda", "rocm", "all"),
                   help="backend to measure; all = every available one (default)")
    p.add_argument("--ops", default="quant",
                   help="comma-separated ops to time: quant (the plain op, default), fused "
                   "(fuse_silu_and_mul, M x H grid of bench/fused.py), masked (masked_m MoE cases)")
    p.add_argument("--masked-valid", default=str(fused.MASKED_VALID_DIV),
                   help="masked cases: comma-separated d, each a run with T/d valid rows per expert "
                   f"(T = {fused.MASKED_T}; default {fused.MASKED_VALID_DIV})")
    p.add_argument("--shapes", help="comma-separated MxK, e.g. 1x7168,4096x7168 (default: per backend, "
                   f"CPU M={list(inputs.CPU_M)} K={list(inputs.CPU_K)}, "
                   f"GPU M={list(inputs.GPU_M)} K={list(inputs.GPU_K)})")
    p.add_argument("--formats", help=f"output formats to time, from {','.join(candidates.FORMATS)} "
                   "(default: the platform FP8, e4m3fn except on ROCm gfx94x)")
    p.add_argument("--layouts", default=DEFAULT_LAYOUTS,
                   help=f"scale layouts to time, from {','.join(candidates.LAYOUTS)} (default {DEFAULT_LAYOUTS})")
    p.add_argument("--ue8m0", action="store_true",
                   help="power-of-two (UE8M0) scales on the row/col/col_tma layouts too (use_ue8m0=True; "
                   "packed always has them, int8 has them only packed)")
    p.add_argument("--dtype", default="bf16", choices=tuple(inputs.INPUT_DTYPES), help="input dtype (default bf16)")
    p.add_argument("--group-size", type=int, default=inputs.GROUP_SIZE, help="G (default 128)")
    p.add_argument("--out", default="bench_out", help="folder for the JSON and PNG (default ./bench_out)")
    p.add_argument("--repeats", type=int, help="most timed calls per measurement (default 50 CPU, 200 GPU)")
    p.add_argument("--budget", type=float, help="seconds per measurement before fewer calls are taken "
                   "(at least 3 are; default 0.5)")
    p.add_argument("--compile", default="static", choices=("static", "dynamic", "off"),
                   help="torch.compile(reference) baseline: one graph per shape (static, default), "
                   "dynamic shapes, or none")
    p.add_argument("--no-graphs", action="store_true", help="skip the CUDA-graph replay measurement")
    p.add_argument("--no-accuracy", action="store_true", help="skip the accuracy table")
    p.add_argument("--accuracy-rows", type=int, help="rows of the accuracy input (default 2048; --quick 256)")
    p.add_argument("--seed", type=int, default=inputs.DEFAULT_SEED, help="seed of the embedded inputs")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: M={list(inputs.QUICK_M)} K={list(inputs.QUICK_K)}, few calls")
    return p


def _divisors(text):
    try:
        ds = [int(d) for d in text.split(",")]
    except ValueError:
        ds = []
    if not ds or any(d < 1 or fused.MASKED_T % d for d in ds):
        raise ValueError(f"--masked-valid: expected divisors of T = {fused.MASKED_T}, e.g. 2,32; got {text!r}")
    return ds


def _fail(msg):
    print(f"groupquant.bench: {msg}", file=sys.stderr)
    return 2


def _choose_backends(device):
    status = groupquant.backend_status()
    usable = groupquant.available_backends()
    if device == "all":
        for b, st in status.items():
            if not st.usable:
                print(f"groupquant.bench: not measuring {b}: {st.reason}", file=sys.stderr)
        return usable, None
    if device not in usable:
        return [], f"--device {device}: backend not available: {status[device].reason}"
    return [device], None


def _split(text, allowed, flag):
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in allowed]
    if bad or not items:
        raise ValueError(f"{flag}: expected a comma-separated subset of {','.join(allowed)}, got {text!r}")
    return items


def _shapes_for(backend, args):
    if args.shapes:
        return inputs.parse_shapes(args.shapes)
    if args.quick:
        return inputs.grid(inputs.QUICK_M, inputs.QUICK_K)
    if backend == "cpu":
        return inputs.grid(inputs.CPU_M, inputs.CPU_K)
    return inputs.grid(inputs.GPU_M, inputs.GPU_K)


def _options(backend, args):
    device = runner.torch_device(backend)
    if args.formats:
        formats = _split(args.formats, tuple(candidates.FORMATS), "--formats")
    else:
        formats = [candidates.FORMAT_NAMES[reference.default_fp8_dtype(device)]]
    layouts = _split(args.layouts, candidates.LAYOUTS, "--layouts")
    gpu = device.type == "cuda"
    return runner.Options(
        variants=[candidates.Variant(f, lay, ue8m0=args.ue8m0) for f in formats for lay in layouts],
        in_dtype=args.dtype,
        group_size=args.group_size,
        max_calls=args.repeats or ((20 if args.quick else 200) if gpu else (10 if args.quick else 50)),
        budget_s=args.budget if args.budget is not None else (0.2 if args.quick else 0.5),
        compile_mode=args.compile,
        graphs=not args.no_graphs,
        accuracy=not args.no_accuracy,
        accuracy_rows=args.accuracy_rows or (256 if args.quick else 2048),
        seed=args.seed,
    )


def _out_dir(path):
    # Under `bazel run` the working directory is the runfiles tree; resolve
    # a relative --out against where the user typed the command.
    base = os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd())
    return os.path.join(base, path) if not os.path.isabs(path) else path


def main(argv=None):
    args = _parser().parse_args(argv)
    # Before any measurement: minutes of timing must not end in an ImportError.
    try:
        extras.require()
    except extras.MissingExtra as exc:
        return _fail(str(exc))
    if args.repeats is not None and args.repeats < 1:
        return _fail(f"--repeats: expected >= 1, got {args.repeats}")
    if args.group_size <= 0:
        return _fail(f"--group-size: expected > 0, got {args.group_size}")
    backends, why = _choose_backends(args.device)
    if why:
        return _fail(why)
    if not backends:
        return _fail("no backend is available (see the lines above)")
    try:
        ops = _split(args.ops, OPS, "--ops")
        masked_valid = _divisors(args.masked_valid)
        plans = [(b, _shapes_for(b, args) if "quant" in ops else [], _options(b, args)) for b in backends]
    except ValueError as exc:
        return _fail(str(exc))
    if "quant" not in ops:
        for _, _, opts in plans:
            opts.accuracy = False
    for b, shapes, _ in plans:
        bad = [str(s) for s in shapes if s.k % args.group_size]
        if bad:
            return _fail(f"--shapes: K must be a multiple of --group-size {args.group_size}, got {','.join(bad)}")

    devices = {b: runner.torch_device(b) for b in backends}
    info = machine.info(devices)
    busy = machine.busy_warning()
    if busy:
        print(f"groupquant.bench: {busy}", file=sys.stderr)
    started = time.time()
    runs, failures = [], []
    for b, shapes, opts in plans:
        job = runner.BackendRun(b, shapes, opts)
        extra = fused.FusedRun(job, ops, args.quick, masked_valid)
        bar = progress.bar(job.steps() + extra.steps(), desc=f"bench {b}")
        try:
            run = job.run(bar)
            if extra.steps():
                run["fused"] = extra.run(bar)
                run["failures"] = job.failures
            runs.append(run)
        finally:
            bar.close()
        failures += job.failures

    busy = machine.busy_warning()
    info["load_average_end"] = machine.load_average()
    layouts = _split(args.layouts, candidates.LAYOUTS, "--layouts")
    print(report.render(runs, info, layout_order=layouts))
    for run in runs:
        if run.get("fused"):
            print(f"\n== {run['backend']} ==\n" + fused.render(run["fused"]))
    if busy:
        print("\n" + busy)
    out = _out_dir(args.out)
    os.makedirs(out, exist_ok=True)
    stem = os.path.join(out, "bench_" + "_".join(backends))
    payload = {
        "machine": info,
        "argv": sys.argv[1:] if argv is None else list(argv),
        "yardsticks": {
            "bytes_moved": "M*K*in_bytes + M*K + 4*M*K/G",
            "bytes_moved_fused": "2*M*H*in_bytes + M*H + 4*M*H/G (masked: valid rows only)",
            "copy": "dst.copy_(src) of a uint8 buffer of bytes_moved/2 bytes (read + write = bytes_moved)",
            "ceiling": "GB/s of a copy far larger than the last-level cache",
            "timing": "median per call; inputs rotate over a pool larger than 2x the last-level cache",
        },
        "seconds": time.time() - started,
        "runs": runs,
        "failures": failures,
    }
    report.write_json(stem + ".json", payload)
    png = plot.plot(runs, info, stem + ".png", layout_order=layouts)
    print(f"\nwrote {stem}.json" + (f" and {png}" if png else ""))
    if failures:
        print("\ngroupquant FAILURES:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0
