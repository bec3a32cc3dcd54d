"""The numbers that define each 8-bit output format, in one table.

The Python twin of csrc/format_traits.h: the reference, the API and the
tests read their bounds from here, the C++ validators and kernels from there,
and tests/test_reference.py pins both to docs/contract.md ("Formats").
"""

import collections

import torch

Format = collections.namedtuple(
    "Format", ["finite_min", "finite_max", "default_qmin", "default_qmax", "exponent_bias", "nan_code"])
Format.__doc__ = """One row of the table.

finite_min, finite_max: the format's finite range; the encoder saturates
there and the ops refuse clamp bounds outside it.
default_qmin, default_qmax: the public functions' bounds. e4m3fnuz's 224
rather than 240 is vLLM's and SGLang's ROCm default (the full range costs
accuracy with dynamic scales).
exponent_bias: 0 for int8, which has no exponent field.
nan_code: the byte NaN encodes to (int8 has no NaN: 0).
"""

FORMATS = {
    torch.float8_e4m3fn: Format(-448.0, 448.0, -448.0, 448.0, 7, 0x7F),
    torch.float8_e4m3fnuz: Format(-240.0, 240.0, -224.0, 224.0, 8, 0x80),
    torch.int8: Format(-128.0, 127.0, -128.0, 127.0, 0, 0x00),
}

FP8_DTYPES = (torch.float8_e4m3fn, torch.float8_e4m3fnuz)
QUANT_DTYPES = tuple(FORMATS)
INPUT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def traits(dtype):
    """The Format row of an output dtype; RuntimeError for anything else."""
    row = FORMATS.get(dtype)
    if row is None:
        raise RuntimeError(
            f"groupquant: dtype must be torch.float8_e4m3fn, torch.float8_e4m3fnuz or torch.int8, got {dtype}")
    return row


def default_qmax(dtype):
    return traits(dtype).default_qmax


def default_qmin(dtype):
    return traits(dtype).default_qmin
