"""How long a call takes, measured the same way for every candidate.

Inputs rotate over a pool of row-slices that together exceed the last-level
cache (2x L2 on a GPU, 2x LLC on a CPU), so each call reads cold memory the
way it would inside a model rather than re-reading what the previous call
left in cache. Every candidate (groupquant, the references, the plain copy)
is timed on the same pool, so their ratios are like for like.

CPU: time.perf_counter around each call (what the caller waits). CUDA: a
pair of CUDA events around each call with the host queued ahead of the GPU
(see Clock), i.e. the device time of the call; the host's own cost is
reported next to it (wall_per_call) and the CUDA-graph replay shows what is
left of it when launches are batched.
"""

import dataclasses
import math
import statistics
import time

import torch

_FALLBACK_LLC_BYTES = 32 << 20


@dataclasses.dataclass
class Timing:
    """Per-call seconds of one measurement (warm-up excluded)."""

    samples: list

    @property
    def median(self):
        return statistics.median(self.samples)

    def quantile(self, q):
        s = sorted(self.samples)
        return s[min(len(s) - 1, int(q * len(s)))]

    def as_dict(self, bytes_moved):
        med = self.median
        return {
            "median_us": med * 1e6,
            "p10_us": self.quantile(0.1) * 1e6,
            "p90_us": self.quantile(0.9) * 1e6,
            "calls": len(self.samples),
            "gbps": bytes_moved / med / 1e9 if med > 0 else None,
        }


def cpu_llc_bytes():
    """Largest cache reported by sysfs for CPU 0 (the LLC), or 32 MiB."""
    best = 0
    base = "/sys/devices/system/cpu/cpu0/cache"
    for i in range(8):
        try:
            with open(f"{base}/index{i}/size") as f:
                text = f.read().strip()
        except OSError:
            continue
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        digits = text[:-1] if text[-1:].isalpha() else text
        if digits.isdigit():
            best = max(best, int(digits) * scale)
    return best or _FALLBACK_LLC_BYTES


def cache_bytes(device):
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return int(getattr(props, "L2_cache_size", 0) or (50 << 20))
    return cpu_llc_bytes()


def pool_slices(slice_bytes, device):
    """How many distinct slices make the rotation exceed twice the cache."""
    return max(2, math.ceil(2 * cache_bytes(device) / max(1, slice_bytes)))


def make_pool(make_rows, m, slice_bytes, device, max_slices=None):
    """A list of [m, ...] views of one tensor of n*m rows, n from pool_slices.

    make_rows(rows) builds the backing tensor; views are taken up front so
    the timed loop does no slicing.
    """
    n = pool_slices(slice_bytes, device)
    if max_slices is not None:
        n = min(n, max_slices)
    backing = make_rows(n * m)
    return [backing[i * m:(i + 1) * m] for i in range(n)]


class Clock:
    """Times calls fn(pool[i % len(pool)]) on one device.

    On CUDA the figure is device time: before each batch of calls the GPU is
    kept busy by a spin kernel (torch.cuda._sleep) long enough for the host
    to enqueue the whole batch, so the events bracket the work on the GPU,
    not the Python call that launched it. The host's cost per call is
    measured separately (wall_per_call) and by the CUDA-graph replay.
    """

    _BATCH = 25  # calls queued behind one spin; keeps the launch queue short

    def __init__(self, device, max_calls, budget_s, min_calls=3, warmup=3):
        self.device = device
        self.max_calls = max_calls
        self.budget_s = budget_s
        self.min_calls = min_calls
        self.warmup = warmup
        self._cycles_per_s = None

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _warm_up(self, fn, pool):
        """(calls done, seconds per call end to end, host seconds per call)."""
        start = time.perf_counter()
        fn(pool[0])  # lazy initialisation, compilation caches, allocator growth
        self._sync()
        first = time.perf_counter() - start
        rest = self.warmup - 1 if first < self.budget_s else 0
        if rest <= 0:
            return 1, first, first
        start = time.perf_counter()
        for i in range(1, 1 + rest):
            fn(pool[i % len(pool)])
        host = (time.perf_counter() - start) / rest
        self._sync()
        per_call = (time.perf_counter() - start) / rest
        return 1 + rest, per_call, host

    def time(self, fn, pool):
        offset, per_call, host = self._warm_up(fn, pool)  # the rotation goes on where the warm-up stopped
        fit = int(self.budget_s / per_call) if per_call > 0 else self.max_calls
        calls = max(self.min_calls, min(self.max_calls, fit))
        if self.device.type == "cuda":
            return Timing(self._time_cuda(fn, pool, calls, offset, host))
        return Timing(self._time_cpu(fn, pool, calls, offset))

    @staticmethod
    def _time_cpu(fn, pool, calls, offset):
        samples = []
        n = len(pool)
        for i in range(calls):
            x = pool[(offset + i) % n]
            t0 = time.perf_counter()
            fn(x)
            samples.append(time.perf_counter() - t0)
        return samples

    def _gpu_cycles_per_s(self):
        if self._cycles_per_s is None:
            cycles = 10_000_000
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda._sleep(cycles // 10)  # first launch pays module loading
            start.record()
            torch.cuda._sleep(cycles)
            end.record()
            end.synchronize()
            self._cycles_per_s = cycles / (start.elapsed_time(end) / 1e3)
        return self._cycles_per_s

    def _time_cuda(self, fn, pool, calls, offset, host_s):
        n = len(pool)
        samples = []
        for first in range(0, calls, self._BATCH):
            batch = min(self._BATCH, calls - first)
            starts = [torch.cuda.Event(enable_timing=True) for _ in range(batch)]
            ends = [torch.cuda.Event(enable_timing=True) for _ in range(batch)]
            # 1.5x the host's enqueue time, so the GPU is still spinning when
            # the last call of the batch has been queued.
            spin_s = 1.5 * batch * host_s + 20e-6
            torch.cuda._sleep(int(spin_s * self._gpu_cycles_per_s()))
            for i in range(batch):
                x = pool[(offset + first + i) % n]
                starts[i].record()
                fn(x)
                ends[i].record()
            self._sync()
            samples += [s.elapsed_time(e) / 1e3 for s, e in zip(starts, ends)]
        return samples


def wall_per_call(fn, pool, calls=200):
    """Wall-clock seconds per call of back-to-back calls: what an eager caller pays."""
    n = len(pool)
    for i in range(3):
        fn(pool[i % n])
    torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(calls):
        fn(pool[(3 + i) % n])
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / calls


def copy_candidate():
    """A plain device copy: dst.copy_(src), the memory-bound ceiling's yardstick.

    The pool holds uint8 sources of bytes_moved/2 bytes, so read + write
    equals the quantizer's bytes moved. Every call writes the same dst, as the
    caching allocator also hands the API the same output blocks call after
    call.
    """
    state = {}

    def run(src):
        dst = state.get(src.numel())
        if dst is None:
            dst = state[src.numel()] = torch.empty_like(src)
        dst.copy_(src)

    return run


def copy_pool(nbytes, device):
    nbytes = max(1, nbytes)
    return make_pool(lambda rows: torch.ones((rows, nbytes), dtype=torch.uint8, device=device),
                     1, nbytes, device)


def peak_copy_gbps(clock, device):
    """The device's copy ceiling: GB/s (read + write) of a copy far larger than any cache."""
    half = max(256 << 20, 4 * cache_bytes(device)) if device.type == "cuda" else max(64 << 20, 2 * cache_bytes(device))
    pool = make_pool(lambda rows: torch.ones((rows, half), dtype=torch.uint8, device=device), 1, half, device,
                     max_slices=2)
    timing = clock.time(copy_candidate(), pool)
    return 2 * half / timing.median / 1e9, 2 * half


def graph_per_call(fn, pool, calls_per_graph=100, replays=20):
    """Seconds per call when `calls_per_graph` calls are replayed from one CUDA graph.

    Warm-up runs on a side stream before capture, as torch.cuda.graphs
    requires; outputs allocated during capture come from the graph's pool.
    """
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for i in range(3):
            fn(pool[i % len(pool)])
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for i in range(calls_per_graph):
            fn(pool[i % len(pool)])
    graph.replay()
    torch.cuda.synchronize()
    samples = []
    for _ in range(replays):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / 1e3 / calls_per_graph)
    del graph
    return Timing(samples)


def empty_kernel_proxy(device):
    """The 'empty kernel': an in-place add on a 1-element tensor (one tiny launch)."""
    t = torch.zeros(1, device=device)
    return (lambda _x: t.add_(1.0)), [t]
