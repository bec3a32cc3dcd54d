"""groupquant's outputs fed to cuBLAS's block-scaled FP8 GEMM through
torch._scaled_mm: activations per token group (1x128, column-major scales),
weights per 128x128 block (per_block_quant_fp8, scales passed transposed).

Tolerance, against the product of the dequantized operands computed in
float64 (exact up to ~2^-50 relative, so all the error is the GEMM's):
- per element |out - ref| <= 2^-8 |ref| + 2^-10 (|A| |W|^T): the bf16 output
  rounding (at most 2^-9 relative) with 2x margin, plus the accumulation
  error cuBLAS may make inside each 128-deep block (Hopper's FP8 tensor
  cores accumulate with fewer than fp32's bits before the per-block scale is
  applied in fp32), bounded by a fraction of the sum of |terms|;
- per output row, ||out - ref|| / ||ref|| <= 2^-7: 4x the bf16 rounding
  bound, which a wrong scale (one activation group or one weight block off
  by 2x) exceeds several times over; the negative controls below check that.
These tests need the blockwise path (torch >= 2.9 built with CUDA >= 12.9, an
sm_90+ GPU): where torch or the card lacks it they fail, never skip; on the
CPU backend they are deselected through the gpu_only marker.
"""

import pytest
import torch

import groupquant

pytestmark = pytest.mark.gpu_only

MS = (1, 17, 256, 4096)
NKS = ((2048, 7168), (7168, 2048))
ELEMENT_REL = 2.0 ** -8
ELEMENT_ABS_SUM = 2.0 ** -10
ROW_REL = 2.0 ** -7


def _gpu_name():
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    return f"{props.name} (sm_{props.major}{props.minor})"


def scaled_mm(q_a, s_a, q_w, s_w):
    try:
        return torch._scaled_mm(q_a, q_w.t(), scale_a=s_a, scale_b=s_w.t(), out_dtype=torch.bfloat16)
    except (RuntimeError, NotImplementedError, TypeError, ValueError) as e:
        pytest.fail(f"torch {torch.__version__} (CUDA {torch.version.cuda}) on {_gpu_name()} has no usable "
                    f"block-scaled FP8 path in torch._scaled_mm (1x128 x 128x128 float32 scales): {e}")


def quantize_operands(x, w, ue8m0):
    """Operands for torch._scaled_mm. The activations are padded with zero
    rows to a multiple of 4: torch requires activation scales with strides
    exactly (1, M), and cuBLAS refused those on the H200 for M = 1 and 17
    (CUBLAS_STATUS_NOT_SUPPORTED), i.e. whenever M % 4 != 0. Zero rows
    quantize to zero codes and give zero output rows, which are sliced off
    (examples/fp8_linear.py does the same)."""
    m = x.shape[0]
    padded = (m + 3) // 4 * 4
    if padded != m:
        x = torch.nn.functional.pad(x, (0, 0, 0, padded - m))
    q_a, s_a = groupquant.per_token_group_quant_fp8(x, 128, dtype=torch.float8_e4m3fn, column_major_scales=True,
                                                    use_ue8m0=ue8m0)
    q_w, s_w = groupquant.per_block_quant_fp8(w, (128, 128), dtype=torch.float8_e4m3fn, use_ue8m0=ue8m0)
    return q_a, s_a, q_w, s_w


def dequantized_product(q_a, s_a, q_w, s_w):
    """(A W^T, |A| |W|^T) in float64 from the exactly dequantized operands."""
    a = groupquant.dequantize_per_token_group(q_a, s_a, 128, dtype=torch.float32).double()
    w = groupquant.dequantize_per_block(q_w, s_w, (128, 128), dtype=torch.float32).double()
    return a @ w.t(), a.abs() @ w.abs().t()


def violations(out, ref, abs_sum):
    """What breaks the stated tolerance, as readable lines (empty when none)."""
    err = (out.double() - ref).abs()
    problems = []
    bad = err > ELEMENT_REL * ref.abs() + ELEMENT_ABS_SUM * abs_sum
    if bad.any():
        i, j = (int(v) for v in bad.nonzero()[0])
        problems.append(f"{int(bad.sum())} elements beyond 2^-8|ref| + 2^-10(|A||W|^T), e.g. ({i}, {j}): "
                        f"out {out[i, j].item()} ref {ref[i, j].item()}")
    row_err = torch.linalg.vector_norm(out.double() - ref, dim=1)
    row_ref = torch.linalg.vector_norm(ref, dim=1)
    rel = torch.where(row_ref > 0, row_err / row_ref, row_err)
    if (rel > ROW_REL).any():
        problems.append(f"{int((rel > ROW_REL).sum())} rows beyond relative error 2^-7 (worst {rel.max().item():.3g})")
    return problems


def _operands(m, n, k, gen, device):
    x = torch.randn((m, k), generator=gen).to(torch.bfloat16).to(device)
    # Rows of different magnitude: the scales differ across groups and blocks.
    w = (torch.randn((n, k), generator=gen) * torch.exp2(torch.randint(-4, 5, (n, 1), generator=gen)))
    return x, (w * 0.02).to(torch.bfloat16).to(device)


@pytest.mark.parametrize("ue8m0", [False, True], ids=["fp32-scales", "ue8m0-scales"])
@pytest.mark.parametrize("n,k", NKS, ids=lambda v: str(v))
@pytest.mark.parametrize("m", MS)
def test_scaled_mm_matches_dequantized_product(m, n, k, ue8m0, device, gen):
    x, w = _operands(m, n, k, gen, device)
    q_a, s_a, q_w, s_w = quantize_operands(x, w, ue8m0)
    padded = q_a.shape[0]
    assert s_a.stride() == (1, padded) and s_w.t().stride() == (1, k // 128)
    out = scaled_mm(q_a, s_a, q_w, s_w)
    assert out.shape == (padded, n) and out.dtype == torch.bfloat16
    ref, abs_sum = dequantized_product(q_a, s_a, q_w, s_w)
    assert not out[m:].any(), "padding rows of the product are not zero"
    problems = violations(out[:m], ref[:m], abs_sum[:m])
    assert not problems, f"M={m} N={n} K={k} ue8m0={ue8m0}: " + "; ".join(problems)


@pytest.mark.parametrize("which", ["activation group", "weight block"])
def test_tolerance_catches_a_wrong_scale(which, device, gen):
    """Negative control: one scale off by 2x must break the tolerance."""
    m, n, k = 256, 2048, 7168
    x, w = _operands(m, n, k, gen, device)
    q_a, s_a, q_w, s_w = quantize_operands(x, w, False)
    ref, abs_sum = dequantized_product(q_a, s_a, q_w, s_w)
    if which == "activation group":
        s_a = s_a.clone()
        s_a[5, 3] *= 2
    else:
        s_w = s_w.clone()
        s_w[2, 7] *= 2
    assert s_a.stride() == (1, m)
    out = scaled_mm(q_a, s_a, q_w, s_w)
    assert violations(out, ref, abs_sum), f"a 2x error in one {which} scale went unnoticed"
