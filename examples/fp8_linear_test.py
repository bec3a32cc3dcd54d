"""Checks of examples/fp8_linear.py on the CPU (the dequantized path) and, when
run with --device=cuda on a GPU host, on the cuBLAS path."""

import argparse
import os
import sys

import pytest
import torch

import groupquant
from fp8_linear import BLOCK, Fp8Linear, relative_error
from groupquant import reference as ref

# pytest imports this file as a module of its own, so the device comes
# through the environment, not a global set under __main__.
DEVICE = os.environ.get("FP8_LINEAR_TEST_DEVICE", "cpu")


def _linear(k, n, bias=True):
    torch.manual_seed(1)
    return torch.nn.Linear(k, n, bias=bias, dtype=torch.bfloat16, device=DEVICE)


@pytest.mark.parametrize("use_ue8m0", [False, True])
def test_weights_quantized_once_at_load(use_ue8m0):
    linear = _linear(256, 200)
    layer = Fp8Linear.from_linear(linear, use_ue8m0=use_ue8m0)
    q, s = ref.per_block_quant_fp8(linear.weight.detach().cpu(), (BLOCK, BLOCK), dtype=torch.float8_e4m3fn,
                                   use_ue8m0=use_ue8m0)
    assert torch.equal(layer.q_weight.cpu().view(torch.uint8), q.view(torch.uint8))
    assert torch.equal(layer.s_weight.cpu(), s) and layer.s_weight.shape == (2, 2)
    # Changing the source weight afterwards changes nothing: it was copied.
    with torch.no_grad():
        linear.weight.mul_(2)
    assert torch.equal(layer.q_weight.cpu().view(torch.uint8), q.view(torch.uint8))


def test_forward_is_the_dequantized_product():
    linear = _linear(384, 130)
    layer = Fp8Linear.from_linear(linear)
    x = torch.randn((2, 9, 384), dtype=torch.bfloat16, device=DEVICE)
    y = layer(x)
    assert y.shape == (2, 9, 130) and y.dtype == torch.bfloat16
    q_a, s_a = ref.per_token_group_quant_fp8(x.reshape(-1, 384).cpu(), 128, dtype=torch.float8_e4m3fn,
                                             column_major_scales=True)
    a = ref.dequantize_per_token_group(q_a, s_a, 128, torch.float32)
    w = ref.dequantize_per_block(*ref.per_block_quant_fp8(linear.weight.detach().cpu(), dtype=torch.float8_e4m3fn),
                                 dtype=torch.float32)
    want = ((a @ w.t()).to(torch.bfloat16) + linear.bias.detach().cpu()).reshape(2, 9, 130)
    if DEVICE == "cpu":
        assert torch.equal(y.view(torch.int16), want.view(torch.int16))
    else:
        assert relative_error(y.cpu(), want) < 2.0 ** -7


def test_close_to_nn_linear():
    linear = _linear(1024, 512)
    layer = Fp8Linear.from_linear(linear)
    x = torch.randn((64, 1024), dtype=torch.bfloat16, device=DEVICE)
    with torch.no_grad():
        err = relative_error(layer(x), linear(x))
    # e4m3 keeps 3 mantissa bits: each operand carries ~2-3% relative
    # rounding error; a wrong scale or layout gives O(1).
    assert err < 0.06, err


def test_state_dict_round_trip_and_no_bias():
    layer = Fp8Linear.from_linear(_linear(256, 128, bias=False))
    other = Fp8Linear(256, 128, bias=False, device=DEVICE)
    other.load_state_dict(layer.state_dict())
    x = torch.randn((5, 256), dtype=torch.bfloat16, device=DEVICE)
    assert torch.equal(layer(x).view(torch.int16), other(x).view(torch.int16))


def test_rejects_unaligned_in_features():
    with pytest.raises(ValueError, match="in_features"):
        Fp8Linear(100, 64)


def test_example_main_runs():
    from fp8_linear import main
    assert main(["--device", DEVICE]) == 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    args, rest = parser.parse_known_args()
    os.environ["FP8_LINEAR_TEST_DEVICE"] = args.device
    print(f"groupquant {groupquant.__version__}, device {args.device}")
    # A remote worker runs tests from "/", where Bazel's runfiles paths start
    # with "//"; pytest's path logic takes that for a different root.
    here = "/" + __file__.lstrip("/") if __file__.startswith("//") else __file__
    sys.exit(pytest.main(["-q", "-rfE", "-p", "no:cacheprovider", here, *rest]))
