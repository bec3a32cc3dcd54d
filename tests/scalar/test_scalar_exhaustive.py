"""csrc/quant_math.h against groupquant.reference on all 2^32 float32 patterns.

Each encoder receives values clamped to [qmin, qmax] or NaN; clamping every
pattern to the format's full range (the widest qmin/qmax) first yields each
value an encoder can receive, so checking clamp-then-encode over all 2^32
patterns proves the encoder bit-exact on its whole domain. UE8M0 rounding
takes raw patterns. Minutes: marked `exhaustive` (--run-exhaustive), Bazel
target //tests/scalar:scalar_exhaustive_test (manual).
"""

import time

import numpy as np
import pytest

import scalar_cases as sc

CHUNK = 1 << 24
ALL = 1 << 32


def _sweep(check):
    start_time = time.monotonic()
    offsets = np.arange(CHUNK, dtype=np.uint32)
    for start in range(0, ALL, CHUNK):
        x = (offsets + np.uint32(start)).view(np.float32)
        report = check(x)
        assert not report, report
    return time.monotonic() - start_time


@pytest.mark.exhaustive
@pytest.mark.parametrize("name", sorted(sc.FORMATS))
def test_encoder_exhaustive(name):
    fmt = sc.FORMATS[name]
    seconds = _sweep(lambda x: sc.check_format(fmt, x))
    print(f"{name}: 2^32 patterns in {seconds:.1f} s")


@pytest.mark.exhaustive
def test_ue8m0_exhaustive():
    seconds = _sweep(sc.check_ue8m0)
    print(f"ue8m0: 2^32 patterns in {seconds:.1f} s")
