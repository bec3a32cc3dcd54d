"""The scalar functions under test, their reference twins, and input sets.

Each output format pairs gq_scalar's encoder (csrc/quant_math.h) with
groupquant.reference.encode. Encoders receive values already clamped to
[qmin, qmax] (or NaN); the widest such range is the format's own, so every
sweep clamps to that first, with gq_clamp_keep_nan, and checks the clamp
against the reference's too.
"""

import dataclasses

import numpy as np
import torch

import gq_scalar
from groupquant import reference as ref


@dataclasses.dataclass(frozen=True)
class Format:
    name: str
    encode: object  # gq_scalar function: float32 array -> codes
    dtype: torch.dtype
    lo: float  # format's lowest finite value: the widest qmin
    hi: float  # format's largest finite value: the widest qmax

    def reference(self, v):
        """groupquant.reference.encode of float32 numpy v, as a numpy array."""
        q = ref.encode(torch.from_numpy(v), self.dtype)
        return (q if self.dtype == torch.int8 else q.view(torch.uint8)).numpy()


FORMATS = {
    "e4m3fn": Format("e4m3fn", gq_scalar.encode_e4m3fn, torch.float8_e4m3fn, -448.0, 448.0),
    "e4m3fnuz": Format("e4m3fnuz", gq_scalar.encode_e4m3fnuz, torch.float8_e4m3fnuz, -240.0, 240.0),
    "int8": Format("int8", gq_scalar.encode_int8, torch.int8, -128.0, 127.0),
}


def bits(a):
    return np.ascontiguousarray(a).view(np.uint32)


def floats(patterns):
    return np.asarray(patterns, dtype=np.uint32).view(np.float32)


def reference_clamp(v, lo, hi):
    """clamp keeping NaN, as groupquant.reference applies it (compare-selects)."""
    t = torch.from_numpy(v)
    lo_t = torch.tensor(lo, dtype=torch.float32)
    hi_t = torch.tensor(hi, dtype=torch.float32)
    t = torch.where(t < lo_t, lo_t, t)
    return torch.where(t > hi_t, hi_t, t).numpy()


def reference_ue8m0(s):
    """(rounded scale, exponent byte) from groupquant.reference."""
    r = ref.ue8m0_round_up(torch.from_numpy(s))
    return r.numpy(), ref.ue8m0_byte(r).numpy()


def reference_group_scale(amax, eps, qmax, ue8m0):
    return ref.group_scales(torch.from_numpy(amax), eps, qmax, ue8m0).numpy()


def mismatches(x, got, want, what, limit=8):
    """'' when got == want bit for bit, else a report of the first few inputs."""
    g, w = np.ascontiguousarray(got), np.ascontiguousarray(want)
    if g.dtype.itemsize == 4:
        g, w = g.view(np.uint32), w.view(np.uint32)
    else:
        g, w = g.view(np.uint8), w.view(np.uint8)
    bad = np.flatnonzero(g != w)
    if bad.size == 0:
        return ""
    lines = [f"{what}: {bad.size} of {g.size} inputs differ; first ones (input bits: got vs reference):"]
    xb = bits(x)
    for i in bad[:limit]:
        lines.append(f"  0x{int(xb[i]):08x} ({float(x.reshape(-1)[i])!r}): 0x{int(g[i]):x} vs 0x{int(w[i]):x}")
    return "\n".join(lines)


def check_format(fmt, x):
    """Clamp x to fmt's range, encode; '' if both steps match the reference."""
    clamped = gq_scalar.clamp_keep_nan(x, fmt.lo, fmt.hi)
    report = mismatches(x, clamped, reference_clamp(x, fmt.lo, fmt.hi), f"{fmt.name} clamp")
    if report:
        return report
    return mismatches(clamped, fmt.encode(clamped), fmt.reference(clamped), f"{fmt.name} encode")


def check_ue8m0(s):
    """gq_ue8m0_round_up and gq_ue8m0_byte on s; '' if both match the reference."""
    want_r, want_b = reference_ue8m0(s)
    got_r = gq_scalar.ue8m0_round_up(s)
    report = mismatches(s, got_r, want_r, "ue8m0_round_up")
    if report:
        return report
    return mismatches(got_r, gq_scalar.ue8m0_byte(got_r), want_b, "ue8m0_byte")


# ------------------------------------------------------------ input sets

_MANTISSA_EDGES = np.array(
    [0, 1, 2, 3, 0x7FFFFF, 0x7FFFFE, 0x7FFFFD, 0x400000, 0x3FFFFF, 0x400001,
     0x200000, 0x1FFFFF, 0x200001, 0x100000, 0x0FFFFF, 0x100001, 0x080000,
     0x07FFFF, 0x080001, 0x600000, 0x5FFFFF, 0x600001, 0x700000, 0x6FFFFF, 0x700001],
    dtype=np.uint32)

SPECIALS = floats([
    0x00000000, 0x80000000,  # +-0
    0x7F800000, 0xFF800000,  # +-Inf
    0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0xFFFFFFFF,  # NaNs, quiet and signalling
    0x7FA00000, 0x7FC00001,
    0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF,  # float32 subnormals
    0x00800000, 0x80800000,  # smallest normal
    0x7F7FFFFF, 0xFF7FFFFF,  # largest finite
    0x3F800000, 0xBF800000,  # +-1
])


def exponent_sweep(stride=8191):
    """Every float32 exponent and sign, mantissa edges plus a strided sweep."""
    mantissas = np.union1d(_MANTISSA_EDGES, np.arange(0, 1 << 23, stride, dtype=np.uint32))
    exps = np.arange(256, dtype=np.uint32) << 23
    mags = (exps[:, None] | mantissas[None, :]).reshape(-1)
    return floats(np.concatenate([mags, mags | np.uint32(0x80000000)]))


def with_neighbours(values):
    """values and the next float32 up and down from each (both signs kept)."""
    v = np.asarray(values, dtype=np.float32)
    with np.errstate(over="ignore"):  # the neighbour of the largest finite is Inf
        return np.concatenate([v, np.nextafter(v, np.float32(np.inf)), np.nextafter(v, np.float32(-np.inf))])


def format_values(fmt):
    """Every finite value of the output format (both signs, all subnormals)."""
    if fmt.dtype == torch.int8:
        return np.arange(-128, 128, dtype=np.float32)
    codes = torch.arange(256, dtype=torch.int32).to(torch.uint8).view(fmt.dtype).to(torch.float32)
    vals = codes[torch.isfinite(codes)].numpy()
    return np.unique(vals)


def rounding_cases(fmt):
    """The format's values, every midpoint between neighbours (ties), and the
    float32 values either side of each; the midpoint beyond the largest value
    too. Midpoints of 3-bit-mantissa values and of integers are exact in float32."""
    vals = np.unique(np.concatenate([format_values(fmt), [0.0]])).astype(np.float64)
    step_out = vals[-1] - vals[-2]
    edges = np.concatenate([[vals[0] - step_out], vals, [vals[-1] + step_out]])
    mids = ((edges[:-1] + edges[1:]) / 2).astype(np.float32)
    assert np.all(mids.astype(np.float64) == (edges[:-1] + edges[1:]) / 2), "midpoints must be exact"
    return with_neighbours(np.concatenate([vals.astype(np.float32), mids, -vals.astype(np.float32)]))


def random_patterns(count, seed):
    return np.random.default_rng(seed).integers(0, 1 << 32, size=count, dtype=np.uint32).view(np.float32)


def dense_inputs(fmt, seed=0x6771):
    """The default suite's input set for one format (about 0.6 M values)."""
    return np.concatenate([
        SPECIALS,
        with_neighbours(SPECIALS[np.isfinite(SPECIALS)]),
        exponent_sweep(),
        rounding_cases(fmt),
        random_patterns(1 << 16, seed),
    ]).astype(np.float32, copy=False)
