"""The fused SiLU*mul and masked MoE cases (`--ops fused,masked`, opt-in).

fused: x [M, 2H] -> q [M, H], M in FUSED_M x H in FUSED_H, per (format,
layout): groupquant's fused op; the two-step sequence an engine runs without
it (torch F.silu(g) * u in the input dtype, then groupquant); and
torch.compile of the fused reference. On GPUs at M <= 64 also the CUDA-graph
replay of the fused op next to the plain op at the same M*H.

masked: x [E, T, K'] with masked_m = T/d for every expert (E = 8, T = 4096,
d = 2 unless --masked-valid names others): fused with H = 2048 and plain
with K = 7168; bytes and the copy yardstick count the valid rows only.

bytes moved: read 2*M*H*in_bytes + write M*H + 4*M*H/G (fused), the plain
formula for plain masked rows. Every groupquant result is checked bit for
bit against the eager reference (a mismatch fails the run, as for the
plain op); the two-step sequence is not bit-exact by design (it rounds
silu(g)*u to the input dtype), torch.compile(reference) is reported as is.
"""

import time

import torch
import torch.nn.functional as F

import groupquant
from groupquant import reference
from groupquant.bench import candidates, inputs, report, timing
from groupquant.bench.progress import note

FUSED_M = (1, 64, 1024, 4096, 16384)
FUSED_H = (2048, 7168)
MASKED_E, MASKED_T = 8, 4096
MASKED_CASES = (("fused", 2048), ("plain", 7168))  # (kind, H or K)
MASKED_VALID_DIV = 2  # masked_m = T / this
QUICK_FUSED = ((1, 256), (5, 512))
QUICK_MASKED = (2, 8)  # E, T of a --quick run
GRAPH_MAX_M = 64
GRAPH_CALLS = 100


def fused_bytes(rows, h, in_bytes, group_size):
    return 2 * rows * h * in_bytes + rows * h + 4 * rows * h // group_size


def _plain_bytes(rows, k, in_bytes, group_size):
    return rows * k * in_bytes + rows * k + 4 * rows * k // group_size


def _valid_same(out_a, out_b, mask):
    """Bit-identical q and scales on the valid rows (the rest is not written)."""
    (qa, sa), (qb, sb) = out_a, out_b
    if qa.shape != qb.shape or sa.shape != sb.shape or sa.stride() != sb.stride():
        return False
    qa, qb = qa.view(torch.uint8).cpu()[mask], qb.view(torch.uint8).cpu()[mask]
    sa, sb = sa.cpu()[mask], sb.cpu()[mask]
    return torch.equal(qa, qb) and torch.equal(sa.view(torch.int32), sb.view(torch.int32))


class FusedRun:
    """The fused/masked measurements of one backend, sharing BackendRun's
    clock, options, device and failure list."""

    def __init__(self, job, ops, quick=False, masked_valid=(MASKED_VALID_DIV,)):
        self.job = job
        self.ops = ops
        self.quick = quick
        self.masked_valid = tuple(masked_valid)

    def steps(self):
        n = len(self.job.opts.variants)
        fused = len(self._fused_shapes()) * n if "fused" in self.ops else 0
        masked = len(MASKED_CASES) * len(self.masked_valid) * n if "masked" in self.ops else 0
        return fused + masked

    def _fused_shapes(self):
        if self.quick:
            return list(QUICK_FUSED)
        return [(m, h) for h in FUSED_H for m in FUSED_M]

    def run(self, progress):
        rows = []
        if "fused" in self.ops:
            for m, h in self._fused_shapes():
                rows += self._fused_shape(m, h, progress)
        if "masked" in self.ops:
            e, t = QUICK_MASKED if self.quick else (MASKED_E, MASKED_T)
            for kind, width in MASKED_CASES:
                if self.quick:
                    width = 256
                for d in self.masked_valid:
                    rows += self._masked_case(kind, e, t, width, max(1, t // d), progress)
        return rows

    # -- helpers -------------------------------------------------------------

    def _variants(self, progress, label):
        for variant in self.job.opts.variants:
            progress.set_postfix_str(f"{self.job.backend} {label} {variant}")
            reason = candidates.unsupported_reason(variant)
            if reason is not None:
                note(progress, f"skipping {label} {variant}: {reason}")
                progress.update(1)
                continue
            yield variant
            progress.update(1)

    def _gq(self, variant, fn, pool, expected, same, moved, label, row):
        """Times groupquant's call into row['groupquant']; False if it failed."""
        try:
            got = fn(pool[0])
            t = self.job.clock.time(fn, pool)
        except Exception as exc:  # report, keep measuring the rest
            row["groupquant"] = {"error": _short(exc)}
            self.job.failures.append(f"{self.job.backend} {label} {variant}: {row['groupquant']['error']}")
            return None
        row["groupquant"] = t.as_dict(moved)
        row["groupquant"]["bit_exact"] = same(got, expected)
        if not row["groupquant"]["bit_exact"]:
            self.job.failures.append(f"{self.job.backend} {label} {variant}: output differs from groupquant.reference")
        return t

    def _compiled(self, fn, pool, expected, same, moved):
        mode = self.job.opts.compile_mode
        if mode == "off":
            return {"unavailable": "disabled (--compile off)"}, None
        torch._dynamo.reset()
        try:
            compiled = candidates.compiled(fn, mode)
            start = time.perf_counter()
            got = compiled(pool[0])
            if self.job.device.type == "cuda":
                torch.cuda.synchronize(self.job.device)
            compile_s = time.perf_counter() - start
            t = self.job.clock.time(compiled, pool)
        except Exception as exc:
            return {"unavailable": _short(exc)}, None
        d = t.as_dict(moved)
        d["compile_s"] = compile_s
        d["bit_exact"] = same(got, expected)
        return d, t

    def _copy(self, moved):
        t = self.job.clock.time(timing.copy_candidate(), timing.copy_pool(moved // 2, self.job.device))
        return t

    # -- fused ---------------------------------------------------------------

    def _fused_shape(self, m, h, progress):
        job = self.job
        g, dtype, device = job.opts.group_size, job.dtype, job.device
        moved = fused_bytes(m, h, job.in_bytes, g)
        pool = timing.make_pool(lambda rows: inputs.activations(rows, 2 * h, dtype, device, job.opts.seed), m,
                                m * 2 * h * job.in_bytes, device)
        copy = self._copy(moved)
        rows = []
        for variant in self._variants(progress, f"fused {m}x{h}"):
            plain = candidates.call(groupquant, variant, g)
            gq = lambda x, _p=plain: _p(x, fuse_silu_and_mul=True)  # noqa: E731
            ref = candidates.call(reference, variant, g)
            eager = lambda x, _r=ref: _r(x, fuse_silu_and_mul=True)  # noqa: E731
            two_step = lambda x, _p=plain, _h=h: _p(F.silu(x[..., :_h]) * x[..., _h:])  # noqa: E731
            same = lambda a, b, _v=variant: candidates.same_bits(_v, a, b)  # noqa: E731
            row = {"op": "fused", "backend": job.backend, "m": m, "h": h, "group_size": g,
                   "in_dtype": job.opts.in_dtype, "format": variant.fmt, "layout": variant.layout,
                   "bytes_moved": moved, "copy": copy.as_dict(moved)}
            expected = eager(pool[0])
            gq_t = self._gq(variant, gq, pool, expected, same, moved, f"fused {m}x{h}", row)
            two_t = job.clock.time(two_step, pool)
            row["two_step"] = two_t.as_dict(moved)
            row["compile_ref"], comp_t = self._compiled(eager, pool, expected, same, moved)
            if gq_t is not None:
                row["pct_copy"] = 100 * copy.median / gq_t.median
                row["speedup_vs_two_step"] = two_t.median / gq_t.median
                row["speedup_vs_compile"] = comp_t.median / gq_t.median if comp_t is not None else None
                if job.opts.graphs and device.type == "cuda" and m <= GRAPH_MAX_M:
                    row["graph"] = self._graph_vs_plain(gq, plain, pool, m, h)
            rows.append(row)
        del pool
        return rows

    def _graph_vs_plain(self, gq, plain, pool, m, h):
        """Fused replay next to the plain op on [M, H] (the same M*H)."""
        try:
            fused_t = timing.graph_per_call(gq, pool, GRAPH_CALLS)
            plain_pool = [x[..., :h].contiguous() for x in pool[:4]]
            plain_t = timing.graph_per_call(plain, plain_pool, GRAPH_CALLS)
        except Exception as exc:
            self.job.failures.append(f"{self.job.backend} fused CUDA graph capture: {_short(exc)}")
            return {"error": _short(exc)}
        f, p = fused_t.median * 1e6, plain_t.median * 1e6
        return {"per_call_us": f, "plain_per_call_us": p, "ratio_vs_plain": f / p, "calls_per_graph": GRAPH_CALLS}

    # -- masked --------------------------------------------------------------

    def _masked_case(self, kind, e, t, width, valid, progress):
        job = self.job
        g, dtype, device = job.opts.group_size, job.dtype, job.device
        fused = kind == "fused"
        cols = 2 * width if fused else width
        moved = (fused_bytes if fused else _plain_bytes)(e * valid, width, job.in_bytes, g)
        pool = timing.make_pool(
            lambda n: inputs.activations(n * t, cols, dtype, device, job.opts.seed).view(n, t, cols), e,
            e * t * cols * job.in_bytes, device)
        masked_m = torch.full((e,), valid, dtype=torch.int32, device=device)
        mask = reference.masked_rows(masked_m.cpu(), t)
        copy = self._copy(moved)
        rows = []
        label = f"masked {kind} {e}x{t}x{width} ({valid} valid)"
        for variant in self._variants(progress, label):
            plain = candidates.call(groupquant, variant, g)
            gq = lambda x, _p=plain: _p(x, fuse_silu_and_mul=fused, masked_m=masked_m)  # noqa: E731
            ref = candidates.call(reference, variant, g)
            eager = lambda x, _r=ref: _r(x, fuse_silu_and_mul=fused, masked_m=masked_m)  # noqa: E731
            same = lambda a, b: _valid_same(a, b, mask)  # noqa: E731
            row = {"op": "masked", "kind": kind, "backend": job.backend, "experts": e, "t": t,
                   "valid_rows_per_expert": valid, "width": width, "group_size": g,
                   "in_dtype": job.opts.in_dtype, "format": variant.fmt, "layout": variant.layout,
                   "bytes_moved": moved, "copy": copy.as_dict(moved)}
            expected = eager(pool[0])
            gq_t = self._gq(variant, gq, pool, expected, same, moved, label, row)
            row["compile_ref"], comp_t = self._compiled(eager, pool, expected, same, moved)
            if gq_t is not None:
                row["pct_copy"] = 100 * copy.median / gq_t.median
                row["speedup_vs_compile"] = comp_t.median / gq_t.median if comp_t is not None else None
            rows.append(row)
        del pool
        return rows


def _short(exc):
    text = str(exc).strip().splitlines()
    first = next((line for line in text if line.strip()), "")
    return f"{type(exc).__name__}: {first[:300]}"


def render(rows):
    """The fused and masked tables (stdout)."""
    parts = []
    fused = [r for r in rows if r["op"] == "fused"]
    if fused:
        table = []
        for r in fused:
            gq, comp = r["groupquant"], r["compile_ref"]
            if "error" in gq:
                table.append([f"{r['format']}/{r['layout']}", r["m"], r["h"], "ERROR"] + [""] * 7)
                continue
            gr = r.get("graph") or {}
            table.append([f"{r['format']}/{r['layout']}", r["m"], r["h"], report._num(gq["median_us"]),
                          report._num(gq["gbps"]), report._num(r["pct_copy"]),
                          report._num(r["two_step"]["median_us"]), report._x(r["speedup_vs_two_step"]),
                          report._num(comp.get("median_us")), report._x(r.get("speedup_vs_compile")),
                          report._yes(gq.get("bit_exact")),
                          report._num(gr.get("per_call_us")) + (f" ({gr['ratio_vs_plain']:.2f}x plain)"
                                                                if "ratio_vs_plain" in gr else "")])
        headers = ["variant", "M", "H", "µs", "GB/s", "% copy", "two-step µs", "vs two-step", "compile µs",
                   "vs compile", "exact", "graph µs/call"]
        parts.append("== fused silu(x[:, :H]) * x[:, H:] -> quant (bytes: 2*M*H*in + M*H + 4*M*H/G) ==\n"
                     + report._table(table, headers))
    masked = [r for r in rows if r["op"] == "masked"]
    if masked:
        table = []
        for r in masked:
            gq, comp = r["groupquant"], r["compile_ref"]
            shape = f"{r['experts']}x{r['t']}x{r['width']} ({r['valid_rows_per_expert']} valid)"
            if "error" in gq:
                table.append([r["kind"], f"{r['format']}/{r['layout']}", shape, "ERROR", "", "", "", "", ""])
                continue
            table.append([r["kind"], f"{r['format']}/{r['layout']}", shape, report._num(gq["median_us"]),
                          report._num(gq["gbps"]), report._num(r["pct_copy"]), report._num(comp.get("median_us")),
                          report._x(r.get("speedup_vs_compile")), report._yes(gq.get("bit_exact"))])
        headers = ["kind", "variant", "E x T x H|K", "µs", "GB/s (valid rows)", "% copy", "compile µs",
                   "vs compile", "exact"]
        parts.append("== masked MoE layout (bytes and copy: valid rows only) ==\n" + report._table(table, headers))
    return "\n\n".join(parts)
