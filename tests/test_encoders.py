"""The op's FP8 and int8 encoders on every interesting float32 value.

Each group holds the format's largest value qmax plus test values v with
|v| <= qmax, and the op runs with that qmax: amax == qmax makes s exactly 1
(also under UE8M0), so q == encode(v) and the encoder alone decides each
byte. A second pass scales everything by 2^k (s == 2^k, x / s exact) to
hit the same encodings through a non-trivial division. Expected bytes come
from the numpy model and, independently, from torch's own casts.
"""

import numpy as np
import pytest
import torch

import np_model
from gq_testutil import OPS, alloc_q, alloc_scales
from groupquant import _formats

GROUP = 128
FORMATS = {"e4m3fn": torch.float8_e4m3fn, "e4m3fnuz": torch.float8_e4m3fnuz}


def _neighbours(values):
    v = np.asarray(values, dtype=np.float32)
    return np.concatenate([v, np.nextafter(v, np.float32(np.inf)), np.nextafter(v, np.float32(-np.inf))])


def _random_f32(n, max_abs, rng):
    """Random float32 spread over every binade up to max_abs, both signs."""
    bits = rng.integers(0, 0x7F800000, size=n, dtype=np.int64).astype(np.uint32)
    v = bits.view(np.float32)
    v = v[np.abs(v) <= max_abs]
    return np.where(rng.integers(0, 2, size=v.size) == 1, -v, v).astype(np.float32)


def fp8_test_values(fmt, rng, n_random):
    _, values = np_model.positive_codes(fmt)
    fmax = np_model.FORMATS[fmt][4]
    mids = (values[:-1] + values[1:]) / 2  # exact in float32 (few mantissa bits)
    pos = np.concatenate([values, _neighbours(mids), _neighbours(values)])
    pos = pos[(pos >= 0) & (pos <= fmax)]
    v = np.concatenate([pos, -pos, _random_f32(n_random, fmax, rng)]).astype(np.float32)
    return v


def int8_test_values(rng, n_random):
    ints = np.arange(-127, 128, dtype=np.float32)
    mids = np.arange(-127, 127, dtype=np.float32) + np.float32(0.5)
    v = np.concatenate([ints, _neighbours(mids), _neighbours(ints),
                        rng.uniform(-127, 127, n_random).astype(np.float32)])
    return v[np.abs(v) <= 127].astype(np.float32)


def _groups_with_anchor(values, anchor):
    """[rows, GROUP] float32: each row starts with `anchor`, then values (0-padded)."""
    per = GROUP - 1
    rows = -(-values.size // per)
    body = np.zeros(rows * per, dtype=np.float32)
    body[:values.size] = values
    x = np.concatenate([np.full((rows, 1), anchor, np.float32), body.reshape(rows, per)], axis=1)
    return torch.from_numpy(x)


def _run(op, x, dtype, qmin, qmax, device, ue8m0=False):
    x = x.to(device)
    q = alloc_q(x.shape, dtype, device)
    if op == "packed":
        s = alloc_scales((x.shape[0],), x.shape[0], x.shape[1] // GROUP, device, "packed")
        OPS.per_token_group_quant_8bit_packed(x, q, s, GROUP, 0.0, qmin, qmax)
    elif op == "int8":
        s = alloc_scales((x.shape[0],), x.shape[0], 1, device, "row")
        OPS.per_token_group_quant_int8(x, q, s, GROUP, 0.0, qmin, qmax)
    else:
        s = alloc_scales((x.shape[0],), x.shape[0], 1, device, "row")
        OPS.per_token_group_fp8_quant(x, q, s, GROUP, 0.0, qmin, qmax, ue8m0)
    return q.cpu().view(torch.uint8)[:, 1:].reshape(-1), s


def _compare(got, want, values, label):
    bad = np.nonzero(got != want)[0]
    if bad.size:
        lines = [f"{label}: {bad.size} of {values.size} values mis-encoded"]
        for i in bad[:10]:
            lines.append(f"  v={values[i]!r} ({values[i].view(np.uint32):#010x}): got {got[i]:#04x} want {want[i]:#04x}")
        raise AssertionError("\n".join(lines))


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("ue8m0", [False, True])
@pytest.mark.parametrize("log2_scale", [0, -30, 60])
def test_fp8_encoder_all_values_midpoints_neighbours(fmt, ue8m0, log2_scale, device, seed):
    rng = np.random.default_rng(seed)
    dtype, fmax = FORMATS[fmt], np_model.FORMATS[fmt][4]
    values = fp8_test_values(fmt, rng, 1 << 18)
    want = np_model.encode_fp8(values, fmt)
    # torch's cast agrees with the model on in-range values (an independent check of the model).
    cast = torch.from_numpy(values).to(dtype).view(torch.uint8).numpy()
    _compare(cast, want, values, f"torch cast vs numpy model ({fmt})")
    scale = np.float32(2.0 ** log2_scale)
    # Keep values whose scaled copy is exact (no underflow), so x / s == v.
    exact = (values * scale).astype(np.float64) / float(scale) == values.astype(np.float64)
    values, want = values[exact], want[exact]
    x = _groups_with_anchor(values * scale, np.float32(fmax) * scale)
    got, s = _run("fp8", x, dtype, -fmax, fmax, device, ue8m0)
    assert bool((s.cpu() == float(scale)).all()), "the anchor must make every scale 2^k exactly"
    _compare(got.numpy()[:values.size], want, values, f"op {fmt} ue8m0={ue8m0} s=2^{log2_scale}")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_fp8_encoder_through_packed_op(fmt, device, seed):
    rng = np.random.default_rng(seed)
    dtype = FORMATS[fmt]
    qmax = _formats.default_qmax(dtype)
    values = fp8_test_values(fmt, rng, 1 << 14)
    values = values[np.abs(values) <= qmax]
    got, _ = _run("packed", _groups_with_anchor(values, qmax), dtype, -qmax, qmax, device)
    _compare(got.numpy()[:values.size], np_model.encode_fp8(values, fmt), values, f"packed op {fmt}")


@pytest.mark.parametrize("op", ["int8", "packed"])
def test_int8_encoder_integers_midpoints_neighbours(op, device, seed):
    rng = np.random.default_rng(seed)
    values = int8_test_values(rng, 1 << 18)
    got, _ = _run(op, _groups_with_anchor(values, 127.0), torch.int8, -128.0, 127.0, device)
    want = np_model.encode_int8(values).view(np.uint8)
    _compare(got.numpy()[:values.size], want, values, f"{op} op int8")
