"""Shared test helpers: inputs, poisoned outputs, op runners, bit comparisons.

Expected results always come from groupquant.reference run on the CPU (the
definition); test_reference.py checks the reference itself, on the test's
device too.
"""

import numpy as np
import torch

import groupquant
from groupquant import _formats, _layouts
from groupquant import reference as ref

OPS = torch.ops.groupquant
FP8_DTYPES = _formats.FP8_DTYPES
OUT_DTYPES = _formats.QUANT_DTYPES
IN_DTYPES = _formats.INPUT_DTYPES
STRIDED_LAYOUTS = ("row", "col", "tma")
POISON = 0xAB
POISON_F32_BITS = 0xABABABAB


# ---------------------------------------------------------------- inputs

def random_input(shape, dtype, gen, device="cpu", spread=8):
    """randn values whose rows differ in magnitude by up to 2^+-spread.

    Generated on the CPU with `gen` so every device sees the same values.
    """
    x = torch.randn(shape, generator=gen, dtype=torch.float32)
    if dtype == torch.float16:
        spread = min(spread, 10)  # stay finite: fp16 tops out at 65504
    if x.dim() >= 2 and x.numel() > 0:
        rows = x.shape[:-1]
        exps = torch.randint(-spread, spread + 1, rows, generator=gen).to(torch.float32)
        x = x * torch.exp2(exps).unsqueeze(-1)
    # Some exact zeros and repeated values: zero groups and equal maxima.
    if x.numel() > 0:
        flat = x.view(-1)
        idx = torch.randint(0, flat.numel(), (max(1, flat.numel() // 50),), generator=gen)
        flat[idx] = 0.0
    return x.to(dtype).to(device)


def tensor_from_values(values, dtype=torch.float32, device="cpu"):
    return torch.tensor(np.asarray(values, dtype=np.float64), dtype=torch.float32).to(dtype).to(device)


def strided_rows(x, pad):
    """A copy of x [M, K] as a view whose rows have stride K + pad."""
    m, k = x.shape
    buf = torch.zeros((m, k + pad), dtype=x.dtype, device=x.device)
    buf[:, :k] = x
    return buf[:, :k]


def misaligned(x, offset=1, pad=1):
    """A copy of x [M, K] starting `offset` elements into a buffer, row stride
    K + pad: with odd offset/pad the data pointer and rows are unaligned."""
    m, k = x.shape
    buf = torch.zeros((offset + m * (k + pad) + 8,), dtype=x.dtype, device=x.device)
    view = buf.as_strided((m, k), (k + pad, 1), offset)
    view.copy_(x)
    return view


# ------------------------------------------------------- poisoned outputs

def poison_(t, byte=POISON):
    """Fill t's whole storage (not just the view) with `byte`."""
    raw = torch.empty(0, dtype=torch.uint8, device=t.device).set_(t.untyped_storage())
    raw.fill_(byte)
    return t


def storage_bytes(t):
    """A CPU copy of every byte of t's storage."""
    raw = torch.empty(0, dtype=torch.uint8, device=t.device).set_(t.untyped_storage())
    return raw.cpu().clone()


def alloc_q(shape, dtype, device):
    return poison_(torch.empty(shape, dtype=dtype, device=device))


def alloc_scales(lead, m, groups, device, layout):
    if layout == "packed":
        s = _layouts.empty_packed_scales(m, groups, device)
    else:
        s = _layouts.empty_scales(lead, m, groups, device, layout in ("col", "tma"), layout == "tma")
    return poison_(s)


# ------------------------------------------------------------ op runners

def run_op(x, group_size, out_dtype, layout="row", ue8m0=False, eps=1e-10, qmin=None, qmax=None,
           out_q=None):
    """Run the low-level op matching (out_dtype, layout) on poisoned outputs.

    layout: row | col | tma (fp8 op, or int8 op when out_dtype is int8) or
    packed (the packed op, any out_dtype). Returns (q, s).
    """
    lead, m, _, groups = _layouts.problem_shape(x, group_size)
    qmax = ref.default_qmax(out_dtype) if qmax is None else qmax
    qmin = ref.default_qmin(out_dtype) if qmin is None else qmin
    q = alloc_q(x.shape, out_dtype, x.device) if out_q is None else out_q
    s = alloc_scales(lead, m, groups, x.device, layout)
    if layout == "packed":
        OPS.per_token_group_quant_8bit_packed(x, q, s, group_size, eps, qmin, qmax)
    elif out_dtype == torch.int8:
        assert not ue8m0
        OPS.per_token_group_quant_int8(x, q, s, group_size, eps, qmin, qmax)
    else:
        OPS.per_token_group_fp8_quant(x, q, s, group_size, eps, qmin, qmax, ue8m0)
    return q, s


def expected(x, group_size, out_dtype, layout="row", ue8m0=False, eps=1e-10, qmin=None, qmax=None):
    """Reference (q, s_logical [M, K/G] float32 or the packed int32 buffer)."""
    qmax = ref.default_qmax(out_dtype) if qmax is None else qmax
    qmin = ref.default_qmin(out_dtype) if qmin is None else qmin
    ue8m0 = _layouts.ue8m0_scales(layout == "packed", ue8m0)
    q, s = ref.quantize_reference(x.cpu(), group_size, eps, qmin, qmax, out_dtype, ue8m0)
    if layout == "packed":
        m, groups = s.shape
        return q, _layouts.packed_whole_buffer(ref.pack_ue8m0(s, m, groups))
    return q, s


# ------------------------------------------------------------ comparisons

def q_bytes(q):
    return q.contiguous().cpu().view(torch.uint8)


def f32_bits(s):
    return s.contiguous().cpu().view(torch.int32)


def describe_mismatch(name, got, want, context=""):
    """Message listing the first few differing positions of equal-shape tensors."""
    diff = (got != want).nonzero()
    lines = [f"{name}: {diff.shape[0]} of {got.numel()} differ {context}".rstrip()]
    for idx in diff[:8].tolist():
        idx = tuple(idx)
        lines.append(f"  at {idx}: got {int(got[idx]):#x} want {int(want[idx]):#x}")
    return "\n".join(lines)


def assert_same_bits(got, want, name, context=""):
    assert got.shape == want.shape, f"{name}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    if not torch.equal(got, want):
        raise AssertionError(describe_mismatch(name, got, want, context))


def check_against_reference(x, group_size, out_dtype, layout="row", ue8m0=False, eps=1e-10,
                            qmin=None, qmax=None, context=""):
    """Run the op, compare every q byte and scale bit with the reference.

    For strided layouts the bytes of the scale storage outside the view (TMA
    padding rows) must still hold the poison; for packed, the whole buffer
    (padding included) is compared.
    """
    q, s = run_op(x, group_size, out_dtype, layout, ue8m0, eps, qmin, qmax)
    q_want, s_want = expected(x, group_size, out_dtype, layout, ue8m0, eps, qmin, qmax)
    ctx = (f"[x {tuple(x.shape)} {x.dtype} stride {x.stride()} G={group_size} {out_dtype} {layout} "
           f"ue8m0={ue8m0} eps={eps} qmin={qmin} qmax={qmax}] {context}")
    assert_same_bits(q_bytes(q), q_bytes(q_want), "q", ctx)
    if layout == "packed":
        assert_same_bits(_layouts.packed_whole_buffer(s).cpu(), s_want, "s_packed (whole buffer)", ctx)
    else:
        m, groups = s_want.shape
        assert_same_bits(f32_bits(s.reshape(m, groups)), f32_bits(s_want), "s", ctx)
        untouched_outside_view(s, ctx)
    return q, s


def view_footprint_mask(t, rows=None):
    """Bool mask over t's storage elements that the view t covers."""
    n = t.untyped_storage().nbytes() // t.element_size()
    idx = torch.arange(n, dtype=torch.int64)
    mask = torch.zeros(n, dtype=torch.bool)
    if t.numel() > 0:
        mask[idx.as_strided(t.shape, t.stride(), t.storage_offset()).reshape(-1)] = True
    return mask


def untouched_outside_view(t, context=""):
    """Storage elements of t outside the view must still be poison."""
    mask = view_footprint_mask(t)
    raw = storage_bytes(t).view(-1, t.element_size())
    outside = raw[~mask]
    if outside.numel() and not bool((outside == POISON).all()):
        bad = (~mask).nonzero().reshape(-1)[((outside != POISON).any(dim=1)).nonzero().reshape(-1)]
        raise AssertionError(f"wrote outside the output view at storage elements {bad[:8].tolist()} {context}")
