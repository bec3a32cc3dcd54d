"""fuse_silu_and_mul and masked_m (docs/fused_silu_moe.md) on the backend
under test, bit for bit against groupquant.reference: every input dtype x
output format x scale layout x UE8M0, odd row counts, masked_m with 0, T and
out-of-range values, poisoned (guard) bytes around the rows that must stay
untouched, strided and unaligned inputs, non-finite gate/up values."""

import pytest
import torch

import gq_fused_testutil as fu
from gq_testutil import IN_DTYPES, OUT_DTYPES, random_input

# (layout, ue8m0) pairs each output format offers.
FP8_LAYOUTS = [("row", False), ("row", True), ("col", False), ("col", True), ("tma", False), ("tma", True),
               ("packed", True)]
INT8_LAYOUTS = [("row", False), ("col", False), ("packed", True)]
CASES = [(out, layout, ue8m0) for out in OUT_DTYPES
         for layout, ue8m0 in (INT8_LAYOUTS if out == torch.int8 else FP8_LAYOUTS)]


def _case_id(c):
    out, layout, ue8m0 = c
    return f"{str(out).replace('torch.', '')}-{layout}{'-ue8m0' if ue8m0 else ''}"


def _gate_up(lead, h, dtype, gen, device):
    """[*lead, 2H]: gate spans the whole interesting range of silu (|g| up
    to ~100 hits e's clamps and overflow), up random."""
    gate = random_input((*lead, h), torch.float32, gen, spread=4) * 6
    up = random_input((*lead, h), torch.float32, gen)
    return torch.cat([gate, up], dim=-1).to(dtype).to(device)


def _masked_m(values, device):
    return torch.tensor(values, dtype=torch.int32, device=device)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("in_dtype", IN_DTYPES, ids=lambda d: str(d).replace("torch.", ""))
def test_fused_2d(case, in_dtype, device, gen):
    out, layout, ue8m0 = case
    x = _gate_up((7,), 384, in_dtype, gen, device)  # odd M, 3 groups of 128
    fu.check(x, 128, out, layout, ue8m0)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("in_dtype", (torch.bfloat16, torch.float16), ids=lambda d: str(d).replace("torch.", ""))
def test_fused_2d_groups_of_64(case, in_dtype, device, gen):
    # Groups of 64 2-byte values: eight 16-byte lanes, or sixteen 8-byte
    # ones where small calls take the fused kernel's 8-byte lanes
    # (fused_half_vectors); 24 groups a row, odd M.
    out, layout, ue8m0 = case
    x = _gate_up((5,), 1536, in_dtype, gen, device)
    fu.check(x, 64, out, layout, ue8m0)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("in_dtype", IN_DTYPES, ids=lambda d: str(d).replace("torch.", ""))
def test_masked_fused(case, in_dtype, device, gen):
    out, layout, ue8m0 = case
    t = 5
    x = _gate_up((6, t), 256, in_dtype, gen, device)
    # 0, all, more than T, negative, odd, one: clamped on the device.
    mm = _masked_m([0, t, t + 7, -3, 3, 1], device)
    fu.check(x, 64, out, layout, ue8m0, masked_m=mm)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_masked_plain(case, device, gen):
    out, layout, ue8m0 = case
    x = random_input((4, 7, 384), torch.bfloat16, gen, device)
    mm = _masked_m([7, 0, 2, 2**31 - 1], device)
    fu.check(x, 128, out, layout, ue8m0, fused=False, masked_m=mm)


@pytest.mark.parametrize("layout", ["row", "tma", "packed"])
@pytest.mark.parametrize("fused", [True, False])
def test_masked_strided_input(layout, fused, device, gen):
    """x rows padded and experts spaced apart in a larger buffer; then an
    unaligned start (the GPU's generic path)."""
    e, t, k = 3, 6, 512 if fused else 256
    buf = random_input((e, t + 2, k + 24), torch.bfloat16, gen, device)
    x = buf[:, 1:t + 1, 8:8 + k]
    mm = _masked_m([4, 6, 1], device)
    fu.check(x, 128, torch.float8_e4m3fn, layout, layout == "packed", fused, mm, "strided rows/experts")
    flat = random_input((e * t * (k + 1) + 3,), torch.bfloat16, gen, device)
    x = flat.as_strided((e, t, k), (t * (k + 1), k + 1, 1), 1)
    fu.check(x, 128, torch.float8_e4m3fn, layout, layout == "packed", fused, mm, "unaligned")


def test_fused_strided_and_3d_lead(device, gen):
    x = _gate_up((9, 2), 256, torch.bfloat16, gen, device)[:, 1]  # row stride 1024
    fu.check(x, 128, torch.float8_e4m3fn, "row", False, context="strided rows")
    x = _gate_up((2, 3), 256, torch.float16, gen, device)
    for layout in ("row", "col", "packed"):
        fu.check(x, 128, torch.float8_e4m3fn, layout, layout == "packed", context="3-D lead")


def test_fused_larger(device, gen):
    """Enough rows and groups for several items per row on the GPU."""
    x = _gate_up((37,), 2048, torch.bfloat16, gen, device)
    for out, layout, ue8m0 in ((torch.float8_e4m3fn, "tma", True), (torch.int8, "row", False),
                               (torch.float8_e4m3fnuz, "packed", True)):
        fu.check(x, 128, out, layout, ue8m0)
    mm = _masked_m([37, 18, 0, 5], device)
    x = _gate_up((4, 37), 1024, torch.bfloat16, gen, device)
    fu.check(x, 128, torch.float8_e4m3fn, "packed", True, masked_m=mm)
    fu.check(x, 128, torch.float8_e4m3fn, "col", False, masked_m=mm)


@pytest.mark.parametrize("fused", [True, False])
def test_masked_long_runs(fused, device, gen):
    """Masked runs of thousands of rows (one masked row, most of an expert, a
    whole expert, half of one) under the one-wave grid of masked calls. On
    an H100 these items fit one sweep of that grid; the jump over masked
    rows (skip_masked_rows in fused_kernel.cuh) needs runs longer than its
    stride, which test_fused_past_2_pow_17_groups's masked call has."""
    e, t = 4, 2048
    mm = _masked_m([t - 1, 100, 0, t // 2], device)
    if fused:
        x = _gate_up((e, t), 512, torch.bfloat16, gen, device)
    else:
        x = random_input((e, t, 1024), torch.bfloat16, gen, device)
    for layout, ue8m0 in (("row", False), ("packed", True)):
        fu.check(x, 128, torch.float8_e4m3fn, layout, ue8m0, fused, mm, "long masked runs")


@pytest.mark.gpu_only
def test_fused_past_2_pow_17_groups(device, gen):
    """Past 2^17 groups fused calls take two vectors per lane and one group
    per item (wide_fused_rows in gpu/launch/launch_plan.h), masked ones too,
    in the loop-free fused_small_kernel (packed: a byte of the word per
    item). The masked call's second expert has 343 masked rows, so whole
    warps return at once; under flat=0 (fused_vec_kernel) that is 43904
    one-group items, more than one stride of its one-wave grid on an H100
    (about 34K items), so its warps jump over them (skip_masked_rows).
    Out-of-range masked_m values are clamped on the device on both paths."""
    x = _gate_up((1100,), 16384, torch.bfloat16, gen, device)
    for layout, ue8m0 in (("row", False), ("tma", True), ("packed", True)):
        fu.check(x, 128, torch.float8_e4m3fn, layout, ue8m0, context="2^17+ groups")
    x = _gate_up((2, 600), 16384, torch.bfloat16, gen, device)
    fu.check(x, 128, torch.float8_e4m3fn, "col", False, masked_m=_masked_m([600, 257], device),
             context="2^17+ groups, masked")
    fu.check(x, 128, torch.float8_e4m3fn, "row", False, masked_m=_masked_m([-7, 601], device),
             context="2^17+ groups, masked_m out of range")
    fu.check(x, 128, torch.int8, "packed", True, masked_m=_masked_m([2**31 - 1, -2**31], device),
             context="2^17+ groups, masked_m at the int32 limits")
    # Rows of 37 groups: a warp's four items straddle two rows (under mrows,
    # tests/test_gpu_tuning.py, items of one warp then end their rows at
    # different places); the packed grid pads each row to 40 groups.
    x = _gate_up((2, 1800), 37 * 128, torch.bfloat16, gen, device)
    fu.check(x, 128, torch.float8_e4m3fn, "row", False, masked_m=_masked_m([1799, 901], device),
             context="2^17+ groups, masked, rows of 37 groups")
    fu.check(x, 128, torch.int8, "packed", True, masked_m=_masked_m([1800, 899], device),
             context="2^17+ groups, masked packed, rows of 37 groups")


WIDE_CASES = {
    torch.bfloat16: [(torch.float8_e4m3fn, "col", True), (torch.int8, "packed", True)],
    torch.float16: [(torch.float8_e4m3fnuz, "tma", False), (torch.float8_e4m3fn, "packed", True)],
    torch.float32: [(torch.int8, "row", False), (torch.float8_e4m3fnuz, "packed", True)],
}


@pytest.mark.gpu_only
@pytest.mark.parametrize("in_dtype", IN_DTYPES, ids=lambda d: str(d).replace("torch.", ""))
def test_fused_past_2_pow_17_groups_every_dtype(in_dtype, device, gen):
    """The large fused plans (wide_fused_rows: two vectors per lane, one
    group per item; packed: a byte of the word per item) for every input dtype
    (float32 groups take 16 lanes, 16-bit ones 8), both FP8 formats and
    int8, each scale layout, rows padded in a larger buffer, and a masked
    call with an empty expert and long masked runs (whole warps return)."""
    h = 16384
    x = _gate_up((1025,), 2 * h, in_dtype, gen, device)[:, :2 * h]  # 131200 groups, rows 4H apart
    for out, layout, ue8m0 in WIDE_CASES[in_dtype]:
        fu.check(x, 128, out, layout, ue8m0, context="2^17+ groups, strided rows")
    x = _gate_up((3, 400), h, in_dtype, gen, device)
    out, layout, ue8m0 = WIDE_CASES[in_dtype][1]
    fu.check(x, 128, out, layout, ue8m0, masked_m=_masked_m([400, 0, 57], device),
             context="2^17+ groups, masked")


NON_FINITE = [float("nan"), float("inf"), float("-inf"), 0.0, -0.0, 1.0, -1.0, 88.0, -88.0, 89.5, -89.5,
              104.5, -104.5, 3e38, -3e38, 1e-40, -1e-40]


@pytest.mark.parametrize("in_dtype", IN_DTYPES, ids=lambda d: str(d).replace("torch.", ""))
def test_non_finite_gate_up(in_dtype, device):
    """Every pair of special gate/up values, one pair per group of 16, so a
    non-finite value is also shown not to leak into other groups."""
    vals = torch.tensor(NON_FINITE, dtype=torch.float32)
    g, u = torch.meshgrid(vals, vals, indexing="ij")
    pairs = g.numel()
    h = 16 * pairs
    gate = torch.full((2, h), 0.5)
    up = torch.full((2, h), 2.0)
    gate[0, ::16] = g.reshape(-1)
    up[0, ::16] = u.reshape(-1)
    gate[1, 5::16] = g.reshape(-1)
    up[1, 7::16] = u.reshape(-1)
    x = torch.cat([gate, up], dim=-1).to(in_dtype).to(device)
    for out, layout, ue8m0 in CASES:
        fu.check(x, 16, out, layout, ue8m0, context="non-finite")


def test_non_finite_documented_values(device):
    """The documented IEEE propagation, on the values themselves."""
    from groupquant import reference as ref
    inf, nan = float("inf"), float("nan")
    gate = torch.tensor([inf, -inf, nan, inf, 1.0, -100.0])
    up = torch.tensor([1.0, 1.0, 1.0, 0.0, inf, 1.0])
    y = ref.silu_and_mul(torch.cat([gate, up]).reshape(1, -1)).reshape(-1)
    # exp_f32 saturates at e(HI) ~ 3.4028e38 instead of overflowing, so
    # silu(-Inf) = -Inf / 3.4e38 = -Inf and silu(-100) = -100 / 3.4e38.
    assert y[0] == inf and y[1] == -inf and torch.isnan(y[2]) and torch.isnan(y[3])
    assert y[4] == inf and y[5] < 0 and y[5] > -1e-36
    # Through the op: NaN bytes, and the +Inf group's scale is +Inf.
    x = torch.cat([gate, up]).reshape(1, -1).to(device)
    q, s = fu.check(x, 1, torch.float8_e4m3fn, "row", False)
    assert q.view(torch.uint8).cpu().tolist()[0][:4] == [0x7F, 0x7F, 0x7F, 0x7F]
    assert s.cpu()[0, 0] == inf


def test_masked_graph_style_values_change(device, gen):
    """The same outputs reused with new masked_m values: only the rows valid
    in a call change (the rest keep the previous call's bytes)."""
    x = _gate_up((2, 6), 128, torch.bfloat16, gen, device)
    outs = fu.alloc_outputs(x, 64, torch.float8_e4m3fn, "col", True, 2)
    fu.run(x, 64, torch.float8_e4m3fn, "col", outputs=outs, masked_m=_masked_m([6, 6], device))
    q_full = outs[0].clone().view(torch.uint8)
    x2 = _gate_up((2, 6), 128, torch.bfloat16, gen, device)
    fu.run(x2, 64, torch.float8_e4m3fn, "col", outputs=outs, masked_m=_masked_m([2, 0], device))
    q_new = outs[0].view(torch.uint8)
    want, _ = fu.reference(x2, 64, torch.float8_e4m3fn, "col", masked_m=_masked_m([2, 0], device))
    assert torch.equal(q_new[0, :2].cpu(), want.view(torch.uint8)[0, :2])
    assert torch.equal(q_new[0, 2:], q_full[0, 2:]) and torch.equal(q_new[1], q_full[1])


@pytest.mark.parametrize("in_dtype", [torch.float32, torch.bfloat16], ids=lambda d: str(d).replace("torch.", ""))
def test_fused_scales_expose_every_y_bit(in_dtype, device, gen):
    """Groups of one element: s = |y| / 448 carries (nearly) every bit of y,
    so any difference in e, the division or the multiply shows. Gate covers
    [-110, 110], where e(-g) runs from 0 through subnormals to overflow."""
    h = 8192
    gate = torch.linspace(-110.0, 110.0, h) + torch.rand(h, generator=gen) * 0.01
    up = 1.0 + torch.rand(h, generator=gen)
    x = torch.cat([gate, up]).reshape(1, -1).to(in_dtype).to(device)
    fu.check(x, 1, torch.float8_e4m3fn, "row", False, context="G=1")
    fu.check(x, 1, torch.int8, "col", False, context="G=1")


@pytest.mark.gpu_only
def test_reference_on_device_equals_cpu(device, gen):
    """exp_f32 / silu_and_mul use only ops that are IEEE on the GPU too, so
    the reference gives the same bits wherever it runs."""
    assert device.type == "cuda", "gpu_only test collected on a CPU backend"
    from groupquant import reference as ref
    x = _gate_up((64,), 1024, torch.float32, gen, "cpu") * 4
    x[0, :8] = torch.tensor([float("nan"), float("inf"), float("-inf"), 100.0, -100.0, 88.7, -88.7, 0.0])
    y_cpu = ref.silu_and_mul(x)
    y_dev = ref.silu_and_mul(x.to(device)).cpu()
    same = (y_cpu.view(torch.int32) == y_dev.view(torch.int32)) | (torch.isnan(y_cpu) & torch.isnan(y_dev))
    assert bool(same.all()), f"{int((~same).sum())} values differ"
    mm = torch.tensor([64, 3], dtype=torch.int32)
    x3 = x.reshape(2, 32, 2048)
    q_c, s_c = ref.per_token_group_quant_8bit_packed(x3, 128, fuse_silu_and_mul=True, masked_m=mm)
    q_d, s_d = ref.per_token_group_quant_8bit_packed(x3.to(device), 128, fuse_silu_and_mul=True,
                                                     masked_m=mm.to(device))
    assert torch.equal(q_c.view(torch.uint8), q_d.cpu().view(torch.uint8)) and torch.equal(s_c, s_d.cpu())
