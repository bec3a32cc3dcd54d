"""The consumer-side ops reject every class of bad argument with a
RuntimeError naming the argument, before touching memory, and accepted calls
never write outside their outputs' views."""

import pytest
import torch

from consumer_testutil import block_scale_buffer
from gq_testutil import OPS, POISON, alloc_q, poison_, storage_bytes

N, K, BN, BK = 6, 256, 4, 128  # s [2, 2]


def _valid_block_quant(device):
    return dict(input=torch.randn((N, K), device=device), output_q=alloc_q((N, K), torch.float8_e4m3fn, device),
                output_s=block_scale_buffer(N, K, (BN, BK), device), block_n=BN, block_k=BK, eps=1e-10,
                qmin=-448.0, qmax=448.0, scale_ue8m0=False)


def _valid_dequant_group(device):
    return dict(q=alloc_q((N, K), torch.float8_e4m3fn, device), s=torch.ones((N, 2), device=device),
                output=poison_(torch.empty((N, K), dtype=torch.bfloat16, device=device)), group_size=128)


def _valid_dequant_block(device):
    return dict(q=alloc_q((N, K), torch.int8, device), s=torch.ones((2, 2), device=device),
                output=poison_(torch.empty((N, K), dtype=torch.float32, device=device)), block_n=BN, block_k=BK)


def _shrunk(t, nbytes):
    t.untyped_storage().resize_(nbytes)
    return t


def _set(**kw):
    return lambda a, d: a.update({k: (v(a, d) if callable(v) else v) for k, v in kw.items()})


BLOCK_QUANT_CASES = [
    ("input float64", _set(input=lambda a, d: a["input"].double()), "input"),
    ("input 3-D", _set(input=lambda a, d: a["input"].reshape(1, N, K)), "input"),
    ("input column stride 2", _set(input=lambda a, d: torch.randn((N, 2 * K), device=d)[:, ::2]), "input"),
    ("output_q float16", _set(output_q=lambda a, d: torch.empty((N, K), dtype=torch.float16, device=d)),
     "output_q"),
    ("output_q shape", _set(output_q=lambda a, d: alloc_q((N, K - 1), torch.float8_e4m3fn, d)), "output_q"),
    ("output_q overlapping rows", _set(output_q=lambda a, d: alloc_q((N * K,), torch.float8_e4m3fn, d)
                                       .as_strided((N, K), (K // 2, 1))), "output_q"),
    ("output_q storage too small", _set(output_q=lambda a, d: _shrunk(alloc_q((N, K), torch.float8_e4m3fn, d),
                                                                       N * K - 1)), "output_q"),
    ("output_s float16", _set(output_s=lambda a, d: torch.empty((2, 2), dtype=torch.float16, device=d)),
     "output_s"),
    ("output_s shape", _set(output_s=lambda a, d: torch.empty((2, 3), device=d)), "output_s"),
    ("output_s broadcast", _set(output_s=lambda a, d: torch.empty((2, 1), device=d).expand(2, 2)), "output_s"),
    ("output_s storage", _set(output_s=lambda a, d: _shrunk(torch.empty((2, 2), device=d), 12)), "output_s"),
    ("output_s aliases output_q", _set(output_s=lambda a, d: a["output_q"].view(torch.uint8).reshape(-1)[:16]
                                       .view(torch.float32).reshape(2, 2)), "output_s"),
    ("output_q aliases input", _set(output_q=lambda a, d: a["input"].view(torch.uint8).reshape(-1)[:N * K]
                                    .view(torch.float8_e4m3fn).reshape(N, K)), "input"),
    ("block_n 0", _set(block_n=0), "block_n"),
    ("block_k -1", _set(block_k=-1), "block_k"),
    ("eps negative", _set(eps=-1.0), "eps"),
    ("eps nan", _set(eps=float("nan")), "eps"),
    ("qmin >= qmax", _set(qmin=10.0, qmax=1.0), "qmin"),
    ("qmax beyond e4m3fn", _set(qmax=500.0), "qmax"),
    ("qmax inf", _set(qmax=float("inf")), "qmax"),
    ("output_q meta", _set(output_q=lambda a, d: torch.empty((N, K), dtype=torch.float8_e4m3fn, device="meta")),
     "output_q"),
]

DEQUANT_GROUP_CASES = [
    ("q float32", _set(q=lambda a, d: torch.zeros((N, K), device=d)), "q"),
    ("s float16", _set(s=lambda a, d: torch.ones((N, 2), dtype=torch.float16, device=d)), "s"),
    ("s shape", _set(s=lambda a, d: torch.ones((N, 3), device=d)), "s"),
    ("s packed shape", _set(s=lambda a, d: torch.zeros((N, 2), dtype=torch.int32, device=d)), "s"),
    ("s storage", _set(s=lambda a, d: _shrunk(torch.ones((N, 2), device=d), 40)), "s"),
    ("output int8", _set(output=lambda a, d: torch.empty((N, K), dtype=torch.int8, device=d)), "output"),
    ("output shape", _set(output=lambda a, d: torch.empty((N, K + 1), dtype=torch.bfloat16, device=d)), "output"),
    ("output storage", _set(output=lambda a, d: _shrunk(torch.empty((N, K), dtype=torch.bfloat16, device=d),
                                                         2 * N * K - 2)), "output"),
    ("output overlaps s", _set(s=lambda a, d: a["output"].view(torch.float32).reshape(-1)[:2 * N].reshape(N, 2)),
     "output"),
    ("output column stride 2", _set(output=lambda a, d: torch.empty((N, 2 * K), dtype=torch.bfloat16,
                                                                    device=d)[:, ::2]), "output"),
    ("group_size 0", _set(group_size=0), "group_size"),
    ("group_size does not divide K", _set(group_size=100), "group_size"),
    ("q 0-dim", _set(q=lambda a, d: torch.zeros((), dtype=torch.int8, device=d)), "q"),
    ("s meta", _set(s=lambda a, d: torch.ones((N, 2), device="meta")), "s"),
]

DEQUANT_BLOCK_CASES = [
    ("q bfloat16", _set(q=lambda a, d: torch.zeros((N, K), dtype=torch.bfloat16, device=d)), "q"),
    ("q 3-D", _set(q=lambda a, d: alloc_q((1, N, K), torch.int8, d),
                   output=lambda a, d: torch.empty((1, N, K), device=d)), "q"),
    ("s int32", _set(s=lambda a, d: torch.ones((2, 2), dtype=torch.int32, device=d)), "s"),
    ("s shape", _set(s=lambda a, d: torch.ones((2, 1), device=d)), "s"),
    ("s storage", _set(s=lambda a, d: _shrunk(torch.ones((2, 2), device=d), 8)), "s"),
    ("output shape", _set(output=lambda a, d: torch.empty((N, K - 1), device=d)), "output"),
    ("block_k 0", _set(block_k=0), "block_k"),
    ("output overlaps q", _set(q=lambda a, d: a["output"].view(torch.uint8).reshape(-1)[:N * K]
                               .view(torch.int8).reshape(N, K)), "output"),
    ("output rows overlap", _set(output=lambda a, d: torch.empty((K,), device=d).as_strided((N, K), (0, 1))),
     "output"),
]

_OPS = {
    "per_block_quant": (lambda a: OPS.per_block_quant(**a), _valid_block_quant, BLOCK_QUANT_CASES,
                        ("output_q", "output_s")),
    "dequantize_per_token_group": (lambda a: OPS.dequantize_per_token_group(**a), _valid_dequant_group,
                                   DEQUANT_GROUP_CASES, ("output",)),
    "dequantize_per_block": (lambda a: OPS.dequantize_per_block(**a), _valid_dequant_block, DEQUANT_BLOCK_CASES,
                             ("output",)),
}

_PARAMS = [(op, c[0]) for op, (_, _, cases, _) in _OPS.items() for c in cases]


@pytest.mark.parametrize("op,case", _PARAMS)
def test_bad_argument_is_named(op, case, device):
    run, valid, cases, outputs = _OPS[op]
    _, mutate, name = next(c for c in cases if c[0] == case)
    args = valid(device)
    mutate(args, device)
    snapshots = {k: storage_bytes(args[k]) for k in outputs if args[k].device.type != "meta"}
    with pytest.raises(RuntimeError, match=rf"groupquant\.{op}: .*\b{name}\b"):
        run(args)
    for k, before in snapshots.items():
        if args[k].untyped_storage().nbytes() == before.numel():
            assert torch.equal(storage_bytes(args[k]), before), f"{case}: {k} written before the check failed"


@pytest.mark.parametrize("op", list(_OPS))
def test_valid_arguments_pass(op, device):
    run, valid, _, outputs = _OPS[op]
    args = valid(device)
    run(args)
    for k in outputs:
        assert not bool((storage_bytes(args[k]) == POISON).all()), f"{op}: {k} not written"
