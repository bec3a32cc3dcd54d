"""per_block_quant_fp8 / per_block_quant_int8 (weights, one scale per block)
against groupquant.reference, bit for bit: random, adversarial and edge
inputs, partial edge blocks, every format, poisoned outputs with guard
bytes, strided inputs; plus the reference's own definition checks."""

import math

import pytest
import torch

import groupquant
from consumer_testutil import CODE_DTYPES, FLOAT_DTYPES, check_block_quant
from gq_testutil import misaligned, q_bytes, random_input, strided_rows, tensor_from_values
from groupquant import reference as ref

SHAPES_BLOCKS = [
    ((256, 512), (128, 128)),   # whole blocks
    ((300, 520), (128, 128)),   # partial edge blocks in both dims
    ((1, 7), (128, 128)),       # one partial block smaller than a warp
    ((129, 129), (128, 128)),   # edge blocks of one row / one column
    ((64, 96), (16, 32)),
    ((33, 70), (1, 70)),        # per-row scales
    ((17, 300), (17, 1)),       # per-column scales
    ((5, 1000), (3, 257)),      # block_k beyond one thread block's width
]


@pytest.mark.parametrize("shape,block", SHAPES_BLOCKS)
@pytest.mark.parametrize("out_dtype", CODE_DTYPES)
def test_random_matches_reference(shape, block, out_dtype, device, gen):
    for in_dtype in FLOAT_DTYPES:
        w = random_input(shape, in_dtype, gen, device)
        for ue8m0 in (False, True):
            check_block_quant(w, block, out_dtype, ue8m0=ue8m0)


@pytest.mark.parametrize("s_layout", ["row", "col"])
def test_scale_layouts_and_guard_bytes(s_layout, device, gen):
    w = random_input((300, 520), torch.bfloat16, gen, device)
    check_block_quant(w, (128, 128), torch.float8_e4m3fn, s_layout=s_layout, s_pad=3, q_pad=5)


def test_strided_and_misaligned_inputs(device, gen):
    x = random_input((130, 260), torch.bfloat16, gen)
    for view in (strided_rows(x, 7).to(device), misaligned(x.to(device), offset=1, pad=3)):
        check_block_quant(view, (64, 128), torch.float8_e4m3fn, context="strided")
    w = random_input((8, 256), torch.float32, gen, device)
    check_block_quant(w[::2], (2, 128), torch.int8, context="every other row")


def test_adversarial_values(device):
    """Ties, saturation, subnormals, huge and tiny magnitudes, signed zeros,
    NaN and Inf: a non-finite value changes only its own block."""
    vals = [0.0, -0.0, 1.0, -1.0, 448.0, -448.0, 3.4e38, -3.4e38, 1e-40, -1e-45, 1e-10, 2.0 ** -20,
            float("nan"), float("inf"), float("-inf"), 0.5, 1.5, 2.5, 1.0625, 1.1875, 240.0, 224.0, 7.0, 6.5]
    rng = torch.Generator().manual_seed(7)
    for in_dtype in FLOAT_DTYPES:
        base = tensor_from_values(vals * 12, dtype=torch.float32)
        w = base[torch.randperm(base.numel(), generator=rng)][:24 * 12].reshape(24, 12)
        w = w.to(in_dtype).to(device)
        for out_dtype in CODE_DTYPES:
            for ue8m0 in (False, True):
                check_block_quant(w, (4, 4), out_dtype, ue8m0=ue8m0)
                check_block_quant(w, (24, 12), out_dtype, ue8m0=ue8m0)


def test_non_finite_confined_to_its_block(device, gen):
    w = random_input((256, 256), torch.float32, gen, device)
    w[3, 5] = float("nan")
    w[200, 130] = float("inf")
    q, s = check_block_quant(w, (128, 128), torch.float8_e4m3fn)
    assert math.isinf(s[1, 1].item()), "the Inf block's scale is +Inf"
    assert torch.isfinite(s[0]).all() and math.isfinite(s[1, 0].item())


def test_eps_and_zero_blocks(device):
    w = torch.zeros((130, 130), device=device)
    w[129, 129] = 1e-30
    for eps in (1e-10, 0.0, 1e-4):
        for ue8m0 in (False, True):
            q, s = check_block_quant(w, (128, 128), torch.float8_e4m3fn, eps=eps, ue8m0=ue8m0)
    q, s = check_block_quant(w, (128, 128), torch.float8_e4m3fn, ue8m0=True)
    assert (s.cpu().view(torch.int32) >> 23)[0, 0].item() == 0x5E, "all-zero block: UE8M0 byte 0x5E"


def test_custom_bounds(device, gen):
    w = random_input((64, 64), torch.bfloat16, gen, device)
    check_block_quant(w, (32, 32), torch.float8_e4m3fnuz, qmin=-240.0, qmax=240.0)
    check_block_quant(w, (32, 32), torch.int8, qmin=-100.0, qmax=100.0)


def test_empty(device):
    for shape in ((0, 256), (256, 0), (0, 0)):
        w = torch.empty(shape, device=device)
        q, s = groupquant.per_block_quant_fp8(w)
        assert q.shape == shape and s.shape == (math.ceil(shape[0] / 128), math.ceil(shape[1] / 128))
        qr, sr = ref.per_block_quant_fp8(w.cpu(), dtype=q.dtype)
        assert qr.shape == q.shape and sr.shape == s.shape


def test_public_api_matches_reference(device, gen):
    w = random_input((300, 520), torch.bfloat16, gen, device)
    for kwargs in ({}, {"use_ue8m0": True}, {"dtype": torch.float8_e4m3fnuz}, {"block_size": (64, 32)}):
        q, s = groupquant.per_block_quant_fp8(w, **kwargs)
        qr, sr = ref.per_block_quant_fp8(w.cpu(), **{"dtype": q.dtype, **kwargs})
        assert q.dtype == qr.dtype and s.shape == sr.shape and s.is_contiguous()
        assert torch.equal(q_bytes(q), q_bytes(qr)) and torch.equal(s.cpu().view(torch.int32), sr.view(torch.int32))
    q, s = groupquant.per_block_quant_int8(w, (128, 64))
    qr, sr = ref.per_block_quant_int8(w.cpu(), (128, 64))
    assert torch.equal(q.cpu(), qr) and torch.equal(s.cpu(), sr)


def test_public_api_rejects(device):
    w = torch.randn((4, 8), device=device)
    with pytest.raises(RuntimeError, match="block_size"):
        groupquant.per_block_quant_fp8(w, block_size=(0, 128))
    with pytest.raises(RuntimeError, match="block_size"):
        groupquant.per_block_quant_fp8(w, block_size=128)
    with pytest.raises(RuntimeError, match="input"):
        groupquant.per_block_quant_fp8(w.reshape(2, 2, 8))
    with pytest.raises(RuntimeError, match="dtype"):
        groupquant.per_block_quant_fp8(w, dtype=torch.int8)
    with pytest.raises(RuntimeError, match="dtype"):
        groupquant.per_block_quant_int8(w, dtype=torch.float8_e4m3fn)


# ------------------------------------------------- the reference's definition

def test_reference_block_is_the_group_op_on_the_block():
    """A block's scale and bytes equal the group op's on the block's elements
    laid out as one group (same math, the block in place of the group)."""
    gen = torch.Generator().manual_seed(3)
    w = random_input((200, 300), torch.bfloat16, gen)
    for ue8m0 in (False, True):
        q, s = ref.per_block_quant_fp8(w, (64, 128), use_ue8m0=ue8m0)
        for bi, bj in ((0, 0), (3, 2), (1, 1)):
            blk = w[bi * 64:(bi + 1) * 64, bj * 128:(bj + 1) * 128]
            qg, sg = ref.quantize_reference(blk.reshape(1, -1), blk.numel(), 1e-10, -448.0, 448.0,
                                            torch.float8_e4m3fn, ue8m0)
            assert sg.view(torch.int32).item() == s[bi, bj].view(torch.int32).item()
            assert torch.equal(qg.reshape(blk.shape).view(torch.uint8),
                               q[bi * 64:(bi + 1) * 64, bj * 128:(bj + 1) * 128].view(torch.uint8))


def test_reference_huge_block_clipped():
    w = torch.randn((3, 5))
    q, s = ref.per_block_quant_fp8(w, (1 << 40, 1 << 40))
    assert s.shape == (1, 1)
    assert s.item() == (w.abs().max() / torch.tensor(448.0)).item()

