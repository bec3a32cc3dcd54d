"""Inputs chosen to break kernels: rounding ties after the division,
subnormals, zero groups, extreme magnitudes, and non-finite values."""

import math

import numpy as np
import pytest
import torch

import np_model
from gq_testutil import (FP8_DTYPES, OUT_DTYPES, check_against_reference, f32_bits, q_bytes,
                         random_input, run_op, tensor_from_values)
from groupquant import _formats, _layouts

FMT = {torch.float8_e4m3fn: "e4m3fn", torch.float8_e4m3fnuz: "e4m3fnuz"}
# (out_dtype, layout, ue8m0) covering each op once, plus UE8M0 on the fp8 op.
ROUTES = [(torch.float8_e4m3fn, "row", False), (torch.float8_e4m3fn, "col", True),
          (torch.float8_e4m3fnuz, "tma", False), (torch.float8_e4m3fnuz, "row", True),
          (torch.int8, "row", False), (torch.float8_e4m3fn, "packed", True), (torch.int8, "packed", True)]


def _rid(r):
    return f"{str(r[0]).replace('torch.', '')}-{r[1]}-{'ue8m0' if r[2] else 'f32'}"


def _midpoints(dtype):
    if dtype == torch.int8:
        return np.arange(-127, 127, dtype=np.float64) + 0.5
    _, values = np_model.positive_codes(FMT[dtype])
    mids = (values[:-1] + values[1:]) / 2
    return np.concatenate([mids, -mids])


@pytest.mark.parametrize("route", ROUTES, ids=_rid)
@pytest.mark.parametrize("amax", [448.0, 224.0, 127.0, 1000.0, 3.0, 1e-3, 7e30])
def test_quotients_near_rounding_midpoints(route, amax, device):
    """x = fl(mid * s) and its float32 neighbours: x / s lands on or next to
    an encoding midpoint, for power-of-two and arbitrary scales alike."""
    out_dtype, layout, ue8m0 = route
    qmax = np.float32(_formats.default_qmax(out_dtype))
    s = np_model.div_f32(np.float32(amax), qmax)
    if _layouts.ue8m0_scales(layout == "packed", ue8m0):
        s = np_model.ue8m0_round_up(s)
    mids = _midpoints(out_dtype)
    mids = mids[np.abs(mids) < float(qmax)]
    x = (mids * np.float64(s)).astype(np.float32)
    x = np.concatenate([x, np.nextafter(x, np.float32(np.inf)), np.nextafter(x, np.float32(-np.inf))])
    group = 64
    rows = -(-x.size // (group - 1))
    body = np.zeros(rows * (group - 1), np.float32)
    body[: x.size] = x
    # First element of each group: amax, so every group has the same scale.
    data = np.concatenate([np.full((rows, 1), np.float32(amax)), body.reshape(rows, group - 1)], axis=1)
    check_against_reference(torch.from_numpy(data).to(device), group, out_dtype, layout, ue8m0,
                            context=f"amax={amax}")


@pytest.mark.parametrize("route", ROUTES, ids=_rid)
@pytest.mark.parametrize("eps", [1e-10, 0.0])
def test_subnormal_and_tiny_inputs(route, eps, device):
    out_dtype, layout, ue8m0 = route
    tiny = [1e-45, 2.8e-45, 1e-40, 1.1754942e-38, 1.17549435e-38, 1e-30, 1e-20, 1e-12]
    rows = []
    for v in tiny:
        rows.append([v, -v / 2, v / 3, 0.0] * 16)  # one group: all subnormal/tiny
        rows.append([v, 1e-3, -v, 5e-39] * 16)  # tiny values next to a normal amax
    x = tensor_from_values(rows, torch.float32, device)
    check_against_reference(x, 64, out_dtype, layout, ue8m0, eps=eps)


@pytest.mark.parametrize("route", ROUTES, ids=_rid)
@pytest.mark.parametrize("in_dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_zero_groups(route, in_dtype, device):
    out_dtype, layout, ue8m0 = route
    x = torch.zeros((5, 256), dtype=in_dtype, device=device)
    x[1, 0] = -0.0
    x[2] = -0.0
    x[3, 128:] = 1.0
    for eps in (1e-10, 0.0, 5.0):
        check_against_reference(x, 128, out_dtype, layout, ue8m0, eps=eps)
    if layout == "packed":
        _, s = run_op(x, 128, out_dtype, layout)
        assert s[0, 0].item() & 0xFFFF == 0x5E5E  # vLLM/SGLang: all-zero group byte 0x5E


@pytest.mark.parametrize("route", ROUTES, ids=_rid)
def test_huge_magnitudes(route, device, gen):
    out_dtype, layout, ue8m0 = route
    fmax = 3.4028235e38
    rows = [[fmax, -fmax, fmax / 3, 1.0] * 16, [-fmax] * 64, [1e38, -2e38, 1e-38, 0.0] * 16,
            [fmax, 1e-45, -1e-45, 3e38] * 16, [7e37, -6.9e37, 1.5, -1e30] * 16]
    x = tensor_from_values(rows, torch.float32, device)
    check_against_reference(x, 64, out_dtype, layout, ue8m0)
    check_against_reference(x, 64, out_dtype, layout, ue8m0, eps=1e30)


@pytest.mark.parametrize("route", ROUTES, ids=_rid)
@pytest.mark.parametrize("in_dtype", [torch.float16, torch.bfloat16], ids=str)
def test_half_precision_extremes(route, in_dtype, device, gen):
    out_dtype, layout, ue8m0 = route
    fi = torch.finfo(in_dtype)
    specials = [fi.max, -fi.max, fi.tiny, -fi.tiny, fi.smallest_normal / 4, fi.eps, 1.0, -fi.max / 3]
    sub = torch.tensor([1, 3, 7, 0x3F, 0x7F], dtype=torch.int16).view(in_dtype).float().tolist()
    vals = specials + sub + [-v for v in sub]
    rows = [(vals * 8)[:128], [fi.max] * 128, (sub * 26)[:128], [vals[i % len(vals)] * 0.5 for i in range(128)]]
    x = tensor_from_values(rows, in_dtype, device)
    check_against_reference(x, 128, out_dtype, layout, ue8m0)
    check_against_reference(x, 32, out_dtype, layout, ue8m0, eps=0.0)
    y = random_input((16, 256), torch.float32, gen, spread=100).to(in_dtype).to(device)
    check_against_reference(y, 64, out_dtype, layout, ue8m0)


# ------------------------------------------------------- non-finite policy

NONFINITE_GROUPS = {
    "one_nan": [1.0, math.nan, -2.0, 0.5],
    "neg_nan": [-math.nan, 3.0, -1.0, 0.25],
    "all_nan": [math.nan] * 4,
    "pos_inf": [1.0, math.inf, -2.0, 0.0],
    "neg_inf": [-math.inf, 2.0, -0.0, 1e-3],
    "nan_and_inf": [math.nan, -math.inf, 5.0, -5.0],
    "both_infs": [math.inf, -math.inf, 1.0, -1.0],
}


@pytest.mark.parametrize("route", ROUTES, ids=_rid)
@pytest.mark.parametrize("kind", list(NONFINITE_GROUPS))
@pytest.mark.parametrize("in_dtype", [torch.float32, torch.bfloat16, torch.float16], ids=str)
def test_nonfinite_follows_policy_and_stays_in_its_group(route, kind, in_dtype, device, gen):
    out_dtype, layout, ue8m0 = route
    g = 32
    clean = random_input((6, 8 * g), in_dtype, gen, device)
    dirty = clean.clone()
    pattern = torch.tensor(NONFINITE_GROUPS[kind] * (g // 4)).to(in_dtype).to(device)
    dirty[2, 3 * g: 4 * g] = pattern  # row 2, group 3
    dirty[5, 0:g] = pattern  # first group of the last row
    q_dirty, s_dirty = check_against_reference(dirty, g, out_dtype, layout, ue8m0, context=kind)
    q_clean, s_clean = run_op(clean, g, out_dtype, layout, ue8m0)
    # Every group but the two dirty ones is identical to the clean run.
    keep = torch.ones((6, 8), dtype=torch.bool)
    keep[2, 3] = keep[5, 0] = False
    qd, qc = q_bytes(q_dirty).reshape(6, 8, g), q_bytes(q_clean).reshape(6, 8, g)
    assert torch.equal(qd[keep], qc[keep]), "a non-finite value changed another group's q"
    if layout == "packed":
        sd = s_dirty.cpu().contiguous().view(torch.uint8).reshape(6, -1)[:, :8]
        sc = s_clean.cpu().contiguous().view(torch.uint8).reshape(6, -1)[:, :8]
    else:
        sd, sc = f32_bits(s_dirty.reshape(6, 8)), f32_bits(s_clean.reshape(6, 8))
    assert torch.equal(sd[keep], sc[keep]), "a non-finite value changed another group's scale"


@pytest.mark.parametrize("out_dtype", OUT_DTYPES, ids=str)
def test_nonfinite_policy_values(out_dtype, device):
    """The documented bytes: NaN -> canonical NaN (int8: 0), Inf -> s = +Inf,
    finite values of that group -> (signed) zero, Inf itself -> NaN."""
    x = tensor_from_values([[1.0, math.nan, -math.nan, 2.0], [math.inf, -3.0, 0.0, -math.inf],
                            [math.nan] * 4], torch.float32, device)
    layout = "row"
    q, s = run_op(x, 4, out_dtype, layout, eps=1e-10)
    qb = q_bytes(q).tolist()
    nan = _formats.traits(out_dtype).nan_code
    assert qb[0][1] == nan and qb[0][2] == nan
    assert math.isinf(s[1, 0].item()) and s[1, 0].item() > 0
    assert qb[1][0] == nan and qb[1][3] == nan
    neg_zero = 0x80 if out_dtype == torch.float8_e4m3fn else 0x00
    assert qb[1][1] == neg_zero and qb[1][2] == 0x00
    # An all-NaN group has amax 0: the eps path, every output the NaN byte.
    assert s[2, 0].item() == np.float32(np.float32(1e-10) / np.float32(_formats.default_qmax(out_dtype)))
    assert qb[2] == [nan] * 4
    if out_dtype in FP8_DTYPES:
        _, s8 = run_op(x, 4, out_dtype, "row", ue8m0=True)
        assert math.isinf(s8[1, 0].item())
        _, sp = run_op(x, 4, out_dtype, "packed")
        assert (sp[1, 0].item() & 0xFF) == 0xFF  # UE8M0 byte of +Inf
