"""Tensors on a second GPU (issue 17): every op runs on its input's device and
on that device's current stream, whatever device is current, and captures
into a CUDA graph there. Needs two devices: the tests are marked multi_gpu
(deselected elsewhere) and their own manual Bazel target,
//tests:test_multi_gpu_cuda, passes --require-gpus=2 so that it fails
loudly, never skips, on a host with fewer."""

import pytest
import torch

import groupquant
from gq_testutil import assert_same_bits, q_bytes
from groupquant import _layouts

pytestmark = [pytest.mark.gpu_only, pytest.mark.multi_gpu]

CALLS = {
    "fp8 row": lambda x: groupquant.per_token_group_quant_fp8(x, 128),
    "fp8 col ue8m0": lambda x: groupquant.per_token_group_quant_fp8(x, 128, column_major_scales=True,
                                                                    use_ue8m0=True),
    "fp8 tma fnuz": lambda x: groupquant.per_token_group_quant_fp8(
        x, 128, dtype=torch.float8_e4m3fnuz, column_major_scales=True, tma_aligned_scales=True),
    "int8 col": lambda x: groupquant.per_token_group_quant_int8(x, 64, column_major_scales=True),
    "packed": lambda x: groupquant.per_token_group_quant_8bit_packed(x, 128),
}


def _bits(out):
    q, s = out
    if s.dtype == torch.int32:
        s = _layouts.packed_whole_buffer(s)
    return q_bytes(q).cpu(), s.detach().cpu().contiguous().view(torch.int32)


def _same(got, want, label):
    (qg, sg), (qw, sw) = _bits(got), _bits(want)
    assert_same_bits(qg, qw, "q", label)
    assert_same_bits(sg, sw, "s", label)


@pytest.mark.parametrize("current,data", [(0, 1), (1, 0)])
@pytest.mark.parametrize("name", list(CALLS))
def test_runs_where_the_input_lives(name, current, data, device):
    x = torch.randn((129, 1024), device=f"cuda:{data}", dtype=torch.bfloat16)
    want = CALLS[name](x.cpu())
    with torch.cuda.device(current):
        got = CALLS[name](x)
        assert torch.cuda.current_device() == current, "the op changed the current device"
    assert got[0].device == x.device and got[1].device == x.device, name
    torch.cuda.synchronize(data)
    _same(got, want, f"{name} on cuda:{data}, current cuda:{current}")


@pytest.mark.parametrize("name", list(CALLS))
def test_uses_the_current_stream_of_the_input_device(name, device):
    """x is written on a busy non-default stream of cuda:1 right before the op
    (called with cuda:0 current): a kernel on any other stream or device reads
    stale data, and the event recorded after it would complete early."""
    x = torch.zeros((256, 2048), device="cuda:1", dtype=torch.bfloat16)
    new = torch.randn_like(x)
    want = CALLS[name](new.cpu())
    side = torch.cuda.Stream(device="cuda:1")
    done = torch.cuda.Event()
    torch.cuda.synchronize(1)
    with torch.cuda.device(0), torch.cuda.stream(side):
        with torch.cuda.device(1):
            torch.cuda._sleep(50_000_000)
        x.copy_(new)
        got = CALLS[name](x)
        done.record(side)
    done.synchronize()
    _same(got, want, f"{name} on a side stream of cuda:1")


@pytest.mark.parametrize("name", list(CALLS))
def test_graph_capture_on_the_second_device(name, device):
    x = torch.randn((64, 1024), device="cuda:1", dtype=torch.bfloat16)
    with torch.cuda.device(1):
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            CALLS[name](x)  # warm-up outside capture
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = CALLS[name](x)
        for _ in range(2):
            x.copy_(torch.randn_like(x))
            graph.replay()
            torch.cuda.synchronize()
            _same(out, CALLS[name](x.cpu()), f"{name} graph replay on cuda:1")
