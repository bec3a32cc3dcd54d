"""The definition of the consumer-side ops, in plain PyTorch (re-exported by
groupquant.reference, next to the group ops it builds on).

Weight block quantization: w [N, K] in blocks of bn x bk (edge blocks hold
the elements they have); per block the group op's math, all float32:
  amax = max |w_i| over the block, NaN ignored
  s    = max(amax, eps) / qmax                          IEEE division
  s    = smallest 2^e >= max(s, 2^-33)                  when UE8M0
  q_i  = encode(clamp(w_i / s, qmin, qmax))             IEEE division
s is float32 [ceil(N/bn), ceil(K/bk)], row-major.

Dequantize: out = float(q) * scale, one IEEE float32 product rounded once
(to nearest, ties to even) to the output dtype; any NaN result is the
positive canonical quiet NaN of that dtype (float32 0x7FC00000, bfloat16
0x7FC0, float16 0x7E00). float(q) is exact (NaN codes decode to NaN).
Packed UE8M0 scales read byte b as the float with biased exponent b and a
zero mantissa: 2^(b-127) for 1..254, 0 for 0 (padding only), +Inf for 255.
"""

import torch

from groupquant import _formats, _layouts
from groupquant._formats import FP8_DTYPES, INPUT_DTYPES, default_qmax, default_qmin
from groupquant.reference import (
    _clamp_keep_nan,
    _divide,
    default_fp8_dtype,
    encode,
    group_amax,
    group_scales,
)

__all__ = [
    "per_block_quant_fp8",
    "per_block_quant_int8",
    "block_quant_reference",
    "dequantize_per_token_group",
    "dequantize_per_block",
    "block_shape",
    "unpack_ue8m0",
]

CODE_DTYPES = _formats.QUANT_DTYPES
OUTPUT_DTYPES = INPUT_DTYPES
_CANONICAL_NAN_BITS = {torch.float32: (torch.int32, 0x7FC00000),
                       torch.bfloat16: (torch.int16, 0x7FC0),
                       torch.float16: (torch.int16, 0x7E00)}


def block_shape(block_size):
    """(bn, bk) from a pair of positive ints, or RuntimeError naming it."""
    try:
        bn, bk = block_size
    except (TypeError, ValueError):
        raise RuntimeError(f"groupquant: block_size must be a pair (block_n, block_k), got {block_size!r}") from None
    for v in (bn, bk):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise RuntimeError(f"groupquant: block_size must be two positive ints, got {block_size!r}")
    return bn, bk


def _check_2d(t, name):
    if not isinstance(t, torch.Tensor) or t.dim() != 2:
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        raise RuntimeError(f"groupquant: {name} must be a 2-D tensor [N, K], got {shape}")


def _block_index(n, k, bn, bk, device):
    """Block row of each row and block column of each column."""
    rows = torch.arange(n, device=device) // bn
    cols = torch.arange(k, device=device) // bk
    return rows, cols


def block_quant_reference(w, block_size, eps, qmin, qmax, out_dtype, ue8m0):
    """The core: (q [N, K] out_dtype, s [ceil(N/bn), ceil(K/bk)] float32)."""
    _check_2d(w, "input")
    if w.dtype not in INPUT_DTYPES:
        raise RuntimeError(f"groupquant.reference: input must have dtype torch.float32, torch.float16 or "
                           f"torch.bfloat16, got {w.dtype}")
    bn, bk = block_shape(block_size)
    n, k = w.shape
    nb, kb = -(-n // bn), -(-k // bk)
    wf = w.to(torch.float32)
    # Blocks larger than the tensor hold only what it has: clip them so the
    # zero padding below stays small. Padding with 0 never changes a maximum
    # of absolute values.
    bn_e, bk_e = min(bn, max(n, 1)), min(bk, max(k, 1))
    padded = torch.zeros((nb * bn_e, kb * bk_e), dtype=torch.float32, device=w.device)
    padded[:n, :k] = wf
    blocks = padded.reshape(nb, bn_e, kb, bk_e).permute(0, 2, 1, 3).reshape(nb, kb, bn_e * bk_e)
    s = group_scales(group_amax(blocks), eps, qmax, ue8m0) if blocks.numel() else \
        torch.zeros((nb, kb), dtype=torch.float32, device=w.device)
    rows, cols = _block_index(n, k, bn, bk, w.device)
    s_full = s[rows][:, cols]
    q = encode(_clamp_keep_nan(_divide(wf, s_full), qmin, qmax), out_dtype)
    return q, s


def per_block_quant_fp8(w, block_size=(128, 128), eps=1e-10, dtype=None, use_ue8m0=False):
    """Reference of groupquant.per_block_quant_fp8."""
    if dtype is None:
        dtype = default_fp8_dtype(w.device)
    if dtype not in FP8_DTYPES:
        raise RuntimeError(f"groupquant.reference: dtype must be torch.float8_e4m3fn or torch.float8_e4m3fnuz, "
                           f"got {dtype}")
    qmax = default_qmax(dtype)
    return block_quant_reference(w, block_size, eps, -qmax, qmax, dtype, use_ue8m0)


def per_block_quant_int8(w, block_size=(128, 128), eps=1e-10, dtype=torch.int8):
    """Reference of groupquant.per_block_quant_int8."""
    if dtype != torch.int8:
        raise RuntimeError(f"groupquant.reference: dtype must be torch.int8, got {dtype}")
    return block_quant_reference(w, block_size, eps, default_qmin(dtype), default_qmax(dtype), dtype, False)


def unpack_ue8m0(s_packed, m, groups):
    """float32 [M, groups] scales from packed int32 words (any strides)."""
    shifts = torch.tensor([0, 8, 16, 24], dtype=torch.int32, device=s_packed.device)
    exp_bytes = ((s_packed.unsqueeze(-1) >> shifts) & 0xFF).reshape(m, -1)[:, :groups]
    return (exp_bytes.to(torch.int32) << 23).view(torch.float32)


def _round_to(values, dtype):
    """float32 -> dtype (RNE), NaN made the canonical NaN of dtype."""
    if dtype not in OUTPUT_DTYPES:
        raise RuntimeError(f"groupquant.reference: dtype must be torch.float32, torch.float16 or torch.bfloat16, "
                           f"got {dtype}")
    out = values.to(dtype)
    bits_dtype, nan_bits = _CANONICAL_NAN_BITS[dtype]
    bits = out.view(bits_dtype)
    canonical = torch.full_like(bits, nan_bits)
    return torch.where(torch.isnan(out), canonical, bits).view(dtype)


def _check_codes(q):
    if not isinstance(q, torch.Tensor) or q.dtype not in CODE_DTYPES:
        got = q.dtype if isinstance(q, torch.Tensor) else type(q).__name__
        raise RuntimeError(f"groupquant.reference: q must have dtype torch.float8_e4m3fn, torch.float8_e4m3fnuz "
                           f"or torch.int8, got {got}")


def dequantize_per_token_group(q, s, group_size, dtype=torch.bfloat16):
    """float(q) * s per group, s in any layout the quant ops return."""
    _check_codes(q)
    lead, m, k, groups = _layouts.problem_shape(q, group_size)
    if s.dtype == torch.int32:
        want = (m, _layouts.packed_geometry(m, groups)[0])
        if tuple(s.shape) != want:
            raise RuntimeError(f"groupquant.reference: s (packed) must have shape {list(want)}, got {list(s.shape)}")
        scales = unpack_ue8m0(s, m, groups)
    elif s.dtype == torch.float32:
        if tuple(s.shape) not in ((*lead, groups), (m, groups)):
            raise RuntimeError(f"groupquant.reference: s must have shape {[*lead, groups]} or {[m, groups]}, "
                               f"got {list(s.shape)}")
        scales = s.reshape(m, groups)
    else:
        raise RuntimeError(f"groupquant.reference: s must have dtype torch.float32 or torch.int32, got {s.dtype}")
    values = q.reshape(m, groups, group_size).to(torch.float32)
    out = values * scales.unsqueeze(-1).expand_as(values).contiguous()
    return _round_to(out, dtype).reshape(q.shape)


def dequantize_per_block(q, s, block_size=(128, 128), dtype=torch.bfloat16):
    """float(q) * s per block of q [N, K]; s float32 [ceil(N/bn), ceil(K/bk)]."""
    _check_codes(q)
    _check_2d(q, "q")
    bn, bk = block_shape(block_size)
    n, k = q.shape
    want = (-(-n // bn), -(-k // bk))
    if s.dtype != torch.float32 or tuple(s.shape) != want:
        raise RuntimeError(f"groupquant.reference: s must be float32 of shape {list(want)}, "
                           f"got {s.dtype} {list(s.shape)}")
    rows, cols = _block_index(n, k, bn, bk, q.device)
    out = q.to(torch.float32) * s[rows][:, cols]
    return _round_to(out, dtype)
