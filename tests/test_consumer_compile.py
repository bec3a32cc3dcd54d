"""The consumer-side ops under PyTorch's machinery: opcheck (schema, fake
impls, autograd registration, AOT dispatch) and torch.compile(fullgraph=True)
equal to eager, bit for bit."""

import pytest
import torch
from torch.library import opcheck

import groupquant
from consumer_testutil import block_scale_buffer, float_bits
from gq_testutil import OPS, alloc_q, q_bytes

# torch's schema and fake checks compare outputs with allclose, which has no
# FP8 kernels: FP8 outputs are checked by test_block_quant_touches_only_outputs.
_NO_FP8_COMPARE = ("test_schema", "test_autograd_registration", "test_faketensor", "test_aot_dispatch_dynamic")
_NO_FP8_INPUT = ("test_schema", "test_autograd_registration", "test_aot_dispatch_dynamic")


def _cases(device):
    w = torch.randn((130, 256), device=device, dtype=torch.bfloat16)
    yield ("block quant int8", OPS.per_block_quant.default,
           (w, alloc_q(w.shape, torch.int8, device), block_scale_buffer(130, 256, (128, 128), device), 128, 128,
            1e-10, -128.0, 127.0, False), None)
    yield ("block quant fp8", OPS.per_block_quant.default,
           (w, alloc_q(w.shape, torch.float8_e4m3fn, device), block_scale_buffer(130, 256, (128, 128), device),
            128, 128, 1e-10, -448.0, 448.0, True), _NO_FP8_COMPARE)
    q8 = torch.randint(-128, 128, (130, 256), dtype=torch.int8, device=device)
    yield ("dequant group int8", OPS.dequantize_per_token_group.default,
           (q8, torch.rand((130, 2), device=device), torch.empty((130, 256), device=device), 128), None)
    yield ("dequant block int8", OPS.dequantize_per_block.default,
           (q8, torch.rand((2, 2), device=device), torch.empty((130, 256), dtype=torch.bfloat16, device=device),
            128, 128), None)
    codes = q8.view(torch.uint8).clone()
    codes[(codes & 0x7F) == 0x7F] = 0  # no NaN codes: opcheck compares outputs with allclose
    qf = codes.view(torch.float8_e4m3fn)
    yield ("dequant group fp8", OPS.dequantize_per_token_group.default,
           (qf, torch.rand((130, 2), device=device), torch.empty((130, 256), device=device), 128), _NO_FP8_INPUT)


def test_opcheck(device):
    for label, op, args, skip in _cases(device):
        kwargs = {} if skip is None else {"test_utils": tuple(u for u in (
            "test_schema", "test_autograd_registration", "test_faketensor", "test_aot_dispatch_dynamic")
            if u not in skip)}
        result = opcheck(op, args, **kwargs)
        assert all(v == "SUCCESS" for v in result.values()), f"{label}: {result}"


def _raw(t):
    return t.view(torch.uint8) if t.element_size() == 1 else t.contiguous().view(torch.uint8)


def test_ops_touch_only_outputs(device):
    """What test_schema checks, for the FP8 cases too: the inputs are never
    written and every declared output is."""
    for label, op, args, _ in _cases(device):
        outputs = (1, 2) if op is OPS.per_block_quant.default else (2,)
        before = [_raw(a).clone() if isinstance(a, torch.Tensor) else None for a in args]
        op(*args)
        for i, a in enumerate(args):
            if not isinstance(a, torch.Tensor):
                continue
            changed = not torch.equal(_raw(a), before[i])
            assert changed == (i in outputs), f"{label}: argument {i} {'written' if changed else 'not written'}"


_CALLS = {
    "block fp8": lambda w: groupquant.per_block_quant_fp8(w),
    "block fp8 ue8m0 fnuz": lambda w: groupquant.per_block_quant_fp8(w, (64, 128), dtype=torch.float8_e4m3fnuz,
                                                                     use_ue8m0=True),
    "block int8": lambda w: groupquant.per_block_quant_int8(w, (128, 64)),
    "block round trip": lambda w: groupquant.dequantize_per_block(*groupquant.per_block_quant_fp8(w)),
    "group col round trip": lambda w: groupquant.dequantize_per_token_group(
        *groupquant.per_token_group_quant_fp8(w, 128, column_major_scales=True), 128, dtype=torch.float16),
    "group packed round trip": lambda w: groupquant.dequantize_per_token_group(
        *groupquant.per_token_group_quant_8bit_packed(w, 128), 128, dtype=torch.float32),
}


def _bits(t):
    return float_bits(t) if t.dtype.is_floating_point and t.element_size() > 1 else q_bytes(t)


@pytest.mark.parametrize("name", list(_CALLS))
def test_compile_fullgraph_equals_eager(name, device):
    torch._dynamo.reset()
    fn = _CALLS[name]
    compiled = torch.compile(fn, fullgraph=True)
    for shape in ((130, 256), (256, 512)):
        w = torch.randn(shape, device=device, dtype=torch.bfloat16) * 5
        got, want = compiled(w), fn(w)
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        for g, e in zip(got, want):
            assert g.shape == e.shape and g.dtype == e.dtype and g.stride() == e.stride(), name
            assert torch.equal(_bits(g), _bits(e)), f"{name} {shape}"


def test_compile_dynamic_shapes(device):
    torch._dynamo.reset()

    def fn(w):
        q, s = groupquant.per_block_quant_fp8(w, (64, 128))
        return q, s, groupquant.dequantize_per_block(q, s, (64, 128), dtype=torch.float32)

    compiled = torch.compile(fn, fullgraph=True, dynamic=True)
    for n, k in ((130, 256), (257, 384), (64, 128)):
        w = torch.randn((n, k), device=device)
        for g, e in zip(compiled(w), fn(w)):
            assert g.shape == e.shape and torch.equal(_bits(g), _bits(e)), f"dynamic {n}x{k}"


# --------------------------------------------------------------- GPU only

@pytest.mark.gpu_only
def test_cuda_graph_capture_and_replay(device):
    w = torch.randn((300, 512), device=device, dtype=torch.bfloat16)
    for name, fn in _CALLS.items():
        fn(w)  # warm up outside capture
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = fn(w)
        out = out if isinstance(out, tuple) else (out,)
        for _ in range(2):
            w.copy_(torch.randn_like(w) * 9)
            graph.replay()
            torch.cuda.synchronize()
            want = fn(w)
            want = want if isinstance(want, tuple) else (want,)
            for g, e in zip(out, want):
                assert torch.equal(_bits(g), _bits(e)), f"graph replay {name}"


@pytest.mark.gpu_only
def test_runs_on_current_non_default_stream(device):
    """w is written on a busy side stream right before the ops: a kernel on
    any other stream would read stale data."""
    w = torch.zeros((512, 1024), device=device)
    new = torch.randn_like(w)
    want_q, want_s = groupquant.per_block_quant_fp8(new)
    want_d = groupquant.dequantize_per_block(want_q, want_s)
    side = torch.cuda.Stream(device=device)
    torch.cuda.synchronize()
    with torch.cuda.stream(side):
        torch.cuda._sleep(50_000_000)
        w.copy_(new)
        q, s = groupquant.per_block_quant_fp8(w)
        d = groupquant.dequantize_per_block(q, s)
    side.synchronize()
    assert torch.equal(q_bytes(q), q_bytes(want_q)) and torch.equal(s, want_s)
    assert torch.equal(_bits(d), _bits(want_d))
