"""A few calls of the CUDA backend for Nsight Compute to profile:
    ncu -k "regex:quant_(vec|small)_kernel" python tools/gpu/gpu_ncu_probe.py
bf16 -> e4m3fn, G 128: M=1 x 7168 row-major, 4096 x 2048 row-major,
16384 x 7168 row-major and packed (the shapes docs/performance.md discusses)."""
import torch

import groupquant  # noqa: F401  (loads the libraries)

OPS = torch.ops.groupquant
G = 128
for m, k, packed in ((1, 7168, False), (4096, 2048, False), (16384, 7168, False), (16384, 7168, True)):
    x = torch.randn((m, k), device="cuda", dtype=torch.bfloat16)
    q = torch.empty((m, k), device="cuda", dtype=torch.float8_e4m3fn)
    if packed:
        s = groupquant._layouts.empty_packed_scales(m, k // G, x.device)
        OPS.per_token_group_quant_8bit_packed(x, q, s, G, 1e-10, -448.0, 448.0)
    else:
        s = torch.empty((m, k // G), device="cuda", dtype=torch.float32)
        OPS.per_token_group_fp8_quant(x, q, s, G, 1e-10, -448.0, 448.0, False)
torch.cuda.synchronize()
