"""A downstream user of groupquant: quantize activations, check them, report.

    tools/bazel run //examples:quantize_example -- --tokens 64 --hidden 4096

The same file runs against an installed wheel (`python quantize_example.py`).
It compares every output bit with groupquant.reference, the definition the
kernels are tested against, and exits non-zero on any difference.
"""

import argparse
import sys

import torch

import groupquant
from groupquant import reference


def _bytes(t):
    # reshape(-1) also drops the stride of a size-1 dimension, which
    # contiguous() keeps and view() would then reject.
    return t.contiguous().reshape(-1).view(torch.uint8)


def _same_bits(a, b):
    # Compare storage bytes: NaN == NaN and -0 != +0, as bit-exactness means.
    return a.shape == b.shape and a.stride() == b.stride() and \
        torch.equal(_bytes(a), _bytes(b))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--group-size", type=int, default=128)
    p.add_argument("--device", default="cpu", help="cpu, or cuda when a GPU backend is built and present")
    args = p.parse_args(argv)

    print(f"groupquant {groupquant.__version__}: usable backends {groupquant.available_backends()}")
    torch.manual_seed(0)
    x = (torch.randn(args.tokens, args.hidden) * 3).to(torch.bfloat16).to(args.device)

    cases = {
        "fp8 (row-major scales)": lambda m: m.per_token_group_quant_fp8(x, args.group_size),
        "fp8 (UE8M0, TMA-aligned column-major scales)": lambda m: m.per_token_group_quant_fp8(
            x, args.group_size, column_major_scales=True, tma_aligned_scales=True, use_ue8m0=True),
        "int8": lambda m: m.per_token_group_quant_int8(x, args.group_size),
        "fp8, DeepGEMM-packed UE8M0 scales": lambda m: m.per_token_group_quant_8bit_packed(x, args.group_size),
    }
    failures = 0
    for name, run in cases.items():
        q, s = run(groupquant)
        q_ref, s_ref = run(reference)
        ok = _same_bits(q, q_ref) and _same_bits(s, s_ref)
        failures += not ok
        print(f"  {name:46s} q {str(q.dtype):22s} s {tuple(s.shape)} strides {s.stride()}: "
              f"{'bit-identical to the reference' if ok else 'DIFFERS from the reference'}")
    if failures:
        print(f"{failures} case(s) differ from groupquant.reference", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
