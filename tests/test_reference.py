"""groupquant.reference against an independent float64 numpy model, and the
scale layouts it defines. Runs the reference on the backend's device, so a
device-side trap (e.g. non-IEEE division on CUDA) shows up here."""

import math

import numpy as np
import pytest
import torch

import np_model
from gq_testutil import FP8_DTYPES, IN_DTYPES, OUT_DTYPES, random_input
from groupquant import _formats
from groupquant import reference as ref

FMT = {torch.float8_e4m3fn: "e4m3fn", torch.float8_e4m3fnuz: "e4m3fnuz", torch.int8: "int8"}


def _specials():
    return [0.0, -0.0, math.nan, -math.nan, math.inf, -math.inf, 1e-45, -1e-45, 1.17549435e-38,
            3.4028235e38, -3.4028235e38, 448.0, 240.0, 224.0, 0.5, 1e-10, -1e-10]


def _check_model(x, group_size, eps, out_dtype, ue8m0, device, qmin=None, qmax=None):
    qmax = ref.default_qmax(out_dtype) if qmax is None else qmax
    qmin = ref.default_qmin(out_dtype) if qmin is None else qmin
    q, s = ref.quantize_reference(x.to(device), group_size, eps, qmin, qmax, out_dtype, ue8m0)
    x32 = x.to(torch.float32).reshape(-1, x.shape[-1]).cpu().numpy()
    want_q, want_s = np_model.quantize(x32, group_size, eps, qmin, qmax, FMT[out_dtype], ue8m0)
    got_q = q.reshape(want_q.shape).cpu().view(torch.uint8).numpy()
    np.testing.assert_array_equal(s.cpu().view(torch.int32).numpy(), want_s.view(np.int32), err_msg="scale bits")
    np.testing.assert_array_equal(got_q, want_q.view(np.uint8), err_msg="q bytes")


# UE8M0 with int8 output is reachable through the packed op.
@pytest.mark.parametrize("out_dtype,ue8m0", [(d, u) for d in OUT_DTYPES for u in (False, True)], ids=str)
@pytest.mark.parametrize("in_dtype", IN_DTYPES, ids=str)
def test_reference_matches_numpy_model(out_dtype, in_dtype, ue8m0, device, gen):
    x = random_input((67, 256), in_dtype, gen, spread=30)
    x.view(-1)[:len(_specials())] = torch.tensor(_specials()).to(in_dtype)
    _check_model(x, 64, 1e-10, out_dtype, ue8m0, device)


@pytest.mark.parametrize("out_dtype", OUT_DTYPES, ids=str)
def test_reference_nondefault_bounds_and_eps(out_dtype, device, gen):
    x = random_input((40, 96), torch.float32, gen, spread=40)
    qmax = {torch.int8: 100.0}.get(out_dtype, 240.0 if out_dtype == torch.float8_e4m3fnuz else 300.0)
    for eps in (0.0, 1e-30, 1e-3, 10.0):
        _check_model(x, 32, eps, out_dtype, out_dtype != torch.int8, device, qmin=-qmax * 0.75, qmax=qmax)
        _check_model(x, 48, eps, out_dtype, False, device, qmin=-qmax, qmax=qmax)


def test_ue8m0_zero_group_byte_is_0x5e(device):
    x = torch.zeros((2, 256), device=device)
    _, s = ref.quantize_reference(x, 128, 1e-10, -448.0, 448.0, torch.float8_e4m3fn, True)
    assert ref.ue8m0_byte(s).cpu().tolist() == [[0x5E, 0x5E], [0x5E, 0x5E]]
    _, packed = ref.per_token_group_quant_8bit_packed(x, 128)
    assert packed[0, 0].item() == 0x5E5E


def test_ue8m0_round_up_is_exact(device):
    e = torch.arange(-149, 128, dtype=torch.float64)
    p = torch.exp2(e).to(torch.float32)
    bits = p.view(torch.int32)
    neighbours = torch.cat([p, (bits + 1).view(torch.float32), (bits - 1).view(torch.float32),
                            torch.tensor([0.0, math.inf, 3.4028235e38, 1e-38, 1e-45])])
    neighbours = neighbours[torch.isfinite(neighbours) | torch.isinf(neighbours)]
    got = ref.ue8m0_round_up(neighbours.to(device)).cpu()
    want = np_model.ue8m0_round_up(neighbours.numpy())
    np.testing.assert_array_equal(got.view(torch.int32).numpy(), want.view(np.int32))


def test_reference_same_bits_on_cpu_and_device(device, gen):
    x = random_input((129, 512), torch.bfloat16, gen, spread=60)
    for dtype in OUT_DTYPES:
        for ue8m0 in (False, True):
            qmax = ref.default_qmax(dtype)
            a = ref.quantize_reference(x, 128, 1e-10, ref.default_qmin(dtype), qmax, dtype, ue8m0)
            b = ref.quantize_reference(x.to(device), 128, 1e-10, ref.default_qmin(dtype), qmax, dtype, ue8m0)
            assert torch.equal(a[0].view(torch.uint8), b[0].cpu().view(torch.uint8))
            assert torch.equal(a[1].view(torch.int32), b[1].cpu().view(torch.int32))


@pytest.mark.parametrize("m", [0, 1, 3, 4, 5, 8, 13])
def test_scale_layouts(m, device):
    x = torch.randn((m, 512), device=device)
    groups = 4
    _, s = ref.per_token_group_quant_fp8(x, 128)
    assert s.shape == (m, groups) and s.is_contiguous()
    _, col = ref.per_token_group_quant_fp8(x, 128, column_major_scales=True)
    assert col.shape == (m, groups)
    if m > 0:
        assert col.stride() == (1, m)
    _, tma = ref.per_token_group_quant_fp8(x, 128, column_major_scales=True, tma_aligned_scales=True)
    assert tma.shape == (m, groups)
    if m > 0:
        assert tma.stride() == (1, (m + 3) // 4 * 4)
    _, ignored = ref.per_token_group_quant_fp8(x, 128, tma_aligned_scales=True)
    assert ignored.stride() == s.stride()
    for t in (col, tma, ignored):
        assert torch.equal(t.cpu(), s.cpu())
    _, i8 = ref.per_token_group_quant_int8(x, 128, column_major_scales=True)
    assert i8.shape == (m, groups) and (m == 0 or i8.stride() == (1, m))


def test_nd_scale_shapes(device):
    x = torch.randn((2, 3, 256), device=device)
    q, s = ref.per_token_group_quant_fp8(x, 64)
    assert q.shape == x.shape and s.shape == (2, 3, 4)
    _, col = ref.per_token_group_quant_fp8(x, 64, column_major_scales=True)
    assert col.shape == (6, 4) and col.stride() == (1, 6)
    assert torch.equal(col.cpu(), s.reshape(6, 4).cpu())
    q1, s1 = ref.per_token_group_quant_fp8(x[0, 0], 64)
    assert q1.shape == (256,) and s1.shape == (4,)


@pytest.mark.parametrize("m,groups", [(1, 1), (3, 4), (5, 5), (8, 9), (0, 3), (4, 0)])
def test_packed_layout(m, groups, device):
    g = 32
    x = torch.randn((m, groups * g), device=device) * 1000
    q, s = ref.per_token_group_quant_8bit_packed(x, g)
    cols, rows = (groups + 3) // 4, (m + 3) // 4 * 4
    assert s.dtype == torch.int32 and s.shape == (m, cols)
    if m > 0 and cols > 0:
        assert s.stride() == (1, rows)
    assert s.untyped_storage().nbytes() == 4 * cols * rows
    whole = torch.empty(0, dtype=torch.int32, device=device).set_(s.untyped_storage()).cpu()
    whole = whole.view(torch.uint8).reshape(cols, rows, 4)
    _, s_logical = ref.quantize_reference(x, g, 1e-10, -448.0, 448.0, torch.float8_e4m3fn, True)
    want = torch.zeros((cols, rows, 4), dtype=torch.uint8)
    for r in range(m):
        for grp in range(groups):
            want[grp // 4, r, grp % 4] = ref.ue8m0_byte(s_logical[r, grp].cpu().reshape(1)).item()
    assert torch.equal(whole, want)


def test_default_dtypes():
    if torch.version.hip is None:
        assert ref.default_fp8_dtype() == torch.float8_e4m3fn
    assert ref.default_qmax(torch.float8_e4m3fn) == 448.0
    assert ref.default_qmax(torch.float8_e4m3fnuz) == 224.0
    assert ref.default_qmax(torch.int8) == 127.0 and ref.default_qmin(torch.int8) == -128.0
    assert ref.default_qmin(torch.float8_e4m3fn) == -448.0


def test_format_table_is_the_contracts():
    """groupquant._formats against docs/contract.md's "Formats" table, written
    out again here so that a slip in the table cannot pass unnoticed."""
    want = {torch.float8_e4m3fn: (-448.0, 448.0, -448.0, 448.0, 7, 0x7F),
            torch.float8_e4m3fnuz: (-240.0, 240.0, -224.0, 224.0, 8, 0x80),
            torch.int8: (-128.0, 127.0, -128.0, 127.0, 0, 0x00)}
    assert {d: tuple(row) for d, row in _formats.FORMATS.items()} == want
    for dtype in FP8_DTYPES:
        assert _formats.traits(dtype).finite_max == torch.finfo(dtype).max
        assert _formats.traits(dtype).finite_min == torch.finfo(dtype).min
    assert (_formats.traits(torch.int8).finite_min, _formats.traits(torch.int8).finite_max) == (
        torch.iinfo(torch.int8).min, torch.iinfo(torch.int8).max)
    with pytest.raises(RuntimeError, match="dtype must be torch.float8_e4m3fn"):
        _formats.traits(torch.float8_e5m2)


@pytest.mark.parametrize("dtype", FP8_DTYPES, ids=str)
def test_reference_out_q_is_filled(dtype, device):
    x = torch.randn((4, 128), device=device)
    out = torch.empty((4, 128), dtype=dtype, device=device)
    q, _ = ref.per_token_group_quant_fp8(x, 64, out_q=out, dtype=dtype)
    assert q is out
    want, _ = ref.per_token_group_quant_fp8(x, 64, dtype=dtype)
    assert torch.equal(out.view(torch.uint8), want.view(torch.uint8))
