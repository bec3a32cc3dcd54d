"""fuse_silu_and_mul / masked_m under PyTorch's machinery: opcheck (schema,
fake impls, AOT dispatch), torch.compile(fullgraph=True) against eager, and
on GPUs CUDA-graph capture with masked_m changed between replays (the
masked_m values are read on the device, so a replay sees the new ones)."""

import pytest
import torch
from torch.library import opcheck

import groupquant
from gq_testutil import OPS, alloc_q, poison_
from groupquant import _layouts
from groupquant import reference as ref

# FP8 outputs: torch's schema/fake checks compare with allclose, which has no
# FP8 kernels (as in test_compile.py); int8 runs every check.
_NO_SCHEMA = ("test_autograd_registration", "test_faketensor", "test_aot_dispatch_dynamic")


def _cases(device):
    mm = torch.tensor([3, 0, 9], dtype=torch.int32, device=device)
    x2 = torch.randn((5, 512), device=device, dtype=torch.bfloat16)
    x3 = torch.randn((3, 5, 512), device=device, dtype=torch.bfloat16)
    s_row = lambda: torch.zeros((5, 2), device=device)  # noqa: E731
    yield ("int8 fused", OPS.per_token_group_quant_int8.default,
           (x2, alloc_q((5, 256), torch.int8, device), s_row(), 128, 1e-10, -128.0, 127.0, True, None), None)
    s_m = _layouts.empty_masked_scales(3, 5, 4, device, True, False).zero_()
    yield ("int8 masked", OPS.per_token_group_quant_int8.default,
           (x3, torch.zeros((3, 5, 512), dtype=torch.int8, device=device), s_m, 128, 1e-10, -128.0, 127.0,
            False, mm), None)
    s_t = _layouts.empty_masked_scales(3, 5, 2, device, True, True).zero_()
    yield ("fp8 fused masked tma", OPS.per_token_group_fp8_quant.default,
           (x3, alloc_q((3, 5, 256), torch.float8_e4m3fn, device), s_t, 128, 1e-10, -448.0, 448.0, True,
            True, mm), _NO_SCHEMA)


def test_opcheck_fused_masked(device):
    for label, op, args, utils in _cases(device):
        kwargs = {} if utils is None else {"test_utils": utils}
        result = opcheck(op, args, **kwargs)
        assert all(v == "SUCCESS" for v in result.values()), f"{label}: {result}"


def _bits(t):
    return (_layouts.packed_whole_buffer(t) if t.dtype == torch.int32 else t).contiguous().view(torch.uint8).cpu()


_CALLS = {
    "fp8 fused tma ue8m0": lambda x, mm: groupquant.per_token_group_quant_fp8(
        x, 128, column_major_scales=True, tma_aligned_scales=True, use_ue8m0=True, fuse_silu_and_mul=True),
    "fp8 fused masked col": lambda x, mm: groupquant.per_token_group_quant_fp8(
        x, 128, column_major_scales=True, fuse_silu_and_mul=True, masked_m=mm),
    "int8 masked": lambda x, mm: groupquant.per_token_group_quant_int8(x, 128, masked_m=mm),
    "packed fused masked": lambda x, mm: groupquant.per_token_group_quant_8bit_packed(
        x, 128, fuse_silu_and_mul=True, masked_m=mm),
}


def _valid_equal(a, b, mm, label):
    """Same q bytes and scales on the rows masked_m makes valid (the API's
    outputs start uninitialised, so the other rows may hold anything)."""
    (qa, sa), (qb, sb) = a, b
    assert qa.shape == qb.shape and sa.shape == sb.shape and sa.stride() == sb.stride(), label
    mask = ref.masked_rows(mm.cpu(), qa.shape[1]) if sa.dim() == 3 else None  # masked call
    qa, qb = qa.view(torch.uint8).cpu(), qb.view(torch.uint8).cpu()
    sa, sb = sa.cpu(), sb.cpu()
    if mask is not None:
        qa, qb, sa, sb = qa[mask], qb[mask], sa[mask], sb[mask]
    assert torch.equal(qa, qb), f"{label}: q differs"
    assert torch.equal(sa.view(torch.int32), sb.view(torch.int32)), f"{label}: scales differ"


@pytest.mark.parametrize("name", list(_CALLS))
def test_compile_fullgraph_fused_masked(name, device):
    torch._dynamo.reset()
    fn = _CALLS[name]
    compiled = torch.compile(fn, fullgraph=True)
    mm = torch.tensor([4, 0, 7, 2], dtype=torch.int32, device=device)
    x = torch.randn((4, 5, 512), device=device, dtype=torch.bfloat16) * 4
    _valid_equal(compiled(x, mm), fn(x, mm), mm, name)
    mm.copy_(torch.tensor([5, 1, -1, 3], dtype=torch.int32))
    _valid_equal(compiled(x, mm), fn(x, mm), mm, name + " new masked_m")


@pytest.mark.cpu_only
def test_compile_reference_fused(device):
    """The bench's torch.compile(reference) candidate gives the reference's
    bytes on the CPU (on GPUs Inductor may contract into FMAs; it is timed
    there, not trusted)."""
    torch._dynamo.reset()
    fn = lambda x: ref.per_token_group_quant_fp8(x, 128, fuse_silu_and_mul=True)  # noqa: E731
    x = torch.randn((6, 512), dtype=torch.bfloat16) * 8
    (qa, sa), (qb, sb) = torch.compile(fn, fullgraph=True)(x), fn(x)
    assert torch.equal(qa.view(torch.uint8), qb.view(torch.uint8)) and torch.equal(sa, sb)


@pytest.mark.gpu_only
def test_cuda_graph_masked_m_changes_between_replays(device):
    """Capture once, then replay with new masked_m values (written into the
    same tensor): each replay must quantize exactly the rows valid now and
    leave the others as they were (guard values)."""
    assert device.type == "cuda", "gpu_only test collected on a CPU backend"
    e, t = 4, 33
    x = (torch.randn((e, t, 1024), device=device) * 3).to(torch.bfloat16)
    mm = torch.full((e,), t, dtype=torch.int32, device=device)
    for layout in ("col", "packed"):
        if layout == "packed":
            s = _layouts.empty_masked_packed_scales(e, t, 4, device)
        else:
            s = _layouts.empty_masked_scales(e, t, 4, device, True, False)
        q = torch.empty((e, t, 512), dtype=torch.float8_e4m3fn, device=device)

        def step():
            if layout == "packed":
                OPS.per_token_group_quant_8bit_packed(x, q, s, 128, 1e-10, -448.0, 448.0, True, mm)
            else:
                OPS.per_token_group_fp8_quant(x, q, s, 128, 1e-10, -448.0, 448.0, False, True, mm)

        step()
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step()
        for values in ([t, 0, 5, 40], [1, 33, -2, 16], [0, 0, 0, 0], [17, 2, 33, 1]):
            poison_(q)
            poison_(s)
            mm.copy_(torch.tensor(values, dtype=torch.int32))
            x.copy_((torch.randn(x.shape, device=device) * 5).to(torch.bfloat16))
            graph.replay()
            torch.cuda.synchronize()
            import gq_fused_testutil as fu
            q_want, s_want = fu.reference(x, 128, torch.float8_e4m3fn, layout, layout == "packed", True, mm)
            mask = ref.masked_rows(mm.cpu(), t)
            from gq_testutil import storage_bytes
            assert torch.equal(storage_bytes(q), fu.expected_storage(q, q_want, mask)), f"{layout} {values}: q"
            assert torch.equal(storage_bytes(s), fu.expected_storage(s, s_want, mask)), f"{layout} {values}: s"


@pytest.mark.gpu_only
def test_masked_no_host_sync(device):
    """A masked call issues no device-to-host copy: it runs under
    torch.cuda.set_sync_debug_mode('error')."""
    assert device.type == "cuda", "gpu_only test collected on a CPU backend"
    x = torch.randn((2, 8, 512), device=device, dtype=torch.bfloat16)
    mm = torch.tensor([8, 3], dtype=torch.int32, device=device)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        groupquant.per_token_group_quant_fp8(x, 128, fuse_silu_and_mul=True, masked_m=mm)
        groupquant.per_token_group_quant_8bit_packed(x, 128, masked_m=mm)
    finally:
        torch.cuda.set_sync_debug_mode("default")
