"""A few calls of the CUDA backend for Nsight Compute to profile:
    ncu -k "regex:quant_(vec|small)_kernel" python tools/gpu/gpu_ncu_probe.py
bf16 -> e4m3fn, G 128, through the public API (so the default plans).
NCU_CALLS: comma-separated MxK:layout (layout row, col_tma or packed);
default 1x7168:row,4096x2048:row,16384x7168:row,16384x7168:packed, the
shapes docs/performance.md discusses."""
import os

import torch

import groupquant

G = 128
DEFAULT_CALLS = "1x7168:row,4096x2048:row,16384x7168:row,16384x7168:packed"


def parse_calls(spec):
    calls = []
    for item in spec.split(","):
        shape, layout = item.split(":")
        m, k = (int(v) for v in shape.split("x"))
        if layout not in ("row", "col_tma", "packed"):
            raise SystemExit(f"NCU_CALLS: unknown layout {layout!r} in {item!r}")
        calls.append((m, k, layout))
    return calls


for m, k, layout in parse_calls(os.environ.get("NCU_CALLS", DEFAULT_CALLS)):
    x = torch.randn((m, k), device="cuda", dtype=torch.bfloat16)
    if layout == "packed":
        groupquant.per_token_group_quant_8bit_packed(x, G)
    else:
        tma = layout == "col_tma"
        groupquant.per_token_group_quant_fp8(x, G, column_major_scales=tma, tma_aligned_scales=tma)
torch.cuda.synchronize()
