"""dequantize_per_token_group (every scale layout the quant ops return) and
dequantize_per_block against groupquant.reference, bit for bit, plus round
trips: quantize with groupquant, dequantize with groupquant, compare with
the reference's dequantization of the reference's quantization."""

import math

import pytest
import torch

import groupquant
from consumer_testutil import CODE_DTYPES, FLOAT_DTYPES, block_scale_buffer, float_bits
from gq_testutil import OPS, poison_, random_input, untouched_outside_view
from groupquant import reference as ref

# (label, quant call) for every scale layout the group ops produce.
_GROUP_LAYOUTS = {
    "row": lambda m, x, G, dt: m.per_token_group_quant_fp8(x, G, dtype=dt),
    "col": lambda m, x, G, dt: m.per_token_group_quant_fp8(x, G, dtype=dt, column_major_scales=True),
    "tma ue8m0": lambda m, x, G, dt: m.per_token_group_quant_fp8(
        x, G, dtype=dt, column_major_scales=True, tma_aligned_scales=True, use_ue8m0=True),
    "packed": lambda m, x, G, dt: m.per_token_group_quant_8bit_packed(x, G, dtype=dt),
    "int8 row": lambda m, x, G, dt: m.per_token_group_quant_int8(x, G),
    "int8 col": lambda m, x, G, dt: m.per_token_group_quant_int8(x, G, column_major_scales=True),
}


def _poisoned_out(shape, dtype, device, pad=0):
    buf = torch.empty((*shape[:-1], shape[-1] + pad), dtype=dtype, device=device)
    return poison_(buf[..., :shape[-1]])


def _dequant_group_op(q, s, group_size, dtype, pad=3):
    out = _poisoned_out(q.shape, dtype, q.device, pad)
    OPS.dequantize_per_token_group(q, s, out, group_size)
    untouched_outside_view(out)
    return out


def _assert_equal_bits(got, want, label):
    assert got.shape == want.shape and got.dtype == want.dtype, label
    g, w = float_bits(got), float_bits(want)
    if not torch.equal(g, w):
        bad = (g != w).nonzero()[:5].tolist()
        raise AssertionError(f"{label}: {int((g != w).sum())} differ, e.g. at {bad}")


@pytest.mark.parametrize("layout", list(_GROUP_LAYOUTS))
@pytest.mark.parametrize("shape,G", [((17, 512), 128), ((3, 5, 256), 64), ((1, 640), 128), ((9, 96), 32)])
def test_group_round_trip(layout, shape, G, device, gen):
    """groupquant quant -> groupquant dequant == reference quant -> reference dequant."""
    if layout == "packed" or "col" in layout or "tma" in layout:
        shape = (math.prod(shape[:-1]), shape[-1])
    x = random_input(shape, torch.bfloat16, gen, device)
    fp8 = torch.float8_e4m3fn
    q, s = _GROUP_LAYOUTS[layout](groupquant, x, G, fp8)
    q_ref, s_ref = _GROUP_LAYOUTS[layout](ref, x.cpu(), G, fp8)
    assert s.stride() == s_ref.stride()
    for dtype in FLOAT_DTYPES:
        got = _dequant_group_op(q, s, G, dtype)
        want = ref.dequantize_per_token_group(q_ref, s_ref, G, dtype)
        _assert_equal_bits(got, want, f"{layout} {shape} G={G} -> {dtype}")
        api = groupquant.dequantize_per_token_group(q, s, G, dtype=dtype)
        _assert_equal_bits(api, want, f"api {layout} -> {dtype}")


def test_group_every_code_and_odd_scales(device):
    """Every 8-bit code of every format against scales spanning the float32
    range (subnormal products, overflow to Inf in fp16/bf16, Inf and NaN
    scales, zero)."""
    codes = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    scales = torch.tensor([1.0, 2.0 ** -33, 1e-38, 1e-45, 3e38, 65504.0 / 448, 1 / 3, 0.0, -0.0, float("inf"),
                           float("nan"), 7.5e-5, 2.0 ** 127, 1.7e38, 5e-8, 1.0009765625], dtype=torch.float32)
    groups = scales.numel()
    q8 = codes.repeat(groups, 1)  # [16, 256]: row r uses scale r
    for code_dtype in CODE_DTYPES:
        q = q8.view(code_dtype).reshape(groups, 256).to(device)
        # One group per row (G = 256): row-major [M, 1] scales.
        s = scales.reshape(groups, 1).to(device)
        for dtype in FLOAT_DTYPES:
            got = _dequant_group_op(q, s, 256, dtype)
            want = ref.dequantize_per_token_group(q.cpu(), s.cpu(), 256, dtype)
            _assert_equal_bits(got, want, f"{code_dtype} -> {dtype}")


def test_group_packed_every_byte(device):
    """Packed words built by hand: every exponent byte 0..255 (0 reads as a
    zero scale, 255 as +Inf), four groups per word, padding columns."""
    m, groups, G = 64, 6, 32
    byte = (torch.arange(m * 8, dtype=torch.int64) * 37 % 256).reshape(m, 8).to(torch.uint8)
    words = byte.view(torch.int32).reshape(m, 2)  # [m, ceil(6/4)]
    s = words.t().contiguous().t()  # column-major like the op's
    q = torch.randint(-128, 128, (m, groups * G), dtype=torch.int8)
    for code_dtype in CODE_DTYPES:
        qv = q.view(code_dtype)
        for dtype in FLOAT_DTYPES:
            got = _dequant_group_op(qv.to(device), s.to(device), G, dtype)
            want = ref.dequantize_per_token_group(qv, s, G, dtype)
            _assert_equal_bits(got, want, f"packed bytes {code_dtype} -> {dtype}")


def test_group_strided_q_and_scales(device, gen):
    x = random_input((40, 512), torch.float32, gen, device)
    q, s = groupquant.per_token_group_quant_fp8(x, 128)
    q_wide = torch.zeros((40, 600), dtype=q.dtype, device=device)
    q_wide[:, :512] = q
    q_view = q_wide[:, :512]
    s_wide = torch.zeros((40, 9), dtype=torch.float32, device=device)
    s_wide[:, 2:6] = s
    got = _dequant_group_op(q_view, s_wide[:, 2:6], 128, torch.bfloat16)
    _assert_equal_bits(got, ref.dequantize_per_token_group(q.cpu(), s.cpu(), 128), "strided")


@pytest.mark.parametrize("shape,block", [((256, 512), (128, 128)), ((300, 520), (128, 128)), ((7, 9), (2, 4)),
                                         ((33, 300), (1, 300))])
@pytest.mark.parametrize("code_dtype", CODE_DTYPES)
def test_block_round_trip(shape, block, code_dtype, device, gen):
    w = random_input(shape, torch.bfloat16, gen, device)
    if code_dtype == torch.int8:
        q, s = groupquant.per_block_quant_int8(w, block)
        q_ref, s_ref = ref.per_block_quant_int8(w.cpu(), block)
    else:
        q, s = groupquant.per_block_quant_fp8(w, block, dtype=code_dtype)
        q_ref, s_ref = ref.per_block_quant_fp8(w.cpu(), block, dtype=code_dtype)
    for dtype in FLOAT_DTYPES:
        out = _poisoned_out(shape, dtype, device, pad=2)
        OPS.dequantize_per_block(q, s, out, block[0], block[1])
        untouched_outside_view(out)
        want = ref.dequantize_per_block(q_ref, s_ref, block, dtype)
        _assert_equal_bits(out, want, f"block {shape} {block} {code_dtype} -> {dtype}")
        _assert_equal_bits(groupquant.dequantize_per_block(q, s, block, dtype), want, "api")
        # The transposed scales torch._scaled_mm takes read the same values.
        s_col = block_scale_buffer(*shape, block, device, "col", pad=1)
        s_col.copy_(s)
        _assert_equal_bits(groupquant.dequantize_per_block(q, s_col, block, dtype), want, "column-major s")


def test_block_adversarial_scales(device):
    q = torch.arange(256, dtype=torch.int32).to(torch.uint8).reshape(16, 16)
    s = torch.tensor([[1e-45, 3e38], [float("inf"), float("nan")], [0.0, 2.0 ** -126]] * 3,
                     dtype=torch.float32)[:8].reshape(8, 2)
    for code_dtype in CODE_DTYPES:
        qv = q.view(code_dtype)
        for dtype in FLOAT_DTYPES:
            got = groupquant.dequantize_per_block(qv.to(device), s.to(device), (2, 8), dtype)
            _assert_equal_bits(got, ref.dequantize_per_block(qv, s, (2, 8), dtype), f"{code_dtype} -> {dtype}")


def test_dequant_empty(device):
    q = torch.empty((0, 256), dtype=torch.float8_e4m3fn, device=device)
    assert groupquant.dequantize_per_token_group(q, torch.empty((0, 2), device=device), 128).shape == (0, 256)
    assert groupquant.dequantize_per_block(q, torch.empty((0, 2), device=device)).shape == (0, 256)


# ------------------------------------------------- the reference's definition

def test_reference_dequant_is_product_rounded_once():
    gen = torch.Generator().manual_seed(5)
    x = random_input((8, 256), torch.float32, gen)
    q, s = ref.per_token_group_quant_fp8(x, 128)
    f32 = ref.dequantize_per_token_group(q, s, 128, torch.float32)
    by_hand = q.to(torch.float32).reshape(8, 2, 128) * s.unsqueeze(-1)
    assert torch.equal(f32, by_hand.reshape(8, 256))
    assert torch.equal(ref.dequantize_per_token_group(q, s, 128, torch.bfloat16), by_hand.reshape(8, 256).bfloat16())


def test_reference_canonical_nan():
    q = torch.tensor([[0xFF, 0x7F]], dtype=torch.uint8).view(torch.float8_e4m3fn)
    s = torch.tensor([[1.0]])
    for dtype, bits in ((torch.float32, 0x7FC00000), (torch.bfloat16, 0x7FC0), (torch.float16, 0x7E00)):
        out = ref.dequantize_per_token_group(q, s, 2, dtype)
        assert (float_bits(out) == bits).all(), dtype


def test_reference_packed_matches_bench_decoding():
    from groupquant.bench.accuracy import packed_scales
    gen = torch.Generator().manual_seed(1)
    x = random_input((10, 640), torch.bfloat16, gen)
    q, s = ref.per_token_group_quant_8bit_packed(x, 128)
    assert torch.equal(ref.unpack_ue8m0(s, 10, 5), packed_scales(s, 5))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_output_rounding_dense(dtype, device):
    """The float32 -> dtype rounding of the kernels against torch's, over a
    dense sample of all float32 bit patterns (every 251st, plus every pattern
    around the float16 subnormal/normal and overflow boundaries): with q = 1
    the product is the scale itself, exactly."""
    strided = torch.arange(0, 2 ** 32, 251, dtype=torch.int64)
    edges = [0x33000000, 0x387FC000, 0x38800000 - 4096, 0x477FE000, 0x7F7F0000, 0x7F800000 - 8]
    dense = torch.cat([torch.arange(e, e + 8192, dtype=torch.int64) for e in edges])
    bits = torch.cat([strided, dense, dense | 0x80000000])
    scales = (bits - ((bits >= 2 ** 31).to(torch.int64) << 32)).to(torch.int32).view(torch.float32)
    m = scales.numel()
    q = torch.ones((m, 1), dtype=torch.int8)
    want = ref.dequantize_per_token_group(q, scales.reshape(m, 1), 1, dtype)
    got = groupquant.dequantize_per_token_group(q.to(device), scales.reshape(m, 1).to(device), 1, dtype)
    _assert_equal_bits(got, want, f"dense rounding -> {dtype}")
