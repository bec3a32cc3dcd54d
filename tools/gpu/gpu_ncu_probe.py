"""A few calls of the CUDA backend for Nsight Compute to profile:
    ncu -k regex:quant_vec_kernel python tools/gpu/gpu_ncu_probe.py
bf16 -> e4m3fn, K 7168, G 128: M=1 row-major, M=16384 row-major, M=16384 packed."""
import torch

import groupquant  # noqa: F401  (loads the libraries)

OPS = torch.ops.groupquant
K, G = 7168, 128
for m, packed in ((1, False), (16384, False), (16384, True)):
    x = torch.randn((m, K), device="cuda", dtype=torch.bfloat16)
    q = torch.empty((m, K), device="cuda", dtype=torch.float8_e4m3fn)
    if packed:
        s = groupquant._layouts.empty_packed_scales(m, K // G, x.device)
        OPS.per_token_group_quant_8bit_packed(x, q, s, G, 1e-10, -448.0, 448.0)
    else:
        s = torch.empty((m, K // G), device="cuda", dtype=torch.float32)
        OPS.per_token_group_fp8_quant(x, q, s, G, 1e-10, -448.0, 448.0, False)
torch.cuda.synchronize()
