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
    """(packed_cols, padded_rows) of the packed UE8M0 layout."""
    return (groups + 3) // 4, round_up(m, 4)


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
    m, cols = s_packed.shape
    rows = s_packed.stride(1) if cols > 0 else round_up(m, 4)
    return s_packed.as_strided((cols * rows,), (1,), s_packed.storage_offset())
