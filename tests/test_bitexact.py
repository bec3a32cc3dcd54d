"""The backend against groupquant.reference, byte for byte.

Outputs are poisoned before every call, so a byte the kernel forgot to
write (or wrote outside the view) shows up as a mismatch.
"""

import math

import pytest
import torch

import groupquant
from gq_testutil import (FP8_DTYPES, IN_DTYPES, OPS, OUT_DTYPES, STRIDED_LAYOUTS, alloc_q,
                         assert_same_bits, check_against_reference, expected, f32_bits, misaligned,
                         poison_, q_bytes, random_input, run_op, strided_rows, untouched_outside_view)
from groupquant import _layouts
from groupquant import reference as ref


def _variants():
    """(out_dtype, layout, ue8m0) for every op and layout."""
    out = [(d, lay, u) for d in FP8_DTYPES for lay in STRIDED_LAYOUTS for u in (False, True)]
    out += [(torch.int8, lay, False) for lay in STRIDED_LAYOUTS]
    out += [(d, "packed", True) for d in OUT_DTYPES]
    return out


VARIANTS = _variants()


def _vid(v):
    return f"{str(v[0]).replace('torch.', '')}-{v[1]}-{'ue8m0' if v[2] else 'f32'}"


@pytest.mark.parametrize("variant", VARIANTS, ids=_vid)
@pytest.mark.parametrize("in_dtype", IN_DTYPES, ids=str)
def test_dtypes_and_layouts(in_dtype, variant, device, gen):
    out_dtype, layout, ue8m0 = variant
    x = random_input((37, 512), in_dtype, gen, device, spread=20)
    check_against_reference(x, 128, out_dtype, layout, ue8m0)


@pytest.mark.parametrize("group_size", [32, 64, 128, 256, 96, 48, 16])
@pytest.mark.parametrize("variant", [(torch.float8_e4m3fn, "tma", False), (torch.float8_e4m3fnuz, "row", True),
                                     (torch.int8, "col", False), (torch.float8_e4m3fn, "packed", True)], ids=_vid)
@pytest.mark.parametrize("in_dtype", [torch.bfloat16, torch.float32], ids=str)
def test_group_sizes(group_size, variant, in_dtype, device, gen):
    out_dtype, layout, ue8m0 = variant
    for groups in (1, 3, 5, 8):
        x = random_input((19, group_size * groups), in_dtype, gen, device)
        check_against_reference(x, group_size, out_dtype, layout, ue8m0)


@pytest.mark.parametrize("m", [0, 1, 2, 3, 4, 5, 7, 8, 31, 33, 257, 4099])
@pytest.mark.parametrize("variant", [(torch.float8_e4m3fn, "tma", True), (torch.float8_e4m3fn, "row", False),
                                     (torch.int8, "col", False), (torch.float8_e4m3fnuz, "packed", True)], ids=_vid)
def test_row_counts(m, variant, device, gen):
    out_dtype, layout, ue8m0 = variant
    x = random_input((m, 384), torch.bfloat16, gen, device)
    check_against_reference(x, 128, out_dtype, layout, ue8m0)


@pytest.mark.parametrize("shape", [(2, 3, 256), (2, 0, 256), (256,), (1, 1, 1, 128), (4, 5, 384), (3, 0),
                                   (2, 5, 3, 256), (0, 0)],
                         ids=str)
@pytest.mark.parametrize("variant", VARIANTS[::2] + [(torch.int8, "col", False)], ids=_vid)
def test_nd_and_empty_inputs(shape, variant, device, gen):
    out_dtype, layout, ue8m0 = variant
    x = random_input(shape, torch.float16, gen, device)
    check_against_reference(x, 128, out_dtype, layout, ue8m0)


@pytest.mark.parametrize("variant", VARIANTS, ids=_vid)
def test_strided_rows(variant, device, gen):
    out_dtype, layout, ue8m0 = variant
    base = random_input((24, 256), torch.bfloat16, gen, device)
    check_against_reference(strided_rows(base, 64), 128, out_dtype, layout, ue8m0, context="padded rows")
    check_against_reference(base[::3], 128, out_dtype, layout, ue8m0, context="every third row")
    wide = random_input((10, 1024), torch.float32, gen, device)
    check_against_reference(wide[:, 256:640], 128, out_dtype, layout, ue8m0, context="column slice")
    nd = random_input((4, 6, 256), torch.float32, gen, device)[:, ::2]
    check_against_reference(nd, 64, out_dtype, layout, ue8m0, context="N-D, strided middle dim")


@pytest.mark.parametrize("in_dtype", IN_DTYPES, ids=str)
@pytest.mark.parametrize("variant", [(torch.float8_e4m3fn, "row", False), (torch.float8_e4m3fnuz, "tma", True),
                                     (torch.int8, "row", False), (torch.float8_e4m3fn, "packed", True)], ids=_vid)
@pytest.mark.parametrize("offset,pad", [(1, 1), (3, 0), (1, 5), (7, 3), (0, 1), (0, 8)])
def test_unaligned_input(in_dtype, variant, offset, pad, device, gen):
    out_dtype, layout, ue8m0 = variant
    x = misaligned(random_input((13, 384), in_dtype, gen, device), offset, pad)
    check_against_reference(x, 128, out_dtype, layout, ue8m0, context=f"offset {offset} pad {pad}")


@pytest.mark.parametrize("dtype", FP8_DTYPES, ids=str)
@pytest.mark.parametrize("offset,pad", [(0, 0), (1, 1), (5, 16), (2, 3), (3, 0)])
@pytest.mark.parametrize("in_dtype", IN_DTYPES, ids=str)
def test_out_q_strided_and_unaligned(in_dtype, dtype, offset, pad, device, gen):
    m, k = 11, 256
    x = random_input((m, k), in_dtype, gen, device)
    buf = alloc_q((offset + m * (k + pad) + 16,), dtype, device)
    out_q = buf.as_strided((m, k), (k + pad, 1), offset)
    q, s = run_op(x, 64, dtype, "row", out_q=out_q)
    q_want, s_want = expected(x, 64, dtype)
    assert_same_bits(q_bytes(q), q_bytes(q_want), "q (into out_q)")
    assert_same_bits(s.cpu().view(torch.int32), s_want.view(torch.int32), "s")
    untouched_outside_view(out_q, "out_q gaps")


@pytest.mark.parametrize("out_dtype", [torch.float8_e4m3fn, torch.int8], ids=str)
@pytest.mark.parametrize("in_dtype", IN_DTYPES, ids=str)
def test_scales_with_padded_row_stride(in_dtype, out_dtype, device, gen):
    """Row-major scales that are a slice of a wider buffer: the values land
    in the view, the gap after each row stays untouched."""
    m, k, g = 40, 1024, 128
    x = random_input((m, k), in_dtype, gen, device)
    s = poison_(torch.empty((m, k // g + 5), dtype=torch.float32, device=device))[:, : k // g]
    q = alloc_q((m, k), out_dtype, device)
    lo, hi = ref.default_qmin(out_dtype), ref.default_qmax(out_dtype)
    if out_dtype == torch.int8:
        OPS.per_token_group_quant_int8(x, q, s, g, 1e-10, lo, hi)
    else:
        OPS.per_token_group_fp8_quant(x, q, s, g, 1e-10, lo, hi, False)
    q_want, s_want = expected(x, g, out_dtype)
    assert_same_bits(q_bytes(q), q_bytes(q_want), "q")
    assert_same_bits(f32_bits(s), f32_bits(s_want), "s (row stride K/G + 5)")
    untouched_outside_view(s, "gaps between scale rows")


@pytest.mark.parametrize("variant", [(torch.float8_e4m3fn, "row", False), (torch.float8_e4m3fnuz, "col", True),
                                     (torch.int8, "row", False), (torch.int8, "packed", True)], ids=_vid)
@pytest.mark.parametrize("eps", [0.0, 1e-30, 1e-4, 1.0, 1e30])
def test_eps(variant, eps, device, gen):
    out_dtype, layout, ue8m0 = variant
    x = random_input((33, 256), torch.float32, gen, device, spread=40)
    x[:3] = 0.0
    check_against_reference(x, 64, out_dtype, layout, ue8m0, eps=eps)


@pytest.mark.parametrize("out_dtype,qmin,qmax", [
    (torch.float8_e4m3fnuz, -240.0, 240.0), (torch.float8_e4m3fnuz, -224.0, 224.0),
    (torch.float8_e4m3fn, -100.0, 100.0), (torch.float8_e4m3fn, -448.0, 3.5),
    (torch.float8_e4m3fn, -1.0, 448.0), (torch.int8, -127.0, 127.0), (torch.int8, -5.5, 100.25)], ids=str)
@pytest.mark.parametrize("layout", ["row", "packed"])
def test_custom_bounds(out_dtype, qmin, qmax, layout, device, gen):
    x = random_input((29, 512), torch.bfloat16, gen, device, spread=10)
    check_against_reference(x, 128, out_dtype, layout, layout == "packed", qmin=qmin, qmax=qmax)


# The GPU kernel picks, per launch, whether to clamp to [qmin, qmax] or let
# the encoder saturate, and for e4m3fnuz whether to go through the e4m3fn
# conversion (bounds inside +-224) or the software encoder
# (gpu/launch/quant_launch.cuh, encode_mode). Each mode, with and without
# UE8M0, on finite and on non-finite inputs; the "biting" bounds have
# qmin > -qmax, so quotients below qmin really are clamped.
ENCODER_MODES = [
    ("fn-saturate", torch.float8_e4m3fn, -448.0, 448.0),
    ("fn-clamp", torch.float8_e4m3fn, -448.0, 300.0),
    ("fn-clamp-biting", torch.float8_e4m3fn, -100.0, 448.0),
    ("fnuz-via-fn-saturate", torch.float8_e4m3fnuz, -224.0, 224.0),
    ("fnuz-via-fn-clamp", torch.float8_e4m3fnuz, -100.0, 200.0),
    ("fnuz-software-saturate", torch.float8_e4m3fnuz, -240.0, 240.0),
    ("fnuz-software-clamp", torch.float8_e4m3fnuz, -230.0, 230.0),
    ("fnuz-software-clamp-biting", torch.float8_e4m3fnuz, -100.0, 240.0),
    ("int8-saturate", torch.int8, -128.0, 127.0),
    ("int8-clamp", torch.int8, -100.0, 100.0),
    ("int8-clamp-biting", torch.int8, -50.0, 127.0),
]

_SPECIALS = (math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-40, -1e-40, 3e38, -3e38, 448.0, 1e-8)


def _with_specials(x, gen):
    """x with about one element in 50 replaced by a non-finite, signed-zero,
    subnormal or huge value."""
    flat = x.view(-1)
    picks = torch.randint(0, flat.numel(), (max(1, flat.numel() // 50),), generator=gen)
    values = torch.tensor(_SPECIALS, dtype=torch.float32)
    flat[picks] = values[torch.randint(0, len(_SPECIALS), picks.shape, generator=gen)].to(x.dtype)
    return x


@pytest.mark.parametrize("mode,out_dtype,qmin,qmax", ENCODER_MODES, ids=[m[0] for m in ENCODER_MODES])
@pytest.mark.parametrize("ue8m0", [False, True], ids=["f32", "ue8m0"])
@pytest.mark.parametrize("specials", [False, True], ids=["finite", "specials"])
@pytest.mark.parametrize("in_dtype", IN_DTYPES, ids=str)
def test_custom_bounds_every_encoder_mode(mode, out_dtype, qmin, qmax, ue8m0, specials, in_dtype, device, gen):
    x = random_input((40, 1024), in_dtype, gen, device=torch.device("cpu"), spread=10)
    if specials:
        x = _with_specials(x, gen)
    # int8 has UE8M0 scales only through the packed op.
    layout = "packed" if ue8m0 and out_dtype == torch.int8 else "row"
    check_against_reference(x.to(device), 128, out_dtype, layout, ue8m0, qmin=qmin, qmax=qmax, context=mode)


# Shapes that reach each GPU vectorization path: 1..16 lanes per group,
# 1/2/4-vector loads, chunk tails, the generic (odd group size) path, packed
# padding rows, the small shape's two vectors per lane (2^11 to 2^14 groups
# of 128 16-bit values: 70 x 7168, 250 x 4096, and 501 x 640 with a
# partial UE8M0 word per row and padding rows; packed from 2^9: 10 x 7168
# with padding rows), column-ordered items for column-major scales below
# 2^16 groups (the tma variant; 4097 x 7168 keeps row order). (in_dtype,
# M, K, G). The two largest only on GPU backends: they add little to the
# CPU kernel's checks and a minute to its target.
_GPU = pytest.mark.gpu_only
KERNEL_SHAPES = [
    (torch.bfloat16, 1, 7168, 128), (torch.bfloat16, 3, 7168, 128), (torch.bfloat16, 5, 7168, 128),
    (torch.bfloat16, 16, 7168, 128), (torch.bfloat16, 1000, 7168, 128),
    pytest.param(torch.bfloat16, 4097, 7168, 128, marks=_GPU),
    (torch.bfloat16, 33, 128, 128), (torch.bfloat16, 7, 384, 128), (torch.bfloat16, 9, 640, 128),
    (torch.bfloat16, 13, 256, 64), (torch.bfloat16, 13, 64, 32), (torch.bfloat16, 13, 32, 16),
    (torch.bfloat16, 13, 16, 8), (torch.bfloat16, 6, 8, 8), (torch.bfloat16, 11, 512, 256),
    (torch.bfloat16, 11, 1536, 512), (torch.bfloat16, 11, 2048, 1024), (torch.bfloat16, 11, 384, 96),
    (torch.bfloat16, 11, 300, 100), (torch.bfloat16, 3, 21, 7), (torch.bfloat16, 4, 5, 1),
    (torch.bfloat16, 2, 14336, 7168), (torch.float32, 7, 512, 128), (torch.float32, 7, 256, 4),
    (torch.float32, 7, 64, 2), (torch.float32, 5, 3072, 1024), (torch.float16, 7, 1024, 128),
    (torch.float16, 7, 72, 24), pytest.param(torch.float32, 2000, 4096, 128, marks=_GPU),
    (torch.float16, 300, 7168, 128), (torch.float16, 70, 7168, 128), (torch.bfloat16, 250, 4096, 128),
    (torch.bfloat16, 501, 640, 128), (torch.bfloat16, 10, 7168, 128),
]


def _shape_id(p):
    d, m, k, g = p.values if hasattr(p, "values") else p
    return f"{str(d)[6:]}-{m}x{k}-G{g}"


@pytest.mark.parametrize("in_dtype,m,k,g", KERNEL_SHAPES, ids=[_shape_id(p) for p in KERNEL_SHAPES])
@pytest.mark.parametrize("variant", [(torch.float8_e4m3fn, "row", False), (torch.int8, "row", False),
                                     (torch.float8_e4m3fn, "tma", False), (torch.int8, "tma", False),
                                     (torch.float8_e4m3fn, "packed", True)], ids=_vid)
def test_kernel_shape_paths(in_dtype, m, k, g, variant, device, gen):
    out_dtype, layout, ue8m0 = variant
    x = random_input((m, k), in_dtype, gen, device)
    check_against_reference(x, g, out_dtype, layout, ue8m0, context=f"M={m} K={k} G={g}")


# ----------------------------------------------------------- public API

def _api_pairs(x, g):
    for dtype in FP8_DTYPES:
        for col, tma, ue in ((False, False, False), (True, False, True), (True, True, False), (False, True, True)):
            kw = dict(dtype=dtype, column_major_scales=col, tma_aligned_scales=tma, use_ue8m0=ue)
            yield (f"fp8 {kw}", groupquant.per_token_group_quant_fp8(x, g, **kw),
                   ref.per_token_group_quant_fp8(x.cpu(), g, **kw))
    for col in (False, True):
        yield (f"int8 col={col}", groupquant.per_token_group_quant_int8(x, g, column_major_scales=col),
               ref.per_token_group_quant_int8(x.cpu(), g, column_major_scales=col))
    for dtype in OUT_DTYPES:
        yield (f"packed {dtype}", groupquant.per_token_group_quant_8bit_packed(x, g, dtype=dtype),
               ref.per_token_group_quant_8bit_packed(x.cpu(), g, dtype=dtype))


@pytest.mark.parametrize("shape", [(7, 512), (2, 5, 256), (0, 256), (384,)], ids=str)
def test_public_api_matches_reference(shape, device, gen):
    x = random_input(shape, torch.bfloat16, gen, device)
    for label, (q, s), (q_ref, s_ref) in _api_pairs(x, 128):
        assert q.device == x.device and s.device == x.device, label
        assert q.shape == q_ref.shape and s.shape == s_ref.shape, label
        assert s.stride() == s_ref.stride() or s.numel() == 0, f"{label}: strides {s.stride()} != {s_ref.stride()}"
        assert_same_bits(q_bytes(q), q_bytes(q_ref), "q", label)
        if s.dtype == torch.int32:
            assert_same_bits(_layouts.packed_whole_buffer(s).cpu(), _layouts.packed_whole_buffer(s_ref), "s", label)
        else:
            assert_same_bits(s.cpu().contiguous().view(torch.int32), s_ref.contiguous().view(torch.int32), "s", label)


def test_public_api_out_q(device, gen):
    x = random_input((6, 256), torch.float32, gen, device)
    for dtype in FP8_DTYPES:
        out = alloc_q((6, 256), dtype, device)
        q, s = groupquant.per_token_group_quant_fp8(x, 128, out_q=out)
        assert q is out
        q_ref, s_ref = ref.per_token_group_quant_fp8(x.cpu(), 128, dtype=dtype)
        assert_same_bits(q_bytes(out), q_bytes(q_ref), "out_q")
        assert_same_bits(s.cpu().view(torch.int32), s_ref.view(torch.int32), "s")


def test_default_dtype_is_platform_fp8(device):
    x = torch.randn((2, 128), device=device)
    q, _ = groupquant.per_token_group_quant_fp8(x, 128)
    assert q.dtype == ref.default_fp8_dtype(device)
    q, _ = groupquant.per_token_group_quant_8bit_packed(x)
    assert q.dtype == ref.default_fp8_dtype(device)


# ------------------------------------------------------------ big sizes

@pytest.mark.slow
def test_more_than_2_pow_31_elements(device, gen):
    """64-bit indexing: rows past element 2^31 must be right (checked row-wise),
    in every scale layout; the packed padding rows past M must be zero."""
    k, g = 4096, 128
    m = (1 << 31) // k + 3
    block = random_input((64, k), torch.bfloat16, gen, device)
    x = torch.empty((m, k), dtype=torch.bfloat16, device=device)
    full = m // 64 * 64
    x[:full].view(-1, 64, k).copy_(block.expand(full // 64, 64, k))
    x[full:] = block[: m - full]
    tail_rows = torch.arange(m - 8, m)
    x[tail_rows] = random_input((8, k), torch.bfloat16, gen, device, spread=30)
    rows = torch.cat([torch.tensor([0, 1, m // 2, (1 << 31) // k - 1, (1 << 31) // k]), tail_rows])
    for layout, ue8m0 in (("row", False), ("col", False), ("tma", True), ("packed", True)):
        q, s = run_op(x, g, torch.float8_e4m3fn, layout, ue8m0=ue8m0)
        q_want, s_want = ref.quantize_reference(x[rows].cpu(), g, 1e-10, -448.0, 448.0, torch.float8_e4m3fn, ue8m0)
        assert_same_bits(q[rows].cpu().view(torch.uint8), q_want.view(torch.uint8), f"q rows {layout}")
        if layout == "packed":
            # Row r's words are contiguous after .contiguous(); LE bytes = groups.
            exp_bytes = s.cpu().contiguous().view(torch.uint8).reshape(m, -1)[rows, : k // g]
            assert_same_bits(exp_bytes, ref.ue8m0_byte(s_want), "s_packed bytes")
            padding = _layouts.packed_whole_buffer(s).view(-1, _layouts.round_up(m, 4))[:, m:].cpu()
            assert bool((padding == 0).all()), f"packed padding rows not zero: {padding.unique().tolist()}"
        else:
            assert_same_bits(s[rows].cpu().contiguous().view(torch.int32), s_want.view(torch.int32),
                             f"s rows {layout}")
        del q, s
