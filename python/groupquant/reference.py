"""The definition of per-token-group 8-bit quantization, in plain PyTorch.

Every backend must reproduce these bytes exactly. The code is written to be
read, not to be fast; it runs on CPU and CUDA/ROCm tensors alike and gives
the same bits on each (see the notes on division and casts below).

Math (docs/contract.md), all in float32, x viewed as [M, K], groups of G along K:
  amax = max |x_i| over the group, NaN ignored (a group of only NaNs has 0)
  s    = max(amax, eps) / qmax                          IEEE division
  s    = smallest 2^e >= max(s, 2^-33)                  when UE8M0
  q_i  = encode(clamp(x_i / s, qmin, qmax))             IEEE division
encode is round-to-nearest-even into the FP8 format (saturating at the
format's largest finite value) or round-half-to-even into int8 (saturating
at [-128, 127]). NaN encodes to the canonical NaN (0x7F e4m3fn, 0x80
e4m3fnuz) or to 0 for int8. e4m3fnuz has no -0: anything rounding to zero
is 0x00. +-Inf in a group makes s = +Inf, so its finite values become
(signed) zero and the Inf itself NaN; other groups are untouched.

fuse_silu_and_mul (docs/fused_silu_moe.md): x's last dim is 2H, gate =
x[..., :H], up = x[..., H:], and the quantized value is
  y = (g / (1 + e(-g))) * u       float32, each step one IEEE operation
with e = exp_f32 below (csrc/quant_math.h gq_exp, operation by operation).
masked_m: x is [E, T, K]; rows t >= clamp(masked_m[e], 0, T) of expert e
are not written (computed here from a device mask, no host sync); the
reference's own outputs start as zeros (or out_q), the ops keep whatever
their outputs held.
"""

import torch

from groupquant import _formats, _layouts

__all__ = [
    "per_token_group_quant_fp8",
    "per_token_group_quant_int8",
    "per_token_group_quant_8bit_packed",
    "quantize_reference",
    "default_fp8_dtype",
    "default_qmin",
    "default_qmax",
    "ue8m0_round_up",
    "ue8m0_byte",
    "pack_ue8m0",
    "exp_f32",
    "fma_f32",
    "silu_and_mul",
    "masked_rows",
]

FP8_DTYPES = _formats.FP8_DTYPES
INPUT_DTYPES = _formats.INPUT_DTYPES

# vLLM and SGLang floor the scale at 1e-10 before the UE8M0 round-up, which
# is the same as flooring at 2^-33 after it; an all-zero group's byte is 0x5E.
UE8M0_FLOOR = 2.0 ** -33

_EXP_MASK = 0x7F800000
_MANT_MASK = 0x007FFFFF
_ONE_ULP_OF_EXPONENT = 0x00800000


def _rocm_fp8_is_fnuz(device_index):
    props = torch.cuda.get_device_properties(device_index)
    return getattr(props, "gcnArchName", "").startswith("gfx94")


def default_fp8_dtype(device=None):
    """The platform's FP8: e4m3fnuz on ROCm gfx94x (MI300), else e4m3fn."""
    if torch.version.hip is None or not torch.cuda.is_available():
        return torch.float8_e4m3fn
    device = torch.device(device) if device is not None else None
    if device is not None and device.type == "cuda" and device.index is not None:
        index = device.index
    else:
        index = torch.cuda.current_device()
    return torch.float8_e4m3fnuz if _rocm_fp8_is_fnuz(index) else torch.float8_e4m3fn


default_qmax = _formats.default_qmax
default_qmin = _formats.default_qmin


def _f32(value, like):
    """A 0-d float32 tensor on like's device (Python floats are doubles)."""
    return torch.tensor(value, dtype=torch.float32, device=like.device)


def _divide(a, b):
    """IEEE float32 a / b elementwise.

    On CUDA, torch divides by a Python scalar (or a 0-d CPU tensor) as a
    multiplication by its reciprocal, which is not IEEE division. Dividing by
    a device tensor of the full shape is.
    """
    return a / b.expand_as(a).contiguous()


def group_amax(xg):
    """max |x| over the last dim of float32 xg, NaN ignored.

    torch.amax propagates NaN, so NaNs are replaced by 0 first (|x| >= 0, so
    that never changes the maximum of the other values). nan_to_num is not
    used: it would also replace Inf.
    """
    a = xg.abs()
    a = torch.where(torch.isnan(a), torch.zeros_like(a), a)
    return a.amax(dim=-1)


def ue8m0_round_up(s):
    """Smallest power of two >= max(s, 2^-33), exact, from the float32 bits.

    The floor is a compare-select, so a NaN scale becomes the floor (the
    kernels do the same). +Inf stays +Inf; 2^127 * (1 + ulp) rounds to +Inf.
    """
    floor = _f32(UE8M0_FLOOR, s)
    s = torch.where(s > floor, s, floor)
    bits = s.view(torch.int32)
    exponent_bits = bits & _EXP_MASK
    has_mantissa = (bits & _MANT_MASK) != 0
    is_inf = exponent_bits == _EXP_MASK
    rounded = torch.where(has_mantissa & ~is_inf, exponent_bits + _ONE_ULP_OF_EXPONENT, exponent_bits)
    return rounded.view(torch.float32)


def ue8m0_byte(s):
    """Biased exponent (uint8) of power-of-two float32 scales: s = 2^(b-127)."""
    return ((s.view(torch.int32) >> 23) & 0xFF).to(torch.uint8)


def group_scales(amax, eps, qmax, ue8m0):
    """s = max(amax, eps) / qmax, then the UE8M0 round-up when asked."""
    eps_t = _f32(eps, amax)
    clipped = torch.where(amax > eps_t, amax, eps_t)
    s = _divide(clipped, torch.full_like(clipped, float(qmax)))
    return ue8m0_round_up(s) if ue8m0 else s


def _clamp_keep_nan(v, lo, hi):
    """clamp(v, lo, hi) in float32 that lets NaN through, like the kernels."""
    lo_t, hi_t = _f32(lo, v), _f32(hi, v)
    v = torch.where(v < lo_t, lo_t, v)
    return torch.where(v > hi_t, hi_t, v)


def encode(v, out_dtype):
    """Encode float32 v (already clamped to [qmin, qmax]) into out_dtype.

    The saturation to the format's range is explicit because torch's casts
    disagree out of range (e4m3fn saturates on the CPU, e4m3fnuz gives NaN),
    and NaN and -0 are fixed explicitly so no bit depends on the cast's
    handling of them.
    """
    is_nan = torch.isnan(v)
    fmt = _formats.FORMATS[out_dtype]
    v = _clamp_keep_nan(v, fmt.finite_min, fmt.finite_max)
    if out_dtype == torch.int8:
        # torch.round is half-to-even; .to(int8) alone would truncate.
        r = torch.round(torch.where(is_nan, torch.zeros_like(v), v))
        return r.to(torch.int8)
    q = v.to(out_dtype).view(torch.uint8)
    if out_dtype == torch.float8_e4m3fnuz:
        # e4m3fnuz's NaN code is its would-be -0: a value rounding to zero is +0.
        q = torch.where(q == fmt.nan_code, torch.zeros_like(q), q)
    q = torch.where(is_nan, torch.full_like(q, fmt.nan_code), q)
    return q.view(out_dtype)


def quantize_reference(x, group_size, eps, qmin, qmax, out_dtype, ue8m0):
    """The core: (q [*lead, K] out_dtype contiguous, s [M, K/G] float32 row-major)."""
    if x.dtype not in INPUT_DTYPES:
        raise RuntimeError(f"groupquant.reference: input must have dtype torch.float32, torch.float16 or torch.bfloat16, got {x.dtype}")
    if out_dtype not in _formats.FORMATS:
        raise RuntimeError(f"groupquant.reference: out_dtype must be an FP8 dtype or torch.int8, got {out_dtype}")
    lead, m, k, groups = _layouts.problem_shape(x, group_size)
    xg = x.reshape(m, groups, group_size).to(torch.float32)  # exact widening
    s = group_scales(group_amax(xg), eps, qmax, ue8m0)
    scaled = _divide(xg, s.unsqueeze(-1))
    q = encode(_clamp_keep_nan(scaled, qmin, qmax), out_dtype)
    return q.reshape(*lead, k), s


# gq_exp's constants as float32 bit patterns (csrc/quant_math.h).
_EXP_LO = 0xC2AEAC4F  # -87.33654, the first float above -126 ln 2
_EXP_HI = 0x42B17217  # 88.72283, the last float below 128 ln 2
_EXP_LOG2E = 0x3FB8AA3B
_EXP_LN2_HI = 0x3F317200
_EXP_LN2_LO = 0x35BFBE8E
_EXP_POLY = (0x39500D01, 0x3AB60B61, 0x3C088889, 0x3D2AAAAB, 0x3E2AAAAB, 0x3F000000)  # 1/7! .. 1/2!
_ROUND_MAGIC = 12582912.0  # 1.5 * 2^23


def _f32_of_bits(bits, like):
    signed = bits - (1 << 32) if bits >= 1 << 31 else bits
    return torch.tensor(signed, dtype=torch.int32, device=like.device).view(torch.float32)


def fma_f32(a, b, c):
    """float32 fma(a, b, c), rounded once, for finite a, b, c (torch has no
    float32 fma that is guaranteed fused).

    a * b is exact in float64 (24 + 24 bits). The sum is rounded to float64
    with round-to-odd: TwoSum gives its exact error, and an inexact result
    whose last bit is even moves one float64 ulp towards the true value.
    Rounding that to float32 is then the correctly rounded fma, since 53 >=
    24 + 2 (Boldo and Melquiond's round-to-odd theorem).
    """
    p = a.double() * b.double()
    cd = c.double().expand_as(p)
    s = p + cd
    bb = s - p
    err = (p - (s - bb)) + (cd - bb)
    even = (s.view(torch.int64) & 1) == 0
    towards = torch.where(err > 0, torch.full_like(s, float("inf")), torch.full_like(s, float("-inf")))
    s = torch.where((err != 0) & even, torch.nextafter(s, towards), s)
    return s.float()


def exp_f32(x):
    """gq_exp of float32 x, every operation of csrc/quant_math.h in order:
    float32 tensor-tensor multiplies, adds and subtracts (one IEEE rounding
    each on every device), fma_f32 where the contract writes an fma, and
    integer bit work; no division. Saturates outside [LO, HI]; NaN -> e(HI)."""
    hi, lo = _f32_of_bits(_EXP_HI, x), _f32_of_bits(_EXP_LO, x)
    xc = torch.where(x < hi, x, hi)  # NaN -> hi
    xc = torch.where(xc > lo, xc, lo)
    magic = _f32(_ROUND_MAGIC, x)
    t = fma_f32(xc, _f32_of_bits(_EXP_LOG2E, x), magic)
    nf = t - magic
    r = fma_f32(nf, -_f32_of_bits(_EXP_LN2_HI, x), xc)
    r = fma_f32(nf, -_f32_of_bits(_EXP_LN2_LO, x), r)
    p = _f32_of_bits(_EXP_POLY[0], x).expand_as(r)
    for c in _EXP_POLY[1:]:
        p = fma_f32(p, r, _f32_of_bits(c, x))
    er = _f32(1.0, x) + fma_f32(r * r, p, r)
    # n added to er's exponent field: bits(t) << 23 is n << 23 modulo 2^32.
    bits = (er.view(torch.int32).to(torch.int64) + (t.view(torch.int32).to(torch.int64) << 23)) & 0xFFFFFFFF
    return bits.to(torch.int32).view(torch.float32)


def silu_and_mul(x):
    """y = silu(x[..., :H]) * x[..., H:] in float32, as the fused ops define it:
    g / (1 + exp_f32(-g)) with IEEE division, then * u. Non-finite values
    follow IEEE through those steps with exp_f32's saturation
    (silu(-Inf) = -Inf / 3.4e38 = -Inf, 0 * Inf = NaN)."""
    h = x.shape[-1] // 2
    g = x[..., :h].to(torch.float32)
    u = x[..., h:].to(torch.float32)
    d = _f32(1.0, g) + exp_f32(-g)
    return _divide(g, d) * u


def masked_rows(masked_m, rows):
    """bool [E, T]: row t of expert e is valid iff t < clamp(masked_m[e], 0, T).
    Computed on masked_m's device (no host sync)."""
    valid = masked_m.to(torch.int64).clamp(0, rows)
    return torch.arange(rows, device=masked_m.device).unsqueeze(0) < valid.unsqueeze(1)


def _prepare(x, group_size, fuse_silu_and_mul, masked_m):
    """The tensor to quantize (y when fused) and the row mask (or None)."""
    mask = None
    if masked_m is not None:
        _layouts.check_masked_m(x, masked_m)
        mask = masked_rows(masked_m, x.shape[1])
    if fuse_silu_and_mul:
        if x.dtype not in INPUT_DTYPES:
            raise RuntimeError(f"groupquant.reference: input must have dtype torch.float32, torch.float16 or torch.bfloat16, got {x.dtype}")
        _layouts.fused_problem_shape(x, group_size, True)
        x = silu_and_mul(x)
    return x, mask


def _masked_q(q, mask, out_q):
    """q where the row is valid, out_q (or zeros) elsewhere; compared as bytes
    because torch.where has no float8 kernels."""
    base = torch.zeros_like(q) if out_q is None else out_q
    kept = torch.where(mask.unsqueeze(-1), q.view(torch.uint8), base.view(torch.uint8)).view(q.dtype)
    if out_q is not None:
        out_q.copy_(kept)
        return out_q
    return kept


def _masked_strided_layout(s, experts, rows, mask, column_major, tma_aligned):
    groups = s.shape[-1]
    out = _layouts.empty_masked_scales(experts, rows, groups, s.device, column_major, tma_aligned)
    out.zero_()
    out.copy_(torch.where(mask.unsqueeze(-1), s.reshape(experts, rows, groups), out))
    return out


def _masked_packed(s, experts, rows, mask):
    """Per expert the 2-D packed layout of M = T; invalid rows' words (and the
    padding rows) stay 0 here."""
    groups = s.shape[-1]
    cols, padded = _layouts.packed_geometry(rows, groups)
    buf = torch.zeros((experts * cols * padded,), dtype=torch.int32, device=s.device)
    out = buf.as_strided((experts, rows, cols), (cols * padded, 1, padded))  # empty_masked_packed_scales' layout
    if cols > 0 and rows > 0:
        exp_bytes = torch.zeros((experts, rows, cols * 4), dtype=torch.uint8, device=s.device)
        exp_bytes[..., :groups] = ue8m0_byte(s.reshape(experts, rows, groups))
        words = exp_bytes.view(torch.int32)  # [E, T, cols]
        out.copy_(torch.where(mask.unsqueeze(-1), words, torch.zeros_like(words)))
    return out


def _to_strided_layout(s, lead, column_major, tma_aligned):
    m, groups = s.shape
    out = _layouts.empty_scales(lead, m, groups, s.device, column_major, tma_aligned)
    out.copy_(s if column_major else s.reshape(out.shape))
    return out


def pack_ue8m0(s, m, groups):
    """Pack power-of-two scales [M, G'] into DeepGEMM's int32 layout.

    Byte j (little-endian) of word (m, c) is the exponent byte of group
    4c + j; bytes past G' and the padding rows up to round_up(M, 4) are 0.
    """
    cols, rows = _layouts.packed_geometry(m, groups)
    exp_bytes = torch.zeros((m, cols * 4), dtype=torch.uint8, device=s.device)
    exp_bytes[:, :groups] = ue8m0_byte(s)
    buf = torch.zeros((cols, rows), dtype=torch.int32, device=s.device)
    if cols > 0:
        words = exp_bytes.view(torch.int32)  # [m, cols]: 4 bytes -> one LE word
        buf[:, :m] = words.t()
    return buf.reshape(-1).as_strided((m, cols), (1, rows))


def per_token_group_quant_fp8(x, group_size, eps=1e-10, dtype=None, column_major_scales=False,
                              tma_aligned_scales=False, out_q=None, use_ue8m0=False,
                              fuse_silu_and_mul=False, masked_m=None):
    """Reference of groupquant.per_token_group_quant_fp8 (vLLM's keywords,
    SGLang's fuse_silu_and_mul and masked_m)."""
    if dtype is None:
        dtype = out_q.dtype if out_q is not None else default_fp8_dtype(x.device)
    if dtype not in FP8_DTYPES:
        raise RuntimeError(f"groupquant.reference: dtype must be torch.float8_e4m3fn or torch.float8_e4m3fnuz, got {dtype}")
    if out_q is not None and out_q.dtype != dtype:
        raise RuntimeError(f"groupquant.reference: out_q must have dtype {dtype}, got {out_q.dtype}")
    y, mask = _prepare(x, group_size, fuse_silu_and_mul, masked_m)
    qmax = default_qmax(dtype)
    q, s = quantize_reference(y, group_size, eps, -qmax, qmax, dtype, use_ue8m0)
    if mask is not None:
        experts, rows = mask.shape
        return (_masked_q(q, mask, out_q),
                _masked_strided_layout(s, experts, rows, mask, column_major_scales, tma_aligned_scales))
    if out_q is not None:
        out_q.copy_(q)
        q = out_q
    lead = tuple(y.shape[:-1])
    return q, _to_strided_layout(s, lead, column_major_scales, tma_aligned_scales)


def per_token_group_quant_int8(x, group_size, eps=1e-10, dtype=torch.int8, column_major_scales=False,
                               fuse_silu_and_mul=False, masked_m=None):
    """Reference of groupquant.per_token_group_quant_int8."""
    if dtype != torch.int8:
        raise RuntimeError(f"groupquant.reference: dtype must be torch.int8, got {dtype}")
    y, mask = _prepare(x, group_size, fuse_silu_and_mul, masked_m)
    q, s = quantize_reference(y, group_size, eps, default_qmin(dtype), default_qmax(dtype), dtype, False)
    if mask is not None:
        experts, rows = mask.shape
        return _masked_q(q, mask, None), _masked_strided_layout(s, experts, rows, mask, column_major_scales, False)
    return q, _to_strided_layout(s, tuple(y.shape[:-1]), column_major_scales, False)


def per_token_group_quant_8bit_packed(x, group_size=128, eps=1e-10, dtype=None, fuse_silu_and_mul=False,
                                      masked_m=None):
    """Reference of groupquant.per_token_group_quant_8bit_packed (UE8M0 always).
    Masked: int32 [E, T, ceil(G'/4)], expert e's block the 2-D layout of M = T."""
    if dtype is None:
        dtype = default_fp8_dtype(x.device)
    y, mask = _prepare(x, group_size, fuse_silu_and_mul, masked_m)
    q, s = quantize_reference(y, group_size, eps, default_qmin(dtype), default_qmax(dtype), dtype,
                              _layouts.ue8m0_scales(packed=True))
    if mask is not None:
        experts, rows = mask.shape
        return _masked_q(q, mask, None), _masked_packed(s, experts, rows, mask)
    m, groups = s.shape
    return q, pack_ue8m0(s, m, groups)


# The consumer-side ops (weight block quantization, dequantize) are defined
# in their own module on top of the functions above.
from groupquant._reference_consumers import (  # noqa: E402
    block_quant_reference,
    dequantize_per_block,
    dequantize_per_token_group,
    per_block_quant_fp8,
    per_block_quant_int8,
    unpack_ue8m0,
)

__all__ += [
    "per_block_quant_fp8",
    "per_block_quant_int8",
    "block_quant_reference",
    "dequantize_per_token_group",
    "dequantize_per_block",
    "unpack_ue8m0",
]
