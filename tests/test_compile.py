"""The ops under PyTorch's machinery: opcheck (schema, fake impls, autograd
registration, AOT dispatch), torch.compile(fullgraph=True), and on GPUs
CUDA-graph capture/replay, non-default streams and a second device."""

import pytest
import torch
from torch.library import opcheck

import groupquant
from gq_testutil import (FP8_DTYPES, OPS, alloc_q, alloc_scales, assert_same_bits, expected, poison_,
                         q_bytes, random_input)
from groupquant import _layouts

# torch's schema check compares outputs with allclose, which has no FP8
# kernels: for FP8 outputs it is replaced by test_ops_touch_only_outputs below.
_NO_SCHEMA = ("test_autograd_registration", "test_faketensor", "test_aot_dispatch_dynamic")
# The packed op also writes the padding rows M..round_up(M, 4) that lie in
# the storage but outside the [M, cols] view. AOT dispatch clones mutated
# graph inputs with minimal storage, which drops those rows, so the op
# (rightly) rejects the clone: as a graph *input* the packed buffer cannot be
# functionalized. Allocated inside the graph (the public API) it works; see
# test_compile_fullgraph_equals_eager.
_PACKED = ("test_schema", "test_autograd_registration", "test_faketensor")
_PACKED_FP8 = ("test_autograd_registration", "test_faketensor")


def _opcheck_cases(device):
    x = torch.randn((6, 256), device=device, dtype=torch.bfloat16)
    for dtype in FP8_DTYPES:
        for layout, ue8m0 in (("row", False), ("tma", True)):
            yield (f"fp8 {dtype} {layout}", OPS.per_token_group_fp8_quant.default,
                   (x, alloc_q(x.shape, dtype, device), alloc_scales((6,), 6, 2, device, layout), 128, 1e-10,
                    -224.0, 224.0, ue8m0), _NO_SCHEMA)
        yield (f"packed {dtype}", OPS.per_token_group_quant_8bit_packed.default,
               (x, alloc_q(x.shape, dtype, device), alloc_scales((6,), 6, 4, device, "packed"), 64, 1e-10,
                -224.0, 224.0), _PACKED_FP8)
    yield ("int8 col", OPS.per_token_group_quant_int8.default,
           (x, alloc_q(x.shape, torch.int8, device), alloc_scales((6,), 6, 2, device, "col"), 128, 1e-10,
            -128.0, 127.0), None)
    yield ("packed int8", OPS.per_token_group_quant_8bit_packed.default,
           (x, alloc_q(x.shape, torch.int8, device), alloc_scales((6,), 6, 4, device, "packed"), 64, 1e-10,
            -128.0, 127.0), _PACKED)


def test_opcheck(device):
    for label, op, args, utils in _opcheck_cases(device):
        kwargs = {} if utils is None else {"test_utils": utils}
        result = opcheck(op, args, **kwargs)
        assert all(v == "SUCCESS" for v in result.values()), f"{label}: {result}"


def test_ops_touch_only_outputs(device):
    """What test_schema checks, for FP8 outputs too: the input is never
    written, and both declared outputs are."""
    for label, op, args, _ in _opcheck_cases(device):
        x_before = args[0].clone()
        q_before, s_before = args[1].clone(), args[2].clone()
        op(*args)
        assert torch.equal(args[0], x_before), f"{label}: input was written"
        assert not torch.equal(args[1].view(torch.uint8), q_before.view(torch.uint8)), f"{label}: q not written"
        assert not torch.equal(args[2], s_before), f"{label}: scales not written"


def _same(a, b, label):
    (qa, sa), (qb, sb) = a, b
    assert qa.dtype == qb.dtype and qa.shape == qb.shape, label
    assert sa.dtype == sb.dtype and sa.shape == sb.shape and sa.stride() == sb.stride(), \
        f"{label}: scales {sa.shape}/{sa.stride()} vs {sb.shape}/{sb.stride()}"
    assert_same_bits(q_bytes(qa), q_bytes(qb), "q", label)
    if sa.dtype == torch.int32:
        assert_same_bits(_layouts.packed_whole_buffer(sa).cpu(), _layouts.packed_whole_buffer(sb).cpu(), "s", label)
    else:
        assert_same_bits(sa.cpu().contiguous().view(torch.int32), sb.cpu().contiguous().view(torch.int32), "s", label)


_CALLS = {
    "fp8 row": lambda x: groupquant.per_token_group_quant_fp8(x, 128),
    "fp8 tma ue8m0 fnuz": lambda x: groupquant.per_token_group_quant_fp8(
        x, 128, dtype=torch.float8_e4m3fnuz, column_major_scales=True, tma_aligned_scales=True, use_ue8m0=True),
    "int8 col": lambda x: groupquant.per_token_group_quant_int8(x, 64, column_major_scales=True),
    "packed": lambda x: groupquant.per_token_group_quant_8bit_packed(x, 64),
}


@pytest.mark.parametrize("name", list(_CALLS))
def test_compile_fullgraph_equals_eager(name, device):
    torch._dynamo.reset()
    fn = _CALLS[name]
    compiled = torch.compile(fn, fullgraph=True)
    for shape in ((5, 256), (2, 3, 512)):
        x = torch.randn(shape, device=device, dtype=torch.bfloat16) * 10
        _same(compiled(x), fn(x), f"{name} {shape}")


def test_compile_dynamic_rows(device):
    torch._dynamo.reset()
    fn = _CALLS["fp8 tma ue8m0 fnuz"]
    compiled = torch.compile(fn, fullgraph=True, dynamic=True)
    for m in (3, 7, 13):
        x = torch.randn((m, 256), device=device)
        _same(compiled(x), fn(x), f"dynamic m={m}")


def test_compile_out_q(device):
    torch._dynamo.reset()

    def fn(x, out):
        return groupquant.per_token_group_quant_fp8(x, 128, out_q=out)

    x = torch.randn((4, 256), device=device)
    out_a, out_b = (torch.empty((4, 256), dtype=torch.float8_e4m3fn, device=device) for _ in range(2))
    qa, sa = torch.compile(fn, fullgraph=True)(x, out_a)
    qb, sb = fn(x, out_b)
    assert_same_bits(q_bytes(out_a), q_bytes(out_b), "out_q under compile")
    assert torch.equal(sa, sb)


# --------------------------------------------------------------- GPU only
# Deselected under --backend=cpu (conftest.py), never skipped.

@pytest.mark.gpu_only
def test_cuda_graph_capture_and_replay(device):
    x = torch.randn((64, 1024), device=device, dtype=torch.bfloat16)
    for name, fn in _CALLS.items():
        fn(x)  # warm up outside capture
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = fn(x)
        for _ in range(3):
            x.copy_(torch.randn_like(x) * 7)
            graph.replay()
            torch.cuda.synchronize()
            _same(out, fn(x), f"graph replay {name}")


@pytest.mark.gpu_only
@pytest.mark.parametrize("layout", ["row", "tma", "packed"])
def test_graph_captured_on_side_stream_matches_reference(layout, device):
    """The low-level op captured into a CUDA graph on a non-default stream,
    outputs poisoned after capture: one replay writes every byte of the
    reference's q and scales (packed padding rows included)."""
    x = random_input((256, 7168), torch.bfloat16, torch.Generator().manual_seed(7), device)
    q, s = alloc_q(x.shape, torch.float8_e4m3fn, device), alloc_scales((256,), 256, 56, device, layout)
    side = torch.cuda.Stream(device=device)
    side.wait_stream(torch.cuda.current_stream(device))
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.stream(side):
        with torch.cuda.graph(graph, stream=side):
            if layout == "packed":
                OPS.per_token_group_quant_8bit_packed(x, q, s, 128, 1e-10, -448.0, 448.0)
            else:
                OPS.per_token_group_fp8_quant(x, q, s, 128, 1e-10, -448.0, 448.0, False)
    torch.cuda.synchronize(device)
    poison_(q)
    poison_(s)
    torch.cuda.synchronize(device)
    graph.replay()
    torch.cuda.synchronize(device)
    q_want, s_want = expected(x, 128, torch.float8_e4m3fn, layout)
    assert_same_bits(q_bytes(q), q_bytes(q_want), "q after replay")
    if layout == "packed":
        assert_same_bits(_layouts.packed_whole_buffer(s).cpu(), s_want, "s_packed after replay")
    else:
        assert_same_bits(s.cpu().contiguous().view(torch.int32), s_want.view(torch.int32), "s after replay")


@pytest.mark.gpu_only
def test_runs_on_current_non_default_stream(device):
    """The kernel must run on the current stream: x is written on a busy
    side stream right before the op, so a kernel on any other stream reads
    stale data."""
    x = torch.zeros((256, 1024), device=device)
    new = torch.randn_like(x)
    want = groupquant.per_token_group_quant_fp8(new, 128)
    side = torch.cuda.Stream(device=device)
    torch.cuda.synchronize()
    with torch.cuda.stream(side):
        torch.cuda._sleep(50_000_000)
        x.copy_(new)
        got = groupquant.per_token_group_quant_fp8(x, 128)
    side.synchronize()
    _same(got, want, "non-default stream")


@pytest.mark.gpu_only
@pytest.mark.multi_gpu
def test_second_device(device):
    x = torch.randn((33, 512), device="cuda:1")
    with torch.cuda.device(0):
        for name, fn in _CALLS.items():
            q, s = fn(x)
            assert q.device == x.device and s.device == x.device, name
            _same((q, s), fn(x.cpu()), f"cuda:1 {name}")
