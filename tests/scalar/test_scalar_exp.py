"""gq_exp / gq_silu_mul (csrc/quant_math.h, the code every kernel runs)
against their mirrors groupquant.reference.exp_f32 / silu_and_mul, bit for
bit: a dense sample here, every float32 pattern under --run-exhaustive.
Their accuracy against the true exp is tests/scalar/exp_ulp_sweep.cc's job."""

import time

import numpy as np
import pytest
import torch

import gq_scalar
from groupquant import reference as ref


def _same_bits(a, b):
    """Equal bits, or both NaN (NaN payloads are not part of the contract)."""
    return (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))


def _check_exp(bits):
    x = bits.view(np.float32)
    got = gq_scalar.exp(bits)
    want = ref.exp_f32(torch.from_numpy(x.copy())).numpy()
    ok = _same_bits(got, want)
    if not ok.all():
        bad = bits[~ok][:8]
        return f"{(~ok).sum()} differ, e.g. inputs {[hex(int(b)) for b in bad]}"
    return None


def _dense_patterns():
    rng = np.random.default_rng(1234)
    parts = [rng.integers(0, 2**32, size=1 << 21, dtype=np.uint64).astype(np.uint32)]
    # Every float around the clamps, the overflow/underflow edges and 0.
    for centre in (-87.33654022216797, 88.72283172607422, -104.0, 89.0, 0.0, 0.5 * np.log(2), -0.5 * np.log(2)):
        c = np.array([centre], dtype=np.float32).view(np.uint32)[0]
        span = np.arange(-4096, 4096, dtype=np.int64) + int(c)
        parts.append((span % 2**32).astype(np.uint32))
        parts.append(((span % 2**32).astype(np.uint32)) ^ np.uint32(0x80000000))
    parts.append(np.array([0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x7F800001, 0, 0x80000000, 1],
                          dtype=np.uint32))
    return np.concatenate(parts)


def test_exp_dense_matches_reference():
    report = _check_exp(_dense_patterns())
    assert report is None, report


def test_exp_special_values():
    lo = np.array([0xC2AEAC4F], dtype=np.uint32).view(np.float32)[0]
    hi = np.array([0x42B17217], dtype=np.uint32).view(np.float32)[0]
    e_lo, e_hi = gq_scalar.exp(np.array([lo, hi], dtype=np.float32))
    # The saturation values are the true exp at LO and HI within an ulp.
    assert abs(float(e_lo) - np.exp(float(lo))) <= np.spacing(e_lo)
    assert abs(float(e_hi) - np.exp(float(hi))) <= np.spacing(e_hi)
    assert 2.0**-126 <= e_lo < 2.0**-125 and np.isfinite(e_hi) and e_hi > 3.4e38
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 89.0, 88.8, -104.0, -200.0, 1.0, -1.0], dtype=np.float32)
    e = gq_scalar.exp(x)
    assert e[0] == 1.0 and e[1] == 1.0
    assert e[2] == e_hi and e[3] == e_lo and e[4] == e_hi  # saturation; NaN -> e(HI)
    assert e[5] == e_hi and e[6] == e_hi and e[7] == e_lo and e[8] == e_lo
    assert abs(float(e[9]) - np.e) <= 2 * np.spacing(np.float32(np.e))
    assert abs(float(e[10]) - np.exp(-1.0)) <= 2 * np.spacing(np.float32(np.exp(-1.0)))


def test_fma_f32_is_one_rounding():
    """reference.fma_f32 against the C library's fmaf (correctly rounded) on
    products whose exact sum needs far more than 53 bits."""
    rng = np.random.default_rng(7)
    n = 1 << 18
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    # c close to -a*b (cancellation) or tiny against it (sticky bits).
    c = np.concatenate([(-(a[: n // 2].astype(np.float64) * b[: n // 2]) * (1 + 2.0**-30)).astype(np.float32),
                        (rng.standard_normal(n // 2) * 2.0**-40).astype(np.float32)])
    got = ref.fma_f32(torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)).numpy()
    want = gq_scalar.fma(a, b, c)
    assert (got.view(np.uint32) == want.view(np.uint32)).all()


def test_silu_mul_dense_matches_reference():
    rng = np.random.default_rng(99)
    n = 1 << 20
    g = np.concatenate([rng.standard_normal(n // 2) * 30, rng.uniform(-110, 110, n // 2)]).astype(np.float32)
    u = rng.standard_normal(n).astype(np.float32)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 3e38, -3e38, 1e-45], dtype=np.float32)
    gs, us = np.meshgrid(specials, specials, indexing="ij")
    g = np.concatenate([g, gs.ravel()])
    u = np.concatenate([u, us.ravel()])
    got = gq_scalar.silu_mul(g, u)
    x = torch.from_numpy(np.concatenate([g, u])).reshape(1, -1)
    want = ref.silu_and_mul(x).numpy().reshape(-1)
    ok = _same_bits(got, want)
    assert ok.all(), f"{(~ok).sum()} differ, first at gate={g[~ok][:4]}, up={u[~ok][:4]}"


@pytest.mark.exhaustive
def test_exp_exhaustive_matches_reference():
    start = time.monotonic()
    chunk = 1 << 24
    offsets = np.arange(chunk, dtype=np.uint32)
    for base in range(0, 1 << 32, chunk):
        report = _check_exp(offsets + np.uint32(base))
        assert report is None, report
    print(f"exp: 2^32 patterns in {time.monotonic() - start:.1f} s")
