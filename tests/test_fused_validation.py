"""Bad fuse_silu_and_mul / masked_m arguments: a RuntimeError naming the
argument, from the shared validator (every backend) or the Python API."""

import pytest
import torch

import groupquant
from gq_testutil import OPS

FP8 = torch.float8_e4m3fn


def _fp8(x, q, s, fused, mm, g=128):
    OPS.per_token_group_fp8_quant(x, q, s, g, 1e-10, -448.0, 448.0, False, fused, mm)


def _masked_case(device, e=3, t=4, k=256, g=128):
    x = torch.randn((e, t, k), device=device)
    q = torch.empty((e, t, k), dtype=FP8, device=device)
    s = torch.empty((e, t, k // g), device=device)
    mm = torch.full((e,), t, dtype=torch.int32, device=device)
    return x, q, s, mm


def test_fused_shape_errors(device):
    x = torch.randn((4, 257), device=device)
    with pytest.raises(RuntimeError, match="input's last dim must be even"):
        _fp8(x, torch.empty((4, 128), dtype=FP8, device=device), torch.empty((4, 1), device=device), True, None)
    x = torch.randn((4, 400), device=device)
    with pytest.raises(RuntimeError, match=r"last dim / 2 \(H.*multiple of group_size"):
        _fp8(x, torch.empty((4, 200), dtype=FP8, device=device), torch.empty((4, 1), device=device), True, None)
    x = torch.randn((4, 512), device=device)
    with pytest.raises(RuntimeError, match=r"output_q must have shape \[4, 256\]"):
        _fp8(x, torch.empty((4, 512), dtype=FP8, device=device), torch.empty((4, 2), device=device), True, None)
    with pytest.raises(RuntimeError, match=r"output_s must have shape"):
        _fp8(x, torch.empty((4, 256), dtype=FP8, device=device), torch.empty((4, 4), device=device), True, None)
    with pytest.raises(RuntimeError, match="last dim must be even"):
        groupquant.per_token_group_quant_fp8(torch.randn((2, 129), device=device), 64, fuse_silu_and_mul=True)


def test_masked_m_errors(device):
    x, q, s, mm = _masked_case(device)
    with pytest.raises(RuntimeError, match="masked_m must have dtype torch.int32"):
        _fp8(x, q, s, False, mm.long())
    with pytest.raises(RuntimeError, match=r"masked_m must have shape \[3\]"):
        _fp8(x, q, s, False, torch.zeros((4,), dtype=torch.int32, device=device))
    with pytest.raises(RuntimeError, match="masked_m must have stride 1"):
        _fp8(x, q, s, False, torch.zeros((6,), dtype=torch.int32, device=device)[::2])
    with pytest.raises(RuntimeError, match="input must be 3-D"):
        _fp8(x[0], q[0], s[0], False, mm)
    with pytest.raises(RuntimeError, match="masked_m"):
        _fp8(x, q, s, False, mm.to("meta"))
    with pytest.raises(RuntimeError, match="masked_m must be a torch.Tensor"):
        groupquant.per_token_group_quant_fp8(x, 128, masked_m=[1, 2, 3])
    with pytest.raises(RuntimeError, match="masked_m must have shape"):
        groupquant.per_token_group_quant_int8(x, 128, masked_m=mm[:2])


def test_masked_output_errors(device):
    x, q, s, mm = _masked_case(device)
    with pytest.raises(RuntimeError, match=r"output_s must have shape \[3, 4, 2\], got \[12, 2\]"):
        _fp8(x, q, s.reshape(12, 2), False, mm)
    buf = torch.empty((2 * 4 * 256 + 256,), dtype=FP8, device=device)
    q_overlap = buf.as_strided((3, 4, 256), (512, 256, 1))
    with pytest.raises(RuntimeError, match="output_q must have an expert stride >= 1024"):
        _fp8(x, q_overlap, s, False, mm)
    s_overlap = torch.empty((16,), device=device).as_strided((3, 4, 2), (4, 1, 4))
    with pytest.raises(RuntimeError, match="output_s must have an expert stride"):
        _fp8(x, q, s_overlap, False, mm)
    sp = torch.empty((3 * 4 * 4,), dtype=torch.int32, device=device).as_strided((3, 4, 1), (4, 1, 4))
    with pytest.raises(RuntimeError, match="output_s_packed must have shape"):
        OPS.per_token_group_quant_8bit_packed(x, q, sp, 32, 1e-10, -448.0, 448.0, False, mm)
    sp = torch.empty((3 * 2 * 4,), dtype=torch.int32, device=device).as_strided((3, 4, 2), (8, 1, 3))
    with pytest.raises(RuntimeError, match=r"column stride >= 4 \(T rounded up to 4\)"):
        OPS.per_token_group_quant_8bit_packed(x, q, sp, 32, 1e-10, -448.0, 448.0, False, mm)


def test_masked_m_must_not_overlap_outputs(device):
    x, _, s, _ = _masked_case(device)
    raw = torch.zeros((3 * 4 * 256,), dtype=torch.uint8, device=device)
    q = raw.view(FP8).view(3, 4, 256)
    mm = raw[16:28].view(torch.int32)
    with pytest.raises(RuntimeError, match="masked_m and output_q must not overlap"):
        _fp8(x, q, s, False, mm)
