"""The public API: vLLM's keyword names, outputs allocated here, math in the ops.

Each function allocates q and the scales in the requested layout and calls
the out-variant op in torch.ops.groupquant, which validates every argument
(one shared validator for every backend) before launching a kernel.
"""

import torch

from groupquant import _formats, _layouts, _loader
from groupquant import reference as _reference

__all__ = [
    "per_token_group_quant_fp8",
    "per_token_group_quant_int8",
    "per_token_group_quant_8bit_packed",
]


def _platform_fp8_dtype(device):
    # Only ROCm needs a device query; elsewhere this is a constant, which
    # keeps the function traceable by torch.compile.
    if torch.version.hip is None:
        return torch.float8_e4m3fn
    return _reference.default_fp8_dtype(device)


def _check_fp8_dtype(dtype):
    if dtype not in _formats.FP8_DTYPES:
        raise RuntimeError(f"groupquant: dtype must be torch.float8_e4m3fn or torch.float8_e4m3fnuz, got {dtype}")


def _shapes(x, group_size, fuse_silu_and_mul, masked_m):
    """(q shape, lead, M, groups, E or None, T) of a call; M = E * T masked."""
    lead, m, k, groups = _layouts.fused_problem_shape(x, group_size, fuse_silu_and_mul)
    if masked_m is None:
        return (*lead, k), lead, m, groups, None, m
    experts, rows = _layouts.check_masked_m(x, masked_m)
    return (*lead, k), lead, m, groups, experts, rows


def _strided_scales(lead, m, groups, experts, rows, device, column_major, tma_aligned):
    if experts is None:
        return _layouts.empty_scales(lead, m, groups, device, column_major, tma_aligned)
    return _layouts.empty_masked_scales(experts, rows, groups, device, column_major, tma_aligned)


def per_token_group_quant_fp8(x, group_size, eps=1e-10, dtype=None, column_major_scales=False,
                              tma_aligned_scales=False, out_q=None, use_ue8m0=False,
                              fuse_silu_and_mul=False, masked_m=None):
    """Quantize x [..., K] to FP8 per group of `group_size` along K.

    Returns (q, s): q has x's shape (or is out_q), s float32 in the layout
    asked for: row-major [..., K/G]; column_major_scales: [M, K/G] strides
    (1, M); plus tma_aligned_scales: strides (1, round_up(M, 4)).
    dtype=None is the platform's FP8 (e4m3fnuz on ROCm gfx94x, else e4m3fn),
    or out_q's dtype when out_q is given.

    fuse_silu_and_mul: x is [..., 2H]; quantizes silu(x[..., :H]) * x[..., H:]
    (float32, docs/fused_silu_moe.md); q is [..., H]. masked_m: int32 [E] on
    x's device, x [E, T, K]; only rows t < clamp(masked_m[e], 0, T) are
    written (others keep what q / s held); s is [E, T, K/G], each expert's
    block laid out as above for M = T. No host sync.
    """
    if dtype is None:
        dtype = out_q.dtype if out_q is not None else _platform_fp8_dtype(x.device)
    _check_fp8_dtype(dtype)
    if out_q is not None and out_q.dtype != dtype:
        raise RuntimeError(f"groupquant: out_q must have dtype {dtype} (the dtype argument), got {out_q.dtype}")
    q_shape, lead, m, groups, experts, rows = _shapes(x, group_size, fuse_silu_and_mul, masked_m)
    _loader.require_device_backend(x.device)
    qmax = _formats.default_qmax(dtype)
    q = torch.empty(q_shape, dtype=dtype, device=x.device) if out_q is None else out_q
    s = _strided_scales(lead, m, groups, experts, rows, x.device, column_major_scales, tma_aligned_scales)
    torch.ops.groupquant.per_token_group_fp8_quant(
        x, q, s, group_size, float(eps), -qmax, qmax, bool(use_ue8m0), bool(fuse_silu_and_mul), masked_m)
    return q, s


def per_token_group_quant_int8(x, group_size, eps=1e-10, dtype=torch.int8, column_major_scales=False,
                               fuse_silu_and_mul=False, masked_m=None):
    """Quantize x [..., K] to int8 per group; returns (q, s) as for FP8
    (fuse_silu_and_mul and masked_m too)."""
    if dtype != torch.int8:
        raise RuntimeError(f"groupquant: dtype must be torch.int8, got {dtype}")
    q_shape, lead, m, groups, experts, rows = _shapes(x, group_size, fuse_silu_and_mul, masked_m)
    _loader.require_device_backend(x.device)
    q = torch.empty(q_shape, dtype=torch.int8, device=x.device)
    s = _strided_scales(lead, m, groups, experts, rows, x.device, column_major_scales, False)
    torch.ops.groupquant.per_token_group_quant_int8(
        x, q, s, group_size, float(eps), _formats.default_qmin(dtype), _formats.default_qmax(dtype),
        bool(fuse_silu_and_mul), masked_m)
    return q, s


def per_token_group_quant_8bit_packed(x, group_size=128, eps=1e-10, dtype=None, fuse_silu_and_mul=False,
                                      masked_m=None):
    """Quantize with UE8M0 scales packed for DeepGEMM.

    Returns (q, s_packed): s_packed int32 [M, ceil(K/G/4)], strides
    (1, round_up(M, 4)); byte j of word (m, c) is the exponent byte of group
    4c + j; unused bytes and the padding rows are 0. With masked_m:
    [E, T, ceil(K/G/4)], strides (ceil(K/G/4) * round_up(T, 4), 1,
    round_up(T, 4)), only valid rows written (padding rows neither).
    """
    if dtype is None:
        dtype = _platform_fp8_dtype(x.device)
    _formats.traits(dtype)  # rejects anything but the three formats
    q_shape, _, m, groups, experts, rows = _shapes(x, group_size, fuse_silu_and_mul, masked_m)
    _loader.require_device_backend(x.device)
    q = torch.empty(q_shape, dtype=dtype, device=x.device)
    if experts is None:
        s = _layouts.empty_packed_scales(m, groups, x.device)
    else:
        s = _layouts.empty_masked_packed_scales(experts, rows, groups, x.device)
    torch.ops.groupquant.per_token_group_quant_8bit_packed(
        x, q, s, group_size, float(eps), _formats.default_qmin(dtype), _formats.default_qmax(dtype),
        bool(fuse_silu_and_mul), masked_m)
    return q, s
