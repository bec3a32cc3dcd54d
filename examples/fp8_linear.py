"""A drop-in for torch.nn.Linear with block-scaled FP8 weights (DeepSeek-V3
style): weights quantized once at load per 128x128 block, activations per
call per 1x128 token group, the product on cuBLAS's block-scaled FP8 GEMM.

    layer = Fp8Linear.from_linear(torch.nn.Linear(7168, 2048, dtype=torch.bfloat16, device="cuda"))
    y = layer(x)                                      # x [..., 7168] bfloat16

On a GPU the product is torch._scaled_mm(q_a, q_w.t(), scale_a=s_a,
scale_b=s_w.t()); on the CPU (no FP8 GEMM there) it is the float32 product
of the dequantized operands, rounded once to the activations' dtype, so the
same module runs and is tested anywhere.

    tools/bazel run //examples:fp8_linear -- --in-features 512 --out-features 384
"""

import argparse
import sys

import torch

import groupquant

BLOCK = 128


class Fp8Linear(torch.nn.Module):
    """y = x W^T + b with W held as e4m3fn codes and one float32 scale per
    128x128 block. in_features must be a multiple of 128 (the activation
    group); out_features may be anything (the last weight block is partial).
    """

    def __init__(self, in_features, out_features, bias=True, device=None, use_ue8m0=False):
        super().__init__()
        if in_features % BLOCK != 0:
            raise ValueError(f"Fp8Linear: in_features must be a multiple of {BLOCK}, got {in_features}")
        self.in_features = in_features
        self.out_features = out_features
        self.use_ue8m0 = use_ue8m0
        blocks = (-(-out_features // BLOCK), in_features // BLOCK)
        self.register_buffer("q_weight", torch.zeros((out_features, in_features), dtype=torch.float8_e4m3fn,
                                                     device=device))
        self.register_buffer("s_weight", torch.ones(blocks, dtype=torch.float32, device=device))
        self.bias = torch.nn.Parameter(torch.zeros(out_features, device=device), requires_grad=False) \
            if bias else None

    @classmethod
    def from_linear(cls, linear, use_ue8m0=False):
        """Quantize an nn.Linear's weight once; the bias is kept as is."""
        w = linear.weight.detach()
        layer = cls(linear.in_features, linear.out_features, bias=linear.bias is not None, device=w.device,
                    use_ue8m0=use_ue8m0)
        layer.load_weight(w)
        if linear.bias is not None:
            layer.bias = torch.nn.Parameter(linear.bias.detach().clone(), requires_grad=False)
        return layer

    @torch.no_grad()
    def load_weight(self, weight):
        q, s = groupquant.per_block_quant_fp8(weight, (BLOCK, BLOCK), dtype=torch.float8_e4m3fn,
                                              use_ue8m0=self.use_ue8m0)
        self.q_weight.copy_(q)
        self.s_weight.copy_(s)

    def quantize_input(self, x2d):
        # Column-major scales [M, K/128] with strides (1, M): the layout
        # cuBLAS's 1x128 activation scaling reads.
        return groupquant.per_token_group_quant_fp8(x2d, BLOCK, dtype=torch.float8_e4m3fn, column_major_scales=True,
                                                    use_ue8m0=self.use_ue8m0)

    def forward(self, x):
        lead = x.shape[:-1]
        x2d = x.reshape(-1, self.in_features)
        m = x2d.shape[0]
        if x.is_cuda and m % 4:
            # torch wants activation scales with strides exactly (1, M), and
            # cuBLAS refused those on the H200 for M % 4 != 0: pad with zero
            # rows (zero codes, zero output rows) and slice them off below.
            x2d = torch.nn.functional.pad(x2d, (0, 0, 0, 4 - m % 4))
        q_a, s_a = self.quantize_input(x2d)
        if x.is_cuda:
            y = torch._scaled_mm(q_a, self.q_weight.t(), scale_a=s_a, scale_b=self.s_weight.t(),
                                 out_dtype=x.dtype)[:m]
        else:
            a = groupquant.dequantize_per_token_group(q_a, s_a, BLOCK, dtype=torch.float32)
            w = groupquant.dequantize_per_block(self.q_weight, self.s_weight, (BLOCK, BLOCK), dtype=torch.float32)
            y = (a @ w.t()).to(x.dtype)
        if self.bias is not None:
            y = y + self.bias.to(y.dtype)
        return y.reshape(*lead, self.out_features)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, use_ue8m0={self.use_ue8m0}")


def relative_error(y, y_ref):
    y, y_ref = y.double(), y_ref.double()
    return (torch.linalg.vector_norm(y - y_ref) / torch.linalg.vector_norm(y_ref)).item()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--in-features", type=int, default=512)
    p.add_argument("--out-features", type=int, default=384)
    p.add_argument("--tokens", type=int, default=33)
    p.add_argument("--device", default="cpu")
    p.add_argument("--max-rel-err", type=float, default=0.1,
                   help="fail above this relative (Frobenius) error vs the bf16 nn.Linear")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    linear = torch.nn.Linear(args.in_features, args.out_features, dtype=torch.bfloat16, device=args.device)
    layer = Fp8Linear.from_linear(linear)
    x = torch.randn((args.tokens, args.in_features), dtype=torch.bfloat16, device=args.device)
    with torch.no_grad():
        y, y_ref = layer(x), linear(x)
    err = relative_error(y, y_ref)
    print(f"{layer} on {args.device}: output {tuple(y.shape)} {y.dtype}, relative error vs bf16 nn.Linear {err:.4f}")
    if not err <= args.max_rel_err:
        print(f"relative error {err} above {args.max_rel_err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
