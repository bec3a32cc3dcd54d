"""CUDA-graph replay per call of small fused and plain calls, without the
bench's torch.compile and accuracy passes: for a device call with a minute
left. bf16, G = 128, warm input (the same x every call); each graph holds
100 calls; prints the minimum over 20 replays, µs per call. Indicative
only: the bench (`python -m groupquant.bench --ops fused`) is the
measurement of record.

    python3 tools/gpu/graph_probe.py
"""
import torch

import groupquant


def per_call_us(fn, x, kw, calls=100, replays=20):
    for _ in range(3):
        fn(x, 128, **kw)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        fn(x, 128, **kw)
        torch.cuda.synchronize()
        with torch.cuda.graph(graph):
            for _ in range(calls):
                fn(x, 128, **kw)
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(replays):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) * 1000 / calls)
    return best


def main():
    for fused in (True, False):
        for layout in ("row", "packed"):
            fn = (groupquant.per_token_group_quant_8bit_packed if layout == "packed"
                  else groupquant.per_token_group_quant_fp8)
            for m, h in ((1, 2048), (1, 7168), (64, 2048), (64, 7168)):
                x = torch.randn(m, 2 * h if fused else h, device="cuda", dtype=torch.bfloat16)
                kw = {"fuse_silu_and_mul": True} if fused else {}
                us = per_call_us(fn, x, kw)
                print(f"{'fused' if fused else 'plain'} {layout} {m} {h} {us:.2f} us/call "
                      "(min of 20 replays, 100 calls each, warm x)", flush=True)


if __name__ == "__main__":
    main()
