"""An independent model of the quantization math in numpy float64.

It shares no code with groupquant.reference: FP8 values come from decoding
the 256 codes, encoding is a nearest-value search with an explicit tie rule,
the UE8M0 round-up uses frexp, and fp32 division is a float64 division
rounded once to float32 (exact: float64 has more than 2*24+2 bits, so that
double rounding is innocuous for division).
"""

import math

import numpy as np

FORMATS = {
    # name: (exponent bias, NaN codes, canonical NaN, has negative zero, largest finite)
    "e4m3fn": (7, (0x7F, 0xFF), 0x7F, True, 448.0),
    "e4m3fnuz": (8, (0x80,), 0x80, False, 240.0),
}


def decode_fp8(code, fmt):
    """float64 value of an 8-bit code (NaN for NaN codes)."""
    bias, nan_codes, _, _, _ = FORMATS[fmt]
    if code in nan_codes:
        return math.nan
    sign = -1.0 if code & 0x80 else 1.0
    exp = (code >> 3) & 0xF
    mant = code & 0x7
    if exp == 0:
        return sign * mant * 2.0 ** (1 - bias - 3)
    return sign * (1 + mant / 8) * 2.0 ** (exp - bias)


def positive_codes(fmt):
    """(codes, values) of the finite non-negative codes, increasing."""
    codes = [c for c in range(0x80) if not math.isnan(decode_fp8(c, fmt))]
    return np.array(codes, dtype=np.int64), np.array([decode_fp8(c, fmt) for c in codes])


def encode_fp8(v, fmt):
    """Round-to-nearest-even, saturating; canonical NaN; fnuz has no -0."""
    v = np.asarray(v, dtype=np.float64)
    _, _, nan_code, has_neg_zero, fmax = FORMATS[fmt]
    codes, values = positive_codes(fmt)
    a = np.minimum(np.abs(np.nan_to_num(v, nan=0.0)), fmax)
    hi = np.clip(np.searchsorted(values, a, side="left"), 0, len(values) - 1)
    lo = np.clip(hi - 1, 0, len(values) - 1)
    d_lo, d_hi = a - values[lo], values[hi] - a
    pick_hi = (d_hi < d_lo) | ((d_hi == d_lo) & (codes[hi] % 2 == 0))
    mag = np.where(pick_hi, codes[hi], codes[lo])
    negative = np.signbit(v)
    if not has_neg_zero:
        negative &= mag != 0
    out = np.where(negative, mag | 0x80, mag)
    return np.where(np.isnan(v), nan_code, out).astype(np.uint8)


def encode_int8(v):
    v = np.asarray(v, dtype=np.float64)
    c = np.clip(np.nan_to_num(v, nan=0.0), -128, 127)
    return np.rint(c).astype(np.int8)  # rint is half-to-even


def f32(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32)


def div_f32(a, b):
    """IEEE float32 division of float32 operands."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return (np.asarray(a, np.float32).astype(np.float64) / np.asarray(b, np.float32).astype(np.float64)).astype(np.float32)


def ue8m0_round_up(s):
    """Smallest power of two >= max(s, 2^-33) (NaN -> 2^-33), via frexp."""
    s = np.asarray(s, dtype=np.float32).astype(np.float64)
    s = np.where(s > 2.0 ** -33, s, 2.0 ** -33)
    mant, exp = np.frexp(s)  # s = mant * 2^exp, mant in [0.5, 1)
    out = np.where(mant == 0.5, s, np.ldexp(1.0, exp))
    out = np.where(np.isinf(s), s, out)
    with np.errstate(over="ignore"):
        return out.astype(np.float32)


def quantize(x, group_size, eps, qmin, qmax, fmt, ue8m0):
    """(codes uint8/int8 [M, K], scales float32 [M, K/G]) for x float32 [M, K]."""
    x = np.asarray(x, dtype=np.float32)
    m, k = x.shape
    xg = x.reshape(m, k // group_size, group_size)
    a = np.abs(xg)
    amax = np.where(np.isnan(a), 0, a).max(axis=-1, initial=0).astype(np.float32)
    s = div_f32(np.maximum(amax, f32(eps)), f32(qmax))
    if ue8m0:
        s = ue8m0_round_up(s)
    v = div_f32(xg, s[..., None]).astype(np.float64)
    lo, hi = float(f32(qmin)), float(f32(qmax))
    v = np.where(v < lo, lo, np.where(v > hi, hi, v))  # NaN passes through
    codes = encode_int8(v) if fmt == "int8" else encode_fp8(v, fmt)
    return codes.reshape(m, k), s
