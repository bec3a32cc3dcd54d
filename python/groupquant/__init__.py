"""groupquant: per-token-group 8-bit quantization (FP8 e4m3fn/e4m3fnuz, INT8).

    q, s = groupquant.per_token_group_quant_fp8(x, group_size=128)

`groupquant.reference` holds the same three functions in plain PyTorch: the
definition every backend is tested against. `available_backends()` lists the
backends that can run now; `backend_status()` says why any other cannot.
"""

from groupquant import _fake, _loader
from groupquant import reference
from groupquant._loader import available_backends, backend_status, loaded_backends
from groupquant.api import (
    per_token_group_quant_8bit_packed,
    per_token_group_quant_fp8,
    per_token_group_quant_int8,
)
from groupquant.version import __version__

_loader.load()
if "cpu" in _loader.loaded_backends():
    _fake.register()

__all__ = [
    "per_token_group_quant_fp8",
    "per_token_group_quant_int8",
    "per_token_group_quant_8bit_packed",
    "reference",
    "available_backends",
    "backend_status",
    "loaded_backends",
    "__version__",
]

# The consumer-side ops: weight block quantization and dequantize.
from groupquant.consumers import (  # noqa: E402
    dequantize_per_block,
    dequantize_per_token_group,
    per_block_quant_fp8,
    per_block_quant_int8,
)

__all__ += [
    "per_block_quant_fp8",
    "per_block_quant_int8",
    "dequantize_per_token_group",
    "dequantize_per_block",
]
