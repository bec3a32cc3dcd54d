"""Helpers of the fused SiLU*mul / masked MoE tests: run the low-level ops on
poisoned outputs, and build the exact storage bytes each output must hold
afterwards (reference values where written, the poison everywhere else)."""

import torch

from gq_testutil import OPS, POISON, poison_, storage_bytes
from groupquant import _layouts
from groupquant import reference as ref


def alloc_outputs(x, group_size, out_dtype, layout, fused, experts):
    """Poisoned q and scales shaped for x, as the public API lays them out."""
    lead, m, k, groups = _layouts.fused_problem_shape(x, group_size, fused)
    q = poison_(torch.empty((*lead, k), dtype=out_dtype, device=x.device))
    if experts is None:
        if layout == "packed":
            s = _layouts.empty_packed_scales(m, groups, x.device)
        else:
            s = _layouts.empty_scales(lead, m, groups, x.device, layout in ("col", "tma"), layout == "tma")
    else:
        rows = x.shape[1]
        if layout == "packed":
            s = _layouts.empty_masked_packed_scales(experts, rows, groups, x.device)
        else:
            s = _layouts.empty_masked_scales(experts, rows, groups, x.device, layout in ("col", "tma"),
                                             layout == "tma")
    return q, poison_(s)


def run(x, group_size, out_dtype, layout, ue8m0=False, fused=True, masked_m=None, outputs=None):
    """The low-level op for (out_dtype, layout) with fused/masked_m; (q, s)."""
    experts = None if masked_m is None else x.shape[0]
    q, s = outputs if outputs is not None else alloc_outputs(x, group_size, out_dtype, layout, fused, experts)
    qmax, qmin = ref.default_qmax(out_dtype), ref.default_qmin(out_dtype)
    if layout == "packed":
        OPS.per_token_group_quant_8bit_packed(x, q, s, group_size, 1e-10, qmin, qmax, fused, masked_m)
    elif out_dtype == torch.int8:
        OPS.per_token_group_quant_int8(x, q, s, group_size, 1e-10, qmin, qmax, fused, masked_m)
    else:
        OPS.per_token_group_fp8_quant(x, q, s, group_size, 1e-10, qmin, qmax, ue8m0, fused, masked_m)
    return q, s


def reference(x, group_size, out_dtype, layout, ue8m0=False, fused=True, masked_m=None):
    """groupquant.reference's public function for the same call, on the CPU."""
    x = x.cpu()
    mm = None if masked_m is None else masked_m.cpu()
    kw = dict(fuse_silu_and_mul=fused, masked_m=mm)
    if layout == "packed":
        return ref.per_token_group_quant_8bit_packed(x, group_size, dtype=out_dtype, **kw)
    cm, tma = layout in ("col", "tma"), layout == "tma"
    if out_dtype == torch.int8:
        return ref.per_token_group_quant_int8(x, group_size, column_major_scales=cm, **kw)
    return ref.per_token_group_quant_fp8(x, group_size, dtype=out_dtype, column_major_scales=cm,
                                         tma_aligned_scales=tma, use_ue8m0=ue8m0, **kw)


def _poisoned_twin(t, view_dtype):
    """(raw, view): a CPU byte buffer the size of t's storage filled with the
    poison, and a view into it with t's offset, shape and strides."""
    raw = torch.full((t.untyped_storage().nbytes(),), POISON, dtype=torch.uint8)
    view = torch.empty(0, dtype=view_dtype).set_(raw.untyped_storage(), t.storage_offset(), t.shape, t.stride())
    return raw, view


def _as_bits(t):
    if t.dtype == torch.float32:
        return t.view(torch.int32)
    if t.element_size() == 1:
        return t.view(torch.uint8)
    return t


def expected_storage(out, want, mask=None, packed_whole=None):
    """Every byte out's storage must hold: want (same shape as out) where
    mask [E, T] is true (everywhere when None), the poison elsewhere;
    packed_whole (1-D int32) replaces the whole packed buffer when given."""
    bits = _as_bits(want.cpu())
    raw, view = _poisoned_twin(out, bits.dtype)
    if packed_whole is not None:
        _layouts.packed_whole_buffer(view).copy_(packed_whole)
    elif mask is None:
        view.copy_(bits)
    else:
        view[mask.cpu()] = bits[mask.cpu()]
    return raw


def describe(got, want, label):
    diff = (got != want).nonzero().reshape(-1)
    return f"{label}: {diff.numel()} storage bytes differ, first at {diff[:8].tolist()}"


def check(x, group_size, out_dtype, layout, ue8m0=False, fused=True, masked_m=None, context=""):
    """Op vs reference, every byte of the outputs' storage."""
    q, s = run(x, group_size, out_dtype, layout, ue8m0, fused, masked_m)
    q_want, s_want = reference(x, group_size, out_dtype, layout, ue8m0, fused, masked_m)
    label = (f"[x {tuple(x.shape)} {x.dtype} strides {x.stride()} G={group_size} {out_dtype} {layout} "
             f"ue8m0={ue8m0} fused={fused} masked_m={None if masked_m is None else masked_m.tolist()}] {context}")
    mask = None if masked_m is None else ref.masked_rows(masked_m.cpu(), x.shape[1])
    got_q = storage_bytes(q)
    want_q = expected_storage(q, q_want, mask)
    assert torch.equal(got_q, want_q), describe(got_q, want_q, "q " + label)
    whole = None
    if layout == "packed" and mask is None:
        whole = _layouts.packed_whole_buffer(s_want).cpu()
    got_s = storage_bytes(s)
    want_s = expected_storage(s, s_want, mask, whole)
    assert torch.equal(got_s, want_s), describe(got_s, want_s, "scales " + label)
    return q, s
