"""Times Fp8Linear (examples/fp8_linear.py) against a bf16 torch.matmul.

    python examples/fp8_linear_bench.py --json fp8_linear_h200.json          # on the GPU host

For each M and (N, K): the bf16 product x @ w.t(); groupquant's activation
quantization alone (1x128 groups, column-major scales); the block-scaled FP8
GEMM alone (torch._scaled_mm on pre-quantized operands); and the layer's
whole forward (quantization + GEMM). Reported: median times per call, the
FP8 layer's speedup over bf16 and the share of the layer's time spent in
groupquant. Each timed call runs after a 256 MiB write that evicts L2 (the
weights of one layer do not stay cached between uses in a real model);
CUDA events bracket the call alone, with the GPU held busy until the host
has queued it (device time, not host launch overhead). --device=cpu times the dequantized CPU
path with perf_counter (a smoke test of the script, not a benchmark).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import groupquant  # noqa: E402
from fp8_linear import Fp8Linear  # noqa: E402


def _parse_shapes(text):
    shapes = []
    for item in text.split(","):
        n, k = item.lower().split("x")
        shapes.append((int(n), int(k)))
    return shapes


class Timer:
    def __init__(self, device, reps, warmup, flush_l2):
        self.device = torch.device(device)
        self.reps = reps
        self.warmup = warmup
        self.flush = None
        if self.device.type == "cuda" and flush_l2:
            self.flush = torch.empty(256 << 20, dtype=torch.uint8, device=self.device)

    def __call__(self, fn):
        """Median microseconds of one call of fn."""
        for _ in range(self.warmup):
            fn()
        times = []
        if self.device.type != "cuda":
            for _ in range(self.reps):
                start = time.perf_counter()
                fn()
                times.append((time.perf_counter() - start) * 1e6)
            return statistics.median(times)
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(self.reps)]
        for start, end in events:
            if self.flush is not None:
                self.flush.fill_(1)
            # Keep the GPU busy while the host queues fn's kernels, so that
            # the events time the device work, not Python's launch overhead
            # (an eager layer call spends ~50-100 us on the host).
            torch.cuda._sleep(400_000)
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize(self.device)
        return statistics.median(s.elapsed_time(e) * 1e3 for s, e in events)


def bench_one(timer, m, n, k, device, use_ue8m0):
    torch.manual_seed(0)
    x = torch.randn((m, k), dtype=torch.bfloat16, device=device)
    linear = torch.nn.Linear(k, n, bias=False, dtype=torch.bfloat16, device=device)
    w = linear.weight.detach()
    layer = Fp8Linear.from_linear(linear, use_ue8m0=use_ue8m0)
    q_a, s_a = layer.quantize_input(x)
    with torch.no_grad():
        t_bf16 = timer(lambda: torch.matmul(x, w.t()))
        t_quant = timer(lambda: layer.quantize_input(x))
        if x.is_cuda:
            t_gemm = timer(lambda: torch._scaled_mm(q_a, layer.q_weight.t(), scale_a=s_a,
                                                    scale_b=layer.s_weight.t(), out_dtype=torch.bfloat16))
        else:
            t_gemm = float("nan")
        t_layer = timer(lambda: layer(x))
    return {
        "M": m, "N": n, "K": k, "use_ue8m0": use_ue8m0,
        "bf16_matmul_us": t_bf16, "groupquant_quant_us": t_quant, "fp8_gemm_us": t_gemm,
        "fp8_layer_us": t_layer,
        "speedup_vs_bf16": t_bf16 / t_layer,
        "groupquant_share_of_layer": t_quant / t_layer,
    }


def machine(device):
    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "groupquant": groupquant.__version__,
            "python": platform.python_version(), "device": str(device)}
    if torch.device(device).type == "cuda":
        props = torch.cuda.get_device_properties(torch.device(device))
        info.update(gpu=props.name, sm=f"{props.major}{props.minor}", sms=props.multi_processor_count)
    return info


def table(rows):
    head = (f"{'M':>5} {'N':>5} {'K':>5} | {'bf16 mm':>9} | {'quant':>8} {'fp8 gemm':>9} {'fp8 layer':>10} | "
            f"{'speedup':>7} {'quant share':>11}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['M']:>5} {r['N']:>5} {r['K']:>5} | {r['bf16_matmul_us']:>7.1f}us | "
                     f"{r['groupquant_quant_us']:>6.1f}us {r['fp8_gemm_us']:>7.1f}us {r['fp8_layer_us']:>8.1f}us | "
                     f"{r['speedup_vs_bf16']:>6.2f}x {100 * r['groupquant_share_of_layer']:>10.1f}%")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", required=True, help="where to write the results (JSON)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--ms", default="16,256,4096", help="token counts M, comma-separated")
    p.add_argument("--shapes", default="7168x2048,2048x7168", help="NxK weight shapes, comma-separated")
    p.add_argument("--reps", type=int, default=100)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--no-flush-l2", action="store_true", help="time with warm caches")
    p.add_argument("--ue8m0", action="store_true", help="power-of-two (UE8M0) scales")
    args = p.parse_args(argv)
    if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        print("fp8_linear_bench: --device cuda but no GPU is available", file=sys.stderr)
        return 2
    timer = Timer(args.device, args.reps, args.warmup, not args.no_flush_l2)
    rows = [bench_one(timer, m, n, k, args.device, args.ue8m0)
            for n, k in _parse_shapes(args.shapes) for m in (int(v) for v in args.ms.split(","))]
    result = {"machine": machine(args.device), "l2_flushed": not args.no_flush_l2, "reps": args.reps,
              "rows": rows}
    print(table(rows))
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
