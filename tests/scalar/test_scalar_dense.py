"""csrc/quant_math.h against groupquant.reference on a dense input set.

Seconds, in the default suite: every float32 exponent of both signs, every
value and rounding midpoint of each output format with the float32 values
either side, all FP8 subnormals, specials and a seeded random sample. The
exhaustive twin (test_scalar_exhaustive.py) covers all 2^32 patterns.
"""

import numpy as np
import pytest
import torch

import gq_scalar
import scalar_cases as sc
from groupquant import reference as ref


@pytest.mark.parametrize("name", sorted(sc.FORMATS))
def test_encoder_matches_reference(name):
    fmt = sc.FORMATS[name]
    x = sc.dense_inputs(fmt)
    assert not sc.check_format(fmt, x), sc.check_format(fmt, x)


@pytest.mark.parametrize("name", sorted(sc.FORMATS))
def test_encoder_hits_every_code(name):
    # The dense set must reach every code the format has, or it is not dense.
    fmt = sc.FORMATS[name]
    codes = fmt.encode(gq_scalar.clamp_keep_nan(sc.dense_inputs(fmt), fmt.lo, fmt.hi))
    seen = np.unique(codes.view(np.uint8))
    finite = sc.format_values(fmt)
    expected = finite.size + (0 if fmt.dtype == torch.int8 else 1)  # + canonical NaN
    if fmt.dtype == torch.float8_e4m3fn:
        expected += 1  # -0 is its own code in e4m3fn
    assert seen.size == expected, f"{name}: {seen.size} distinct codes, want {expected}"


@pytest.mark.parametrize("name,lo,hi", [("e4m3fnuz", -224.0, 224.0), ("e4m3fn", -448.0, 448.0), ("int8", -128.0, 127.0),
                                        ("e4m3fn", -1.0, 3.5)])
def test_default_and_narrow_bounds(name, lo, hi):
    # Kernels clamp to the op's qmin/qmax, which may be narrower than the format.
    fmt = sc.FORMATS[name]
    x = sc.dense_inputs(fmt)
    clamped = gq_scalar.clamp_keep_nan(x, lo, hi)
    assert not sc.mismatches(x, clamped, sc.reference_clamp(x, lo, hi), "clamp")
    assert not sc.mismatches(clamped, fmt.encode(clamped), fmt.reference(clamped), "encode")


@pytest.mark.parametrize("name,nan_code", [("e4m3fn", 0x7F), ("e4m3fnuz", 0x80), ("int8", 0)])
def test_nan_encodes_canonically(name, nan_code):
    fmt = sc.FORMATS[name]
    nans = sc.floats([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF, 0x7FA5A5A5])
    clamped = gq_scalar.clamp_keep_nan(nans, fmt.lo, fmt.hi)
    assert np.array_equal(sc.bits(clamped), sc.bits(nans)), "the clamp must pass NaN through unchanged"
    assert np.all(fmt.encode(clamped).view(np.uint8) == nan_code)


def test_e4m3fnuz_has_no_negative_zero():
    tiny = np.array([-0.0, -2.0 ** -12, -2.0 ** -20, -1e-30], dtype=np.float32)
    assert np.all(gq_scalar.encode_e4m3fnuz(tiny) == 0)


def test_ue8m0_matches_reference():
    s = np.concatenate([
        sc.SPECIALS, sc.exponent_sweep(stride=4093),
        # Around the 2^-33 floor and the top exponent.
        sc.with_neighbours(np.float32([2.0 ** -33, 2.0 ** -34, 2.0 ** 127, 2.0 ** -126, 2.0 ** -149])),
        sc.random_patterns(1 << 16, 0x0E8),
    ]).astype(np.float32, copy=False)
    assert not sc.check_ue8m0(s), sc.check_ue8m0(s)


def test_ue8m0_known_bytes():
    s = np.float32([0.0, 1e-10 / 448, 1.0, 1.5, 2.0 ** 127 * 1.5, np.inf])
    r = gq_scalar.ue8m0_round_up(s)
    # 0 and tiny scales take the 2^-33 floor: byte 0x5E (vLLM's test checks it).
    assert list(gq_scalar.ue8m0_byte(r)) == [0x5E, 0x5E, 127, 128, 0xFF, 0xFF]


@pytest.mark.parametrize("ue8m0", [False, True])
def test_group_scale_matches_reference(ue8m0):
    mags = np.abs(np.concatenate([sc.SPECIALS, sc.exponent_sweep(stride=65521)]))
    for eps in (0.0, 1e-10, 1e-6, 0.5):
        for qmax in (448.0, 224.0, 240.0, 127.0, 3.0, 1.0):
            got = gq_scalar.group_scale(mags, eps, qmax, ue8m0)
            want = sc.reference_group_scale(mags, eps, qmax, ue8m0)
            assert not sc.mismatches(mags, got, want, f"group_scale eps={eps} qmax={qmax} ue8m0={ue8m0}")


def test_abs_max_step_ignores_nan():
    v = np.concatenate([sc.SPECIALS, sc.exponent_sweep(stride=65521)])
    acc = np.abs(np.random.default_rng(7).permutation(v))
    acc = np.where(np.isnan(acc), np.float32(0), acc).astype(np.float32)
    got = gq_scalar.abs_max_step(acc, v)
    want = np.fmax(acc, np.abs(v))  # fmax: a NaN operand loses
    assert not sc.mismatches(v, got, want, "abs_max_step")


def test_group_amax_matches_reference():
    rng = np.random.default_rng(11)
    x = np.concatenate([sc.SPECIALS, sc.exponent_sweep(stride=65521)])
    x = rng.permutation(np.resize(x, 64 * 1024)).reshape(-1, 128)
    x[3, :] = np.nan  # a group of only NaNs has amax 0
    x[5, :] = np.float32(-0.0)
    got = gq_scalar.group_amax(x)
    want = ref.group_amax(torch.from_numpy(x)).numpy()
    assert not sc.mismatches(got, got, want, "group_amax")


def test_bad_dtype_is_rejected():
    with pytest.raises(RuntimeError, match="v: expected a float32 array"):
        gq_scalar.encode_e4m3fn(np.zeros(4, dtype=np.float64))


def test_bit_patterns_equal_floats():
    x = sc.exponent_sweep(stride=65521)
    for fmt in sc.FORMATS.values():
        assert np.array_equal(fmt.encode(sc.bits(x)), fmt.encode(x))
