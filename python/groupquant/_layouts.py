"""Shapes and scale layouts of docs/contract.md, shared by the API (which allocates
outputs for the ops) and the reference (which defines them), so the two can
never disagree on a stride."""

import math

import torch


def round_up(n, multiple):
    return (n + multiple - 1) // multiple * multiple


def problem_shape(x, group_size):
    """(lead_shape, M, K, groups_per_row) of x viewed as [M, K].

    Raises RuntimeError naming the argument. The ops validate again; this
    copy exists only because outputs cannot be allocated for a bad shape.
    """
    if not isinstance(x, torch.Tensor):
        raise RuntimeError(f"groupquant: input must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 1:
        raise RuntimeError("groupquant: input must have at least 1 dimension [..., K], got a 0-dim tensor")
    if isinstance(group_size, bool) or not isinstance(group_size, int):
        raise RuntimeError(f"groupquant: group_size must be an int, got {group_size!r}")
    k = x.shape[-1]
    if group_size <= 0:
        raise RuntimeError(f"groupquant: group_size must be > 0, got {group_size}")
    if k % group_size != 0:
        raise RuntimeError(
            f"groupquant: group_size must divide the last dim of input ({k}), got {group_size}")
    lead = tuple(x.shape[:-1])
    return lead, math.prod(lead), k, k // group_size


def fused_problem_shape(x, group_size, fuse_silu_and_mul):
    """problem_shape of the quantized tensor: with fuse_silu_and_mul, x's
    last dim is 2H and the op quantizes H columns (H % group_size == 0)."""
    if not fuse_silu_and_mul:
        return problem_shape(x, group_size)
    if not isinstance(x, torch.Tensor) or x.dim() < 1:
        return problem_shape(x, group_size)  # raises the usual error
    two_h = x.shape[-1]
    if two_h % 2 != 0:
        raise RuntimeError(
            f"groupquant: input's last dim must be even (2H: gate then up) with fuse_silu_and_mul, got {two_h}")
    return problem_shape(x[..., : two_h // 2], group_size)


def check_masked_m(x, masked_m):
    """(E, T) of a masked call; raises RuntimeError naming the argument."""
    if not isinstance(masked_m, torch.Tensor):
        raise RuntimeError(f"groupquant: masked_m must be a torch.Tensor or None, got {type(masked_m).__name__}")
    if x.dim() != 3:
        raise RuntimeError(f"groupquant: input must be 3-D [E, T, K] with masked_m, got shape {tuple(x.shape)}")
    if masked_m.dtype != torch.int32:
        raise RuntimeError(f"groupquant: masked_m must have dtype torch.int32, got {masked_m.dtype}")
    if masked_m.dim() != 1 or masked_m.shape[0] != x.shape[0]:
        raise RuntimeError(
            f"groupquant: masked_m must have shape [{x.shape[0]}] (input's E), got {tuple(masked_m.shape)}")
    if masked_m.device != x.device:
        raise RuntimeError(f"groupquant: masked_m must be on input's device ({x.device}), got {masked_m.device}")
    return x.shape[0], x.shape[1]


def empty_masked_scales(experts, rows, groups, device, column_major=False, tma_aligned=False):
    """Float32 scales [E, T, G'] of a masked call: expert e's [T, G'] block is
    laid out as empty_scales lays out M = T rows, experts outermost.

    row-major strides (T*G', G', 1); column-major (G'*T, 1, T); TMA-aligned
    column-major (G'*round_up(T, 4), 1, round_up(T, 4)).
    """
    if not column_major:
        return torch.empty((experts, rows, groups), dtype=torch.float32, device=device)
    padded = round_up(rows, 4) if tma_aligned else rows
    buf = torch.empty((experts, groups, padded), dtype=torch.float32, device=device)
    return buf[:, :, :rows].transpose(1, 2)


def empty_masked_packed_scales(experts, rows, groups, device):
    """Int32 [E, T, ceil(G'/4)] of a masked packed call, strides
    (ceil(G'/4) * round_up(T, 4), 1, round_up(T, 4)): expert e's block is the
    2-D packed layout of M = T rows."""
    cols, padded = packed_geometry(rows, groups)
    buf = torch.empty((experts * cols * padded,), dtype=torch.int32, device=device)
    return buf.as_strided((experts, rows, cols), (cols * padded, 1, padded))


def empty_scales(lead, m, groups, device, column_major=False, tma_aligned=False):
    """Uninitialised float32 scales in the requested layout.

    row-major [*lead, G'] contiguous; column-major [M, G'] strides (1, M);
    TMA-aligned column-major strides (1, round_up(M, 4)). tma_aligned without
    column_major is ignored, as in vLLM.
    """
    if not column_major:
        return torch.empty((*lead, groups), dtype=torch.float32, device=device)
    rows = round_up(m, 4) if tma_aligned else m
    # Allocate groups x rows so the padding rows of a TMA layout are inside
    # the storage (TMA reads whole aligned columns).
    buf = torch.empty((groups, rows), dtype=torch.float32, device=device)
    return buf[:, :m].t()


def packed_geometry(m, groups):
    """(packed_cols, padded_rows) of the packed UE8M0 layout: four exponent
    bytes per int32 word, rows padded to a multiple of 4 (C++: packed_cols,
    packed_rows in csrc/validation_util.h)."""
    return (groups + 3) // 4, round_up(m, 4)


def ue8m0_scales(packed, use_ue8m0=False):
    """Whether scales are rounded to powers of two: when asked, and always
    in the packed layout, whose bytes can only hold exponents."""
    return bool(packed) or bool(use_ue8m0)


def empty_packed_scales(m, groups, device):
    """Uninitialised int32 [M, ceil(G'/4)] with strides (1, round_up(M, 4)).

    The storage covers the padding rows of every column, the last one
    included, because the op writes them (zeros).
    """
    cols, rows = packed_geometry(m, groups)
    buf = torch.empty((cols * rows,), dtype=torch.int32, device=device)
    return buf.as_strided((m, cols), (1, rows))


def packed_whole_buffer(s_packed):
    """The whole packed buffer (padding rows included) as a 1-D int32 view."""
    if s_packed.dim() == 3:  # masked: E blocks of the 2-D layout
        experts, m, cols = s_packed.shape
        rows = s_packed.stride(2) if cols > 0 else round_up(m, 4)
        return s_packed.as_strided((experts * cols * rows,), (1,), s_packed.storage_offset())
    m, cols = s_packed.shape
    rows = s_packed.stride(1) if cols > 0 else round_up(m, 4)
    return s_packed.as_strided((cols * rows,), (1,), s_packed.storage_offset())
