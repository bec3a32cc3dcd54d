"""The consumer-side API: weight block quantization for block-scaled GEMMs
and dequantization of everything the quant ops produce (docs/consumers.md).

As in groupquant.api, each function allocates its outputs and calls the
out-variant op in torch.ops.groupquant, which validates every argument with
the shared validator before launching a kernel. groupquant.reference holds
the same functions in plain PyTorch: the definition of every output bit.
"""

import torch

from groupquant import _formats, _loader
from groupquant._reference_consumers import OUTPUT_DTYPES, block_shape
from groupquant.api import _check_fp8_dtype, _platform_fp8_dtype

__all__ = [
    "per_block_quant_fp8",
    "per_block_quant_int8",
    "dequantize_per_token_group",
    "dequantize_per_block",
]


def _weight_shape(w):
    if not isinstance(w, torch.Tensor):
        raise RuntimeError(f"groupquant: input must be a torch.Tensor, got {type(w).__name__}")
    if w.dim() != 2:
        raise RuntimeError(f"groupquant: input must be a 2-D weight [N, K], got shape {list(w.shape)}")
    return w.shape[0], w.shape[1]


def _block_quant(w, block_size, eps, dtype, qmin, qmax, ue8m0):
    bn, bk = block_shape(block_size)
    n, k = _weight_shape(w)
    _loader.require_device_backend(w.device)
    q = torch.empty((n, k), dtype=dtype, device=w.device)
    # Integer ceil-division: stays exact (and symbolic under torch.compile).
    s = torch.empty(((n + bn - 1) // bn, (k + bk - 1) // bk), dtype=torch.float32, device=w.device)
    torch.ops.groupquant.per_block_quant(w, q, s, bn, bk, float(eps), qmin, qmax, bool(ue8m0))
    return q, s


def per_block_quant_fp8(w, block_size=(128, 128), eps=1e-10, dtype=None, use_ue8m0=False):
    """Quantize a weight w [N, K] to FP8 with one float32 scale per block.

    Returns (q [N, K], s [ceil(N/bn), ceil(K/bk)] float32, row-major); edge
    blocks use the elements they have. For torch._scaled_mm's blockwise path
    pass s.t() as scale_b (strides (1, ceil(K/bk))). dtype=None is the
    platform's FP8, as for per_token_group_quant_fp8.
    """
    if dtype is None:
        dtype = _platform_fp8_dtype(w.device)
    _check_fp8_dtype(dtype)
    qmax = _formats.default_qmax(dtype)
    return _block_quant(w, block_size, eps, dtype, -qmax, qmax, use_ue8m0)


def per_block_quant_int8(w, block_size=(128, 128), eps=1e-10, dtype=torch.int8):
    """Quantize a weight w [N, K] to int8 per block; returns (q, s) as for FP8."""
    if dtype != torch.int8:
        raise RuntimeError(f"groupquant: dtype must be torch.int8, got {dtype}")
    return _block_quant(w, block_size, eps, dtype, _formats.default_qmin(dtype),
                        _formats.default_qmax(dtype), False)


def _check_out_dtype(dtype):
    if dtype not in OUTPUT_DTYPES:
        raise RuntimeError(f"groupquant: dtype must be torch.float32, torch.float16 or torch.bfloat16, got {dtype}")


def dequantize_per_token_group(q, s, group_size, dtype=torch.bfloat16):
    """float(q) * s per group of `group_size` along q's last dim, rounded once to dtype.

    s is any scale tensor the quant ops return, read through its strides:
    float32 row-major [..., K/G], column-major or TMA-aligned [M, K/G], or
    the packed UE8M0 int32 [M, ceil(K/G/4)].
    """
    _check_out_dtype(dtype)
    if not isinstance(q, torch.Tensor):
        raise RuntimeError(f"groupquant: q must be a torch.Tensor, got {type(q).__name__}")
    _loader.require_device_backend(q.device)
    out = torch.empty(q.shape, dtype=dtype, device=q.device)
    torch.ops.groupquant.dequantize_per_token_group(q, s, out, group_size)
    return out


def dequantize_per_block(q, s, block_size=(128, 128), dtype=torch.bfloat16):
    """float(q) * s per block of q [N, K], rounded once to dtype; s float32
    [ceil(N/bn), ceil(K/bk)] with any strides (s or s.t().t() alike)."""
    _check_out_dtype(dtype)
    bn, bk = block_shape(block_size)
    if not isinstance(q, torch.Tensor):
        raise RuntimeError(f"groupquant: q must be a torch.Tensor, got {type(q).__name__}")
    _loader.require_device_backend(q.device)
    out = torch.empty(q.shape, dtype=dtype, device=q.device)
    torch.ops.groupquant.dequantize_per_block(q, s, out, bn, bk)
    return out
