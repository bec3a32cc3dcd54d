"""The benchmark's embedded inputs: activation-like tensors, made from a seed.

Real activations entering an FP8 GEMM are not i.i.d. normal: a few hidden
channels are consistently large (the "massive activation" channels seen in
LLMs) and rare tokens (BOS, delimiters) are large across the whole row. Both
matter here, because a group's scale follows its largest value: a heavy
channel inflates the scale of its group and costs the other 127 values
precision, which is exactly what the accuracy table should show.

Everything is drawn from torch.Generator seeded from (seed, K), so a given
shape gives the same tensor on every run; the CPU generator makes the
accuracy input identical on every machine.
"""

import dataclasses

import torch

DEFAULT_SEED = 20240607
GROUP_SIZE = 128
HIDDEN = 7168  # DeepSeek-V3 hidden size

# Issue 3: the CPU table. Issue 4: the GPU table.
CPU_M = (1, 64, 1024, 4096)
CPU_K = (HIDDEN,)
GPU_M = (1, 16, 64, 256, 1024, 4096, 16384)
GPU_K = (2048, 4096, HIDDEN)
QUICK_M = (1, 64, 1024)
QUICK_K = (HIDDEN,)

# Shape of the activation distribution (see the module docstring).
_CHANNEL_SIGMA = 0.5  # log-normal spread of ordinary channel magnitudes
_HEAVY_CHANNEL_EVERY = 1024  # one heavy channel per this many channels
_HEAVY_CHANNEL_GAIN = (20.0, 80.0)
_OUTLIER_TOKEN_RATE = 1.0 / 256
_OUTLIER_TOKEN_GAIN = 8.0

INPUT_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


@dataclasses.dataclass(frozen=True)
class Shape:
    m: int
    k: int

    def __str__(self):
        return f"{self.m}x{self.k}"


def parse_shapes(text):
    """'1x7168,4096x7168' -> [Shape(1, 7168), Shape(4096, 7168)]."""
    shapes = []
    for item in text.split(","):
        item = item.strip().lower()
        if not item:
            continue
        parts = item.split("x")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError(f"--shapes: expected MxK items like 4096x7168, got {item!r}")
        m, k = int(parts[0]), int(parts[1])
        if m <= 0 or k <= 0:
            raise ValueError(f"--shapes: expected positive M and K, got {item!r}")
        shapes.append(Shape(m, k))
    if not shapes:
        raise ValueError("--shapes: expected at least one MxK item, got none")
    return shapes


def grid(ms, ks):
    return [Shape(m, k) for k in ks for m in ms]


def _generator(device, seed):
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


def channel_gains(k, seed=DEFAULT_SEED):
    """float32 [K]: per-channel magnitude, the same for every row of a given K."""
    g = _generator("cpu", seed * 1_000_003 + k)
    gains = torch.exp(_CHANNEL_SIGMA * torch.randn(k, generator=g))
    heavy = torch.randperm(k, generator=g)[: max(1, k // _HEAVY_CHANNEL_EVERY)]
    lo, hi = _HEAVY_CHANNEL_GAIN
    gains[heavy] *= lo + (hi - lo) * torch.rand(heavy.numel(), generator=g)
    return gains


def activations(m, k, dtype=torch.bfloat16, device="cpu", seed=DEFAULT_SEED):
    """[m, k] activation-like tensor in `dtype` on `device`, deterministic per device type."""
    device = torch.device(device)
    g = _generator(device, seed * 7919 + m * 131 + k)
    x = torch.randn((m, k), generator=g, device=device, dtype=torch.float32)
    x *= channel_gains(k, seed).to(device)
    outlier_rows = torch.rand((m, 1), generator=g, device=device) < _OUTLIER_TOKEN_RATE
    x = torch.where(outlier_rows, x * _OUTLIER_TOKEN_GAIN, x)
    return x.to(dtype)
