"""Fake (meta) implementations of the groupquant ops.

The ops are out-variants: they write output_q and output_s in place and
return nothing, so the fake impls have no output to describe and return
None. They let FakeTensor tracing (torch.compile, export, opcheck) pass
through the ops without a kernel. Full argument validation stays with the
real kernels (one shared validator); the fake impls check only that all
tensors share a device, because with mixed devices (say CPU and meta) the
dispatcher would pick the fake impl and silently do nothing.
"""

import torch

_registered = False


def _same_device(op, input, named, masked_m=None):
    if masked_m is not None:
        named = tuple(named) + (("masked_m", masked_m),)
    for name, t in named:
        if t.device != input.device:
            raise RuntimeError(
                f"groupquant.{op}: {name} must be on the same device as input ({input.device}), got {t.device}")


# fuse_silu_and_mul and masked_m change no output shape (the outputs exist
# already); masked_m joins the device check.
def _fake_fp8(input, output_q, output_s, group_size, eps, fp8_min, fp8_max, scale_ue8m0,
              fuse_silu_and_mul=False, masked_m=None):
    _same_device("per_token_group_fp8_quant", input, (("output_q", output_q), ("output_s", output_s)),
                 masked_m)


def _fake_int8(input, output_q, output_s, group_size, eps, int8_min, int8_max, fuse_silu_and_mul=False,
               masked_m=None):
    _same_device("per_token_group_quant_int8", input, (("output_q", output_q), ("output_s", output_s)),
                 masked_m)


def _fake_packed(input, output_q, output_s_packed, group_size, eps, min_8bit, max_8bit,
                 fuse_silu_and_mul=False, masked_m=None):
    _same_device("per_token_group_quant_8bit_packed", input,
                 (("output_q", output_q), ("output_s_packed", output_s_packed)), masked_m)


_FAKES = {
    "groupquant::per_token_group_fp8_quant": _fake_fp8,
    "groupquant::per_token_group_quant_int8": _fake_int8,
    "groupquant::per_token_group_quant_8bit_packed": _fake_packed,
}


def register():
    """Register the fake impls once; the op schemas must already be loaded."""
    global _registered
    if _registered:
        return
    for name, fn in _FAKES.items():
        torch.library.register_fake(name, fn)
    _registered = True


# The consumer-side ops (csrc/consumer_schemas.cpp), out-variants too.
def _fake_block_quant(input, output_q, output_s, block_n, block_k, eps, qmin, qmax, scale_ue8m0):
    _same_device("per_block_quant", input, (("output_q", output_q), ("output_s", output_s)))


def _fake_dequant_group(q, s, output, group_size):
    _same_device("dequantize_per_token_group", q, (("s", s), ("output", output)))


def _fake_dequant_block(q, s, output, block_n, block_k):
    _same_device("dequantize_per_block", q, (("s", s), ("output", output)))


_FAKES.update({
    "groupquant::per_block_quant": _fake_block_quant,
    "groupquant::dequantize_per_token_group": _fake_dequant_group,
    "groupquant::dequantize_per_block": _fake_dequant_block,
})
