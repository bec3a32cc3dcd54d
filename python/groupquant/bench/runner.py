"""Runs every measurement of one backend and returns plain, JSON-ready dicts.

For each shape: one input pool (shared by every candidate), the plain copy
of the same bytes, then per (format, layout): groupquant, the eager
reference and torch.compile(reference), each checked bit for bit against
the eager reference; on a GPU and M <= GRAPH_MAX_M also a CUDA-graph replay.
Then the accuracy of every format on the embedded input.
"""

import dataclasses
import gc
import time

import torch

import groupquant
from groupquant import reference
from groupquant.bench import accuracy, candidates, inputs, timing
from groupquant.bench.progress import note

GRAPH_MAX_M = 256
GRAPH_CALLS = 100


@dataclasses.dataclass
class Options:
    variants: list
    in_dtype: str = "bf16"
    group_size: int = inputs.GROUP_SIZE
    max_calls: int = 100
    budget_s: float = 1.0
    compile_mode: str = "static"  # static | dynamic | off
    graphs: bool = True
    accuracy: bool = True
    accuracy_rows: int = 2048
    seed: int = inputs.DEFAULT_SEED


def torch_device(backend):
    # ROCm builds of torch expose HIP devices as "cuda".
    return torch.device("cpu" if backend == "cpu" else "cuda")


def bytes_moved(m, k, in_bytes, group_size):
    """The yardstick of docs/performance.md: read x, write q (1 byte each) and one fp32 scale per group."""
    return m * k * in_bytes + m * k + 4 * m * k // group_size


def _short_error(exc):
    text = str(exc).strip().splitlines()
    first = next((line for line in text if line.strip()), "")
    return f"{type(exc).__name__}: {first[:300]}"


def _raise_recompile_limit(n):
    config = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):  # renamed in torch 2.7
        if hasattr(config, name) and getattr(config, name) < n:
            setattr(config, name, n)


class BackendRun:
    def __init__(self, backend, shapes, opts):
        self.backend = backend
        self.device = torch_device(backend)
        self.shapes = shapes
        self.opts = opts
        self.progress = None  # set by run()
        self.dtype = inputs.INPUT_DTYPES[opts.in_dtype]
        self.in_bytes = torch.tensor([], dtype=self.dtype).element_size()
        self.clock = timing.Clock(self.device, max_calls=opts.max_calls, budget_s=opts.budget_s)
        self.failures = []  # groupquant errors and mismatches: the run's exit status
        self.skipped = []  # (variant, reason) the API has no call for

    def steps(self):
        return len(self.shapes) * len(self.opts.variants) + (len(self._accuracy_ks()) if self.opts.accuracy else 0)

    def run(self, progress):
        """All measurements of this backend; `progress` is a progress.bar of steps() steps."""
        self.progress = progress
        self.progress.set_postfix_str(f"{self.backend}: copy ceiling")
        ceiling_gbps, ceiling_bytes = timing.peak_copy_gbps(self.clock, self.device)
        results = []
        empty = self._empty_kernel() if self._graphs_apply() else None
        for shape in self.shapes:
            results.extend(self._shape(shape, ceiling_gbps, empty))
        acc = self._accuracy() if self.opts.accuracy else []
        return {
            "backend": self.backend,
            "device": str(self.device),
            "ceiling": {"copy_gbps": ceiling_gbps, "copy_bytes_moved": ceiling_bytes},
            "results": results,
            "accuracy": acc,
            "failures": self.failures,
            "skipped": [f"{v}: {why}" for v, why in self.skipped],
        }

    # -- timing --------------------------------------------------------------

    def _graphs_apply(self):
        return self.opts.graphs and self.device.type == "cuda"

    def _empty_kernel(self):
        fn, pool = timing.empty_kernel_proxy(self.device)
        return {
            "graph_us": timing.graph_per_call(fn, pool, GRAPH_CALLS).median * 1e6,
            "eager_us": timing.wall_per_call(fn, pool) * 1e6,
            "what": "x.add_(1) on a 1-element float32 tensor",
        }

    def _pool(self, shape):
        m, k = shape.m, shape.k
        device, dtype, seed = self.device, self.dtype, self.opts.seed
        return timing.make_pool(lambda rows: inputs.activations(rows, k, dtype, device, seed), m,
                                m * k * self.in_bytes, device)

    def _shape(self, shape, ceiling_gbps, empty):
        moved = bytes_moved(shape.m, shape.k, self.in_bytes, self.opts.group_size)
        self.progress.set_postfix_str(f"{self.backend} {shape}: inputs + copy")
        pool = self._pool(shape)
        copy = self.clock.time(timing.copy_candidate(), timing.copy_pool(moved // 2, self.device))
        copy_d = copy.as_dict(moved)
        rows = []
        for variant in self.opts.variants:
            self.progress.set_postfix_str(f"{self.backend} {shape} {variant}")
            reason = candidates.unsupported_reason(variant)
            if reason is None:
                row = self._variant(shape, variant, pool, moved, copy, ceiling_gbps, empty)
                row["copy"] = copy_d
                rows.append(row)
            else:
                if (variant, reason) not in self.skipped:
                    self.skipped.append((variant, reason))
                    note(self.progress, f"skipping {variant}: {reason}")
            self.progress.update(1)
        del pool
        gc.collect()
        return rows

    def _variant(self, shape, variant, pool, moved, copy, ceiling_gbps, empty):
        g = self.opts.group_size
        row = {
            "backend": self.backend, "m": shape.m, "k": shape.k, "group_size": g, "in_dtype": self.opts.in_dtype,
            "format": variant.fmt, "layout": variant.layout, "ue8m0": variant.ue8m0 or variant.layout == "packed",
            "bytes_moved": moved,
        }
        eager = candidates.call(reference, variant, g)
        expected = eager(pool[0])
        gq = candidates.call(groupquant, variant, g)
        try:
            got = gq(pool[0])
            gq_t = self.clock.time(gq, pool)
        except Exception as exc:  # report, keep measuring the rest
            row["groupquant"] = {"error": _short_error(exc)}
            self.failures.append(f"{self.backend} {shape} {variant}: {row['groupquant']['error']}")
            gq_t = None
        else:
            row["groupquant"] = gq_t.as_dict(moved)
            row["groupquant"]["bit_exact"] = candidates.same_bits(variant, got, expected)
            if not row["groupquant"]["bit_exact"]:
                self.failures.append(f"{self.backend} {shape} {variant}: output differs from groupquant.reference")
        eager_t = self.clock.time(eager, pool)
        row["eager_ref"] = eager_t.as_dict(moved)
        row["compile_ref"], compile_t = self._compiled(variant, eager, pool, expected, moved)
        if gq_t is not None:
            med = gq_t.median
            row["pct_copy"] = 100 * copy.median / med
            row["pct_ceiling"] = 100 * (moved / med / 1e9) / ceiling_gbps
            row["speedup_vs_eager"] = eager_t.median / med
            row["speedup_vs_compile"] = compile_t.median / med if compile_t is not None else None
            if empty is not None and shape.m <= GRAPH_MAX_M:
                row["graph"] = self._graph(gq, pool, empty)
        return row

    def _compiled(self, variant, eager, pool, expected, moved):
        mode = self.opts.compile_mode
        if mode == "off":
            return {"unavailable": "disabled (--compile off)"}, None
        if mode == "static":
            # One compiled graph per shape; resetting keeps dynamo's per-code
            # cache from filling up (a hard error under fullgraph=True).
            torch._dynamo.reset()
        else:
            # Every variant shares the reference's code objects, each with a
            # graph for M = 1 and one for the rest: more than dynamo's default
            # of 8 entries per code object.
            _raise_recompile_limit(4 * len(self.opts.variants) + 8)
        try:
            fn = candidates.compiled(eager, mode)
            start = time.perf_counter()
            got = fn(pool[0])
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            compile_s = time.perf_counter() - start
            t = self.clock.time(fn, pool)
        except Exception as exc:  # a missing compiler, an unsupported op: report it
            return {"unavailable": _short_error(exc)}, None
        d = t.as_dict(moved)
        d["compile_s"] = compile_s
        d["mode"] = mode
        d["bit_exact"] = candidates.same_bits(variant, got, expected)
        return d, t

    def _graph(self, gq, pool, empty):
        try:
            t = timing.graph_per_call(gq, pool, GRAPH_CALLS)
            warm = timing.graph_per_call(gq, pool[:1], GRAPH_CALLS)
        except Exception as exc:
            self.failures.append(f"{self.backend} CUDA graph capture: {_short_error(exc)}")
            return {"error": _short_error(exc)}
        wall = timing.wall_per_call(gq, pool)
        return {"per_call_us": t.median * 1e6, "per_call_warm_us": warm.median * 1e6,
                "calls_per_graph": GRAPH_CALLS, "eager_wall_us": wall * 1e6,
                "empty_kernel_us": empty["graph_us"], "empty_kernel_eager_us": empty["eager_us"],
                "empty_kernel": empty["what"]}

    # -- accuracy ------------------------------------------------------------

    def _accuracy_ks(self):
        return sorted({s.k for s in self.shapes if s.k % self.opts.group_size == 0})

    def _accuracy(self):
        rows = []
        for k in self._accuracy_ks():
            m = self.opts.accuracy_rows
            self.progress.set_postfix_str(f"{self.backend} accuracy {m}x{k}")
            x_cpu = inputs.activations(m, k, self.dtype, "cpu", self.opts.seed)
            x = x_cpu.to(self.device)
            for variant in accuracy.ACCURACY_VARIANTS:
                rows.append(self._accuracy_row(variant, x, x_cpu))
            self.progress.update(1)
        return rows

    def _accuracy_row(self, variant, x, x_cpu):
        g = self.opts.group_size
        row = {"backend": self.backend, "m": x.shape[0], "k": x.shape[1], "format": variant.fmt,
               "ue8m0": variant.ue8m0 or variant.layout == "packed", "via": variant.layout,
               "in_dtype": self.opts.in_dtype}
        try:
            out = candidates.call(groupquant, variant, g)(x)
        except Exception as exc:
            row["error"] = _short_error(exc)
            self.failures.append(f"{self.backend} accuracy {variant}: {row['error']}")
            return row
        deq = accuracy.dequantize(variant, *out, g)
        row.update(accuracy.error_metrics(x.float(), deq))
        # The CPU reference is the definition, whichever device ran the kernel.
        expected = candidates.call(reference, variant, g)(x_cpu)
        row["bit_exact"] = candidates.same_bits(variant, out, expected)
        if not row["bit_exact"]:
            self.failures.append(f"{self.backend} accuracy {variant}: output differs from groupquant.reference")
        return row
