"""Helpers for the consumer-side op tests: poisoned outputs, op runners and
bit comparisons against groupquant.reference run on the CPU."""

import math

import torch

from gq_testutil import OPS, alloc_q, assert_same_bits, poison_, q_bytes, untouched_outside_view
from groupquant import reference as ref

CODE_DTYPES = (torch.float8_e4m3fn, torch.float8_e4m3fnuz, torch.int8)
FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_BITS = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}


def float_bits(t):
    return t.contiguous().cpu().view(_BITS[t.dtype])


def block_scale_buffer(n, k, block, device, layout="row", pad=0):
    """Poisoned float32 [ceil(N/bn), ceil(K/bk)] scales, row- or column-major,
    with `pad` spare elements per row (row) or column (col) for guard bytes."""
    r, c = math.ceil(n / block[0]), math.ceil(k / block[1])
    if layout == "row":
        buf = torch.empty((r, c + pad), dtype=torch.float32, device=device)
        s = buf[:, :c]
    else:
        buf = torch.empty((c, r + pad), dtype=torch.float32, device=device)
        s = buf[:, :r].t()
    return poison_(s)


def run_block_quant(w, block, out_dtype, ue8m0=False, eps=1e-10, qmin=None, qmax=None, s_layout="row", s_pad=0,
                    q_pad=0):
    """The low-level op on poisoned outputs (q rows may carry `q_pad` guard bytes)."""
    n, k = w.shape
    qmax = ref.default_qmax(out_dtype) if qmax is None else qmax
    qmin = ref.default_qmin(out_dtype) if qmin is None else qmin
    q_buf = alloc_q((n, k + q_pad), out_dtype, w.device)
    q = q_buf[:, :k]
    s = block_scale_buffer(n, k, block, w.device, s_layout, s_pad)
    OPS.per_block_quant(w, q, s, block[0], block[1], eps, qmin, qmax, ue8m0)
    return q, s


def check_block_quant(w, block, out_dtype, ue8m0=False, eps=1e-10, qmin=None, qmax=None, s_layout="row",
                      s_pad=0, q_pad=0, context=""):
    q, s = run_block_quant(w, block, out_dtype, ue8m0, eps, qmin, qmax, s_layout, s_pad, q_pad)
    qmax_ = ref.default_qmax(out_dtype) if qmax is None else qmax
    qmin_ = ref.default_qmin(out_dtype) if qmin is None else qmin
    q_want, s_want = ref.block_quant_reference(w.cpu(), block, eps, qmin_, qmax_, out_dtype, ue8m0)
    ctx = (f"[w {tuple(w.shape)} {w.dtype} stride {w.stride()} block={block} {out_dtype} ue8m0={ue8m0} "
           f"eps={eps} qmin={qmin} qmax={qmax} s {s_layout}] {context}")
    assert_same_bits(q_bytes(q), q_bytes(q_want), "q", ctx)
    assert_same_bits(s.contiguous().cpu().view(torch.int32), s_want.view(torch.int32), "s", ctx)
    untouched_outside_view(q, ctx)
    untouched_outside_view(s, ctx)
    return q, s
