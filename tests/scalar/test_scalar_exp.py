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
    for centre in (-104.0, 89.0, 88.72283935546875, -87.33654022216797, -103.97, 0.0, 0.5 * np.log(2)):
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
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 89.0, 88.7, -104.0, -200.0, 1.0], dtype=np.float32)
    e = gq_scalar.exp(x)
    assert e[0] == 1.0 and e[1] == 1.0 and e[2] == np.inf and e[3] == 0.0 and np.isnan(e[4])
    assert e[5] == np.inf and np.isfinite(e[6]) and e[7] == 0.0 and e[8] == 0.0
    assert abs(float(e[9]) - np.e) <= 2 * np.spacing(np.float32(np.e))


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
