"""How much each output format loses: dequantize and compare with the input.

rel_err = ||deq - x|| / ||x|| over the whole tensor (float64 sums), and
SNR = 20 log10(||x|| / ||deq - x||) dB. The same input goes through every
(format, UE8M0 on/off) pair; UE8M0 rounds each scale up to a power of two,
which wastes up to one bit of range and shows up as a lower SNR.
"""

import math

import torch

from groupquant.bench.candidates import Variant

# Every format with UE8M0 off and on. int8 has no UE8M0 flag on the strided
# op, so its UE8M0 row goes through the packed op (which always uses UE8M0).
ACCURACY_VARIANTS = (
    Variant("e4m3fn", "row"), Variant("e4m3fn", "row", ue8m0=True),
    Variant("e4m3fnuz", "row"), Variant("e4m3fnuz", "row", ue8m0=True),
    Variant("int8", "row"), Variant("int8", "packed", ue8m0=True),
)


def packed_scales(s_packed, groups):
    """float32 [M, groups] from DeepGEMM's packed UE8M0 words: scale = 2^(byte - 127)."""
    m = s_packed.shape[0]
    # Shift the bytes out arithmetically: a [M, 1] view of the column-major
    # buffer counts as contiguous yet keeps stride M, so a dtype view fails.
    shifts = torch.tensor([0, 8, 16, 24], dtype=torch.int32, device=s_packed.device)
    exp_bytes = ((s_packed.unsqueeze(-1) >> shifts) & 0xFF).reshape(m, -1)[:, :groups]
    return (exp_bytes.to(torch.int32) << 23).view(torch.float32)


def dequantize(variant, q, s, group_size):
    k = q.shape[-1]
    groups = k // group_size
    m = q.numel() // k
    scales = packed_scales(s, groups) if variant.layout == "packed" else s.reshape(m, groups)
    values = q.reshape(m, groups, group_size).to(torch.float32)
    return (values * scales.to(torch.float32).unsqueeze(-1)).reshape(q.shape)


def error_metrics(x, deq):
    x64 = x.to(torch.float64)
    err = torch.linalg.vector_norm(deq.to(torch.float64) - x64).item()
    ref = torch.linalg.vector_norm(x64).item()
    rel = err / ref if ref > 0 else float("nan")
    snr = 20 * math.log10(ref / err) if err > 0 else float("inf")
    return {"rel_err": rel, "snr_db": snr}
