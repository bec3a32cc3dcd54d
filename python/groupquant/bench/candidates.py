"""The functions being compared, one per (output format, scale layout).

groupquant's public API and groupquant.reference take the same arguments, so
one table of calls serves the kernels, the eager reference and
torch.compile(reference) alike.
"""

import dataclasses
import functools

import torch

from groupquant import _layouts

FORMATS = {
    "e4m3fn": torch.float8_e4m3fn,
    "e4m3fnuz": torch.float8_e4m3fnuz,
    "int8": torch.int8,
}
FORMAT_NAMES = {dtype: name for name, dtype in FORMATS.items()}

# row: [M, K/G] float32; col: strides (1, M); col_tma: strides (1, round_up(M, 4));
# packed: UE8M0 exponents packed four to an int32, DeepGEMM's layout.
LAYOUTS = ("row", "col", "col_tma", "packed")


@dataclasses.dataclass(frozen=True)
class Variant:
    fmt: str
    layout: str
    ue8m0: bool = False

    @property
    def dtype(self):
        return FORMATS[self.fmt]

    def __str__(self):
        return f"{self.fmt}/{self.layout}" + ("/ue8m0" if self.ue8m0 and self.layout != "packed" else "")


def unsupported_reason(variant):
    """Why the API has no such call, or None. int8 has neither TMA scales nor a UE8M0 flag."""
    if variant.fmt == "int8" and variant.layout == "col_tma":
        return "per_token_group_quant_int8 has no tma_aligned_scales"
    if variant.fmt == "int8" and variant.ue8m0 and variant.layout != "packed":
        return "per_token_group_quant_int8 has no use_ue8m0 (UE8M0 int8 is the packed op)"
    return None


def call(module, variant, group_size):
    """fn(x) -> (q, s): `module` (groupquant or groupquant.reference) doing `variant`."""
    if variant.layout == "packed":
        return functools.partial(module.per_token_group_quant_8bit_packed, group_size=group_size,
                                 dtype=variant.dtype)
    column = variant.layout in ("col", "col_tma")
    if variant.fmt == "int8":
        return functools.partial(module.per_token_group_quant_int8, group_size=group_size,
                                 column_major_scales=column)
    return functools.partial(module.per_token_group_quant_fp8, group_size=group_size, dtype=variant.dtype,
                             column_major_scales=column, tma_aligned_scales=variant.layout == "col_tma",
                             use_ue8m0=variant.ue8m0)


def compiled(fn, mode):
    """torch.compile(fn) as asked: 'static' (one graph per shape) or 'dynamic'.

    fullgraph=True makes a graph break an error instead of a silent partial
    compile; the caller reports any error as "unavailable" with its reason.
    """
    return torch.compile(fn, dynamic=(mode == "dynamic"), fullgraph=True)


def _whole_scales(variant, s):
    """Every scale byte the op defines (the padding rows of packed included)."""
    if variant.layout == "packed":
        return _layouts.packed_whole_buffer(s)
    return s.contiguous().view(torch.int32)


def same_bits(variant, out_a, out_b):
    """Whether two (q, s) results are bit-identical, layout and padding included."""
    (qa, sa), (qb, sb) = out_a, out_b
    if qa.shape != qb.shape or sa.shape != sb.shape or sa.stride() != sb.stride():
        return False
    qa, qb = qa.view(torch.uint8).cpu(), qb.view(torch.uint8).cpu()
    sa, sb = _whole_scales(variant, sa).cpu(), _whole_scales(variant, sb).cpu()
    return torch.equal(qa, qb) and torch.equal(sa, sb)
