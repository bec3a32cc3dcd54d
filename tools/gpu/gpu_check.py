"""CUDA backend check on a GPU host: bit-exactness sweep against
groupquant.reference, then a timing table against a device copy.

    PYTHONPATH=python python tools/gpu/gpu_check.py [--skip-big] [--skip-timing]
                                                [--only-timing] [--json PATH]

Every output is poisoned before the call and compared whole (the packed
buffer including its padding rows). Timing uses CUDA graphs of several calls
over rotating buffers (so the inputs are not L2-resident), CUDA events, and
the median of repeats; the copy baseline moves the same bytes (read + write).
"""

import argparse
import json
import statistics
import sys
import time

import torch

import groupquant
from groupquant import _layouts
from groupquant import reference as ref

OPS = torch.ops.groupquant


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()
POISON = 0x5A
FAILURES = []
CHECKED = [0]


# ---- running the op and the reference ---------------------------------------------------------

def alloc_scales(lead, m, groups, device, layout):
    if layout == "packed":
        s = _layouts.empty_packed_scales(m, groups, device)
    else:
        s = _layouts.empty_scales(lead, m, groups, device, layout in ("col", "tma"), layout == "tma")
    return s


def whole(t):
    """The tensor's whole storage as bytes (so poison outside the view is checked too)."""
    n = t.untyped_storage().nbytes()
    return torch.empty(0, dtype=torch.uint8, device=t.device).set_(t.untyped_storage(), 0, (n,), (1,))


def run_op(x, G, out_dtype, layout, ue8m0, eps, q=None, s=None, qmin=None, qmax=None):
    lead = tuple(x.shape[:-1])
    m = 1
    for d in lead:
        m *= d
    groups = x.shape[-1] // G
    if q is None:
        q = torch.empty(x.shape, dtype=out_dtype, device=x.device)
    if s is None:
        s = alloc_scales(lead, m, groups, x.device, layout)
    whole(q).fill_(POISON)
    whole(s).fill_(POISON)
    if qmax is None:
        qmax = ref.default_qmax(out_dtype)
    if qmin is None:
        qmin = ref.default_qmin(out_dtype)
    if layout == "packed":
        OPS.per_token_group_quant_8bit_packed(x, q, s, G, eps, qmin, qmax)
    elif out_dtype == torch.int8:
        OPS.per_token_group_quant_int8(x, q, s, G, eps, qmin, qmax)
    else:
        OPS.per_token_group_fp8_quant(x, q, s, G, eps, qmin, qmax, ue8m0)
    return q, s


def expected(x, G, out_dtype, layout, ue8m0, eps, device, qmin=None, qmax=None):
    if qmax is None:
        qmax = ref.default_qmax(out_dtype)
    if qmin is None:
        qmin = ref.default_qmin(out_dtype)
    xr = x.to(device)
    q, s = ref.quantize_reference(xr, G, eps, qmin, qmax, out_dtype, ue8m0 or layout == "packed")
    if layout == "packed":
        m, groups = s.shape
        s = ref.pack_ue8m0(s, m, groups)
    return q, s


def q_bytes(q):
    return q.contiguous().view(torch.uint8)


def scale_bits(s, layout):
    if layout == "packed":
        return _layouts.packed_whole_buffer(s).contiguous()
    m = s.shape[:-1].numel() if s.dim() > 1 else 1
    return s.reshape(m, s.shape[-1]).contiguous().view(torch.int32)


def report(label, ok, detail=""):
    CHECKED[0] += 1
    if not ok:
        FAILURES.append(f"{label}: {detail}")
        print(f"FAIL {label}: {detail}", flush=True)


def compare(label, *args, **kwargs):
    try:
        _compare(label, *args, **kwargs)
    except Exception as e:  # noqa: BLE001 - a crash is a failure of this case, not of the sweep
        report(label, False, f"raised {type(e).__name__}: {e}")


def _compare(label, x, G, out_dtype, layout, ue8m0=False, eps=1e-10, q=None, s=None,
             rows=None, qmin=None, qmax=None):
    gq, gs = run_op(x, G, out_dtype, layout, ue8m0, eps, q=q, s=s, qmin=qmin, qmax=qmax)
    sync()
    xs = x if rows is None else x[rows]
    ref_device = "cpu" if xs.numel() <= (1 << 22) else x.device
    wq, ws = expected(xs, G, out_dtype, layout, ue8m0, eps, ref_device, qmin=qmin, qmax=qmax)
    gqs = gq if rows is None else gq[rows]
    got_q, want_q = q_bytes(gqs).cpu(), q_bytes(wq).cpu()
    if not torch.equal(got_q, want_q):
        bad = (got_q != want_q).nonzero()
        i = tuple(bad[0].tolist())
        report(label, False, f"q differs at {bad.shape[0]} places, first {i}: got "
               f"{got_q[i].item():#04x} want {want_q[i].item():#04x} (x={xs.float().cpu()[i].item()!r})")
        return
    if rows is None:
        got_s, want_s = scale_bits(gs, layout).cpu(), scale_bits(ws, layout).cpu()
    else:
        # Row-sliced check of a huge problem: strided layouts only.
        gsr = gs.reshape(-1, gs.shape[-1])[rows]
        got_s, want_s = gsr.contiguous().view(torch.int32).cpu(), ws.contiguous().view(torch.int32).cpu()
    if not torch.equal(got_s, want_s):
        bad = (got_s != want_s).nonzero()
        i = tuple(bad[0].tolist())
        report(label, False, f"scales differ at {bad.shape[0]} places, first {i}: got "
               f"{got_s[i].item():#010x} want {want_s[i].item():#010x}")
        return
    if q is None and rows is None:
        # The op must not write outside q's view (q is contiguous here, so
        # only the scales' storage beyond the view can be checked).
        if layout in ("col", "tma", "row"):
            buf = whole(gs).view(torch.int32) if whole(gs).numel() % 4 == 0 else None
            if buf is not None:
                view_mask = torch.zeros(buf.numel(), dtype=torch.bool, device=buf.device)
                m, g = got_s.shape
                idx = (torch.arange(m, device=buf.device)[:, None] * gs.reshape(m, g).stride(0)
                       + torch.arange(g, device=buf.device)[None, :] * gs.reshape(m, g).stride(1))
                view_mask[(idx + gs.storage_offset()).reshape(-1)] = True
                outside = buf[~view_mask]
                poison_word = int.from_bytes(bytes([POISON] * 4), "little", signed=True)
                if not bool((outside == poison_word).all()):
                    report(label, False, "scale storage outside the view was written")
                    return
    report(label, True)


# ---- inputs -------------------------------------------------------------------------------------

def random_input(shape, dtype, gen, spread=8.0):
    """Normal values with a log-uniform magnitude per group-ish run of 64."""
    x = torch.randn(shape, generator=gen, dtype=torch.float32)
    n = x.shape[-1]
    mags = torch.exp2((torch.rand((*shape[:-1], (n + 63) // 64), generator=gen) * 2 - 1) * spread)
    x = x * mags.repeat_interleave(64, dim=-1)[..., :n]
    return x.to(dtype)


def specials(shape, dtype, gen):
    x = random_input(shape, dtype, gen)
    flat = x.view(-1)
    n = flat.numel()
    picks = torch.randint(0, n, (max(1, n // 50),), generator=gen)
    vals = torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1e-40, -1e-40,
                         3e38, -3e38, 448.0, 1e-8], dtype=torch.float32)
    choice = vals[torch.randint(0, len(vals), picks.shape, generator=gen)]
    flat[picks] = choice.to(dtype)
    return x


def ties(m, k, G, dtype, out_dtype):
    """Groups whose scale is exactly 1 (amax = qmax) and whose other values are
    exact rounding midpoints of the output format, so RNE ties are exercised."""
    qmax = ref.default_qmax(out_dtype)
    x = torch.zeros(m, k)
    base = torch.arange(m * k, dtype=torch.float32).reshape(m, k)
    if out_dtype == torch.int8:
        vals = (base % 200 - 100) + 0.5
    else:
        # k/32 is a rounding midpoint of e4m3 for odd k in [0.5, 1), k = 2 mod 4 in [1, 2), ...
        vals = (base % 509) / 32 * torch.where(base % 2 == 0, 1.0, -1.0)
    x[:] = vals.clamp(-qmax, qmax)
    x[:, ::G] = qmax
    return x.to(dtype)


# ---- the sweep ----------------------------------------------------------------------------------

IN_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
OUT_DTYPES = (torch.float8_e4m3fn, torch.float8_e4m3fnuz, torch.int8)


def layouts_for(out_dtype):
    base = ["row", "col", "tma", "packed"]
    return base


def ue8m0_options(out_dtype, layout):
    if layout == "packed":
        return (True,)
    if out_dtype == torch.int8:
        return (False,)
    return (False, True)


def sweep(dev, gen, skip_big):
    t0 = time.time()
    # Every dtype/format/layout at one moderate shape, random and special values.
    for ind in IN_DTYPES:
        for outd in OUT_DTYPES:
            for lay in layouts_for(outd):
                for ue in ue8m0_options(outd, lay):
                    for kind in ("rand", "special"):
                        shape = (67, 1024)
                        x = (random_input if kind == "rand" else specials)(shape, ind, gen).to(dev)
                        compare(f"{kind} {ind} {outd} {lay} ue8m0={ue} {shape}", x, 128, outd, lay, ue)
                    x = ties(9, 512, 128, ind, outd).to(dev)
                    compare(f"ties {ind} {outd} {lay} ue8m0={ue}", x, 128, outd, lay, ue)
    print(f"  formats x layouts: {CHECKED[0]} checks, {time.time() - t0:.1f}s", flush=True)

    # Shapes: vector widths (lanes 1..16, nv 1/2/4), chunk tails, generic path, padding rows.
    shapes = [
        (torch.bfloat16, 1, 7168, 128), (torch.bfloat16, 3, 7168, 128), (torch.bfloat16, 5, 7168, 128),
        (torch.bfloat16, 16, 7168, 128), (torch.bfloat16, 1000, 7168, 128), (torch.bfloat16, 4097, 7168, 128),
        (torch.bfloat16, 33, 128, 128), (torch.bfloat16, 7, 384, 128), (torch.bfloat16, 9, 640, 128),
        (torch.bfloat16, 13, 256, 64), (torch.bfloat16, 13, 64, 32), (torch.bfloat16, 13, 32, 16),
        (torch.bfloat16, 13, 16, 8), (torch.bfloat16, 6, 8, 8), (torch.bfloat16, 11, 512, 256),
        (torch.bfloat16, 11, 1536, 512), (torch.bfloat16, 11, 2048, 1024), (torch.bfloat16, 11, 384, 96),
        (torch.bfloat16, 11, 300, 100), (torch.bfloat16, 3, 21, 7), (torch.bfloat16, 4, 5, 1),
        (torch.bfloat16, 2, 14336, 7168), (torch.float32, 7, 512, 128), (torch.float32, 7, 256, 4),
        (torch.float32, 7, 64, 2), (torch.float32, 5, 3072, 1024), (torch.float16, 7, 1024, 128),
        (torch.float16, 7, 72, 24), (torch.float32, 2000, 4096, 128), (torch.float16, 300, 7168, 128),
    ]
    for ind, m, k, G in shapes:
        for lay in ("row", "tma", "packed"):
            for outd in (torch.float8_e4m3fn, torch.int8) if lay != "packed" else (torch.float8_e4m3fn,):
                x = random_input((m, k), ind, gen).to(dev)
                compare(f"shape {ind} {outd} {lay} M={m} K={k} G={G}", x, G, outd, lay,
                        ue8m0=(lay == "packed"))
    print(f"  shapes: {CHECKED[0]} checks, {time.time() - t0:.1f}s", flush=True)

    # Strides, misalignment, leading dims, out-of-range qmin/qmax, eps.
    for ind in IN_DTYPES:
        for lay in ("row", "col", "packed"):
            base = random_input((40, 1024 + 8), ind, gen).to(dev)
            compare(f"row-stride+8 {ind} {lay}", base[:, :1024], 128, torch.float8_e4m3fn, lay)
            base = random_input((40, 1024 + 1), ind, gen).to(dev)
            compare(f"row-stride+1 {ind} {lay}", base[:, :1024], 128, torch.float8_e4m3fn, lay)
            flat = random_input((40 * 1024 + 1,), ind, gen).to(dev)
            compare(f"misaligned x {ind} {lay}", flat[1:].view(40, 1024), 128, torch.float8_e4m3fn, lay)
            x = random_input((2, 5, 3, 1024), ind, gen).to(dev)
            compare(f"4-d input {ind} {lay}", x, 128, torch.float8_e4m3fn, lay)
        x = random_input((40, 1024), ind, gen).to(dev)
        qbase = torch.empty((40, 1024 + 16), dtype=torch.float8_e4m3fn, device=dev)
        compare(f"q row stride {ind}", x, 128, torch.float8_e4m3fn, "row", q=qbase[:, :1024])
        qflat = torch.empty((40 * 1024 + 3,), dtype=torch.float8_e4m3fn, device=dev)
        compare(f"misaligned q {ind}", x, 128, torch.float8_e4m3fn, "row", q=qflat[3:].view(40, 1024))
        sbase = torch.empty((40, 8 + 5), dtype=torch.float32, device=dev)
        compare(f"s row stride {ind}", x, 128, torch.float8_e4m3fn, "row", s=sbase[:, :8])
        compare(f"qmax 240 fnuz {ind}", x, 128, torch.float8_e4m3fnuz, "row", qmin=-240.0, qmax=240.0)
        compare(f"qmax 100 fn {ind}", x, 128, torch.float8_e4m3fn, "tma", qmin=-50.0, qmax=100.0)
        # Every encoder path: clamp on/off, e4m3fnuz through e4m3fn or software.
        for outd, lo, hi in ((torch.float8_e4m3fnuz, -100.0, 200.0), (torch.float8_e4m3fnuz, -230.0, 230.0),
                             (torch.float8_e4m3fnuz, -224.0, 224.0), (torch.int8, -100.0, 100.0),
                             (torch.int8, -128.0, 127.0), (torch.float8_e4m3fn, -448.0, 300.0)):
            for ue in (False, True):
                xs_ = specials((40, 1024), ind, gen).to(dev)
                compare(f"bounds {outd} [{lo}, {hi}] ue8m0={ue} {ind}", xs_, 128, outd,
                        "row", ue8m0=ue and outd != torch.int8, qmin=lo, qmax=hi)
        compare(f"eps 0.5 {ind}", x * 1e-3, 128, torch.float8_e4m3fn, "row", eps=0.5)
        compare(f"eps 0 zeros {ind}", torch.zeros_like(x), 128, torch.float8_e4m3fn, "packed", eps=0.0)
    print(f"  strides/alignment: {CHECKED[0]} checks, {time.time() - t0:.1f}s", flush=True)

    # Empty problems: no launch, no error.
    for shape in ((0, 1024), (4, 0), (0, 0)):
        x = torch.empty(shape, dtype=torch.bfloat16, device=dev)
        for lay in ("row", "packed"):
            try:
                run_op(x, 128, torch.float8_e4m3fn, lay, False, 1e-10)
                sync()
                report(f"empty {shape} {lay}", True)
            except Exception as e:  # noqa: BLE001
                report(f"empty {shape} {lay}", False, repr(e))

    if dev.type != "cuda":
        return
    # Non-default stream and CUDA graph capture: the op must use torch's current stream.
    x = random_input((256, 7168), torch.bfloat16, gen).to(dev)
    q = torch.empty(x.shape, dtype=torch.float8_e4m3fn, device=dev)
    s = alloc_scales((256,), 256, 56, dev, "packed")
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g, stream=side):
            OPS.per_token_group_quant_8bit_packed(x, q, s, 128, 1e-10, -448.0, 448.0)
    whole(q).fill_(POISON)
    whole(s).fill_(POISON)
    sync()
    g.replay()
    sync()
    wq, ws = expected(x, 128, torch.float8_e4m3fn, "packed", True, 1e-10, "cpu")
    report("cuda graph replay", torch.equal(q_bytes(q).cpu(), q_bytes(wq))
           and torch.equal(scale_bits(s, "packed").cpu(), scale_bits(ws, "packed")), "graph output differs")

    if not skip_big:
        # More than 2^31 elements: check the first and last rows.
        m, k = 300001, 7168
        x = torch.empty((m, k), dtype=torch.bfloat16, device=dev)
        x.normal_()
        assert x.numel() > 2**31
        rows = torch.cat([torch.arange(0, 64), torch.arange(m - 64, m)]).to(dev)
        compare(f"big row M={m} K={k}", x, 128, torch.float8_e4m3fn, "row", rows=rows)
        compare(f"big col M={m} K={k}", x, 128, torch.float8_e4m3fn, "col", rows=rows)
        gq, gs = run_op(x, 128, torch.float8_e4m3fn, "packed", True, 1e-10)
        sync()
        tail = x[m - 8:]
        wq, ws = expected(tail, 128, torch.float8_e4m3fn, "row", True, 1e-10, "cpu")
        got_bytes = ((gs[m - 8:].cpu().contiguous().view(torch.uint8)).reshape(8, -1)[:, :56])
        want_bytes = ref.ue8m0_byte(ws)
        pad = _layouts.packed_whole_buffer(gs).view(-1, _layouts.round_up(m, 4))[:, m:]
        report(f"big packed M={m}", torch.equal(q_bytes(gq[m - 8:]).cpu(), q_bytes(wq))
               and torch.equal(got_bytes, want_bytes) and bool((pad == 0).all()), "tail rows differ")
        del x, gq, gs
        torch.cuda.empty_cache()
    print(f"  all: {CHECKED[0]} checks, {len(FAILURES)} failures, {time.time() - t0:.1f}s", flush=True)


# ---- timing -------------------------------------------------------------------------------------

def graph_time_us(make_call, n_sets, calls_per_graph=20, repeats=15):
    """Median microseconds per call of a CUDA graph of calls over rotating buffer sets."""
    calls = [make_call(i % n_sets) for i in range(calls_per_graph)]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for c in calls[:2]:
            c()  # warm-up outside the capture (module load, occupancy query)
    sync()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for c in calls:
            c()
    g.replay()
    sync()
    times = []
    for _ in range(repeats):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        g.replay()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1000 / calls_per_graph)
    return statistics.median(times)


def timing(dev, gen, results):
    K, G = 7168, 128
    ms = (1, 16, 64, 256, 1024, 2048, 4096, 8192, 16384)
    layouts = ("row", "tma", "packed")
    rows = []
    print(f"\n{'M':>6} {'layout':>7} {'us':>8} {'GB/s':>7} {'copy us':>8} {'copy GB/s':>9} {'% copy':>7}")
    for m in ms:
        nbytes = m * K * 2 + m * K + 4 * m * K // G
        n_sets = max(1, min(20, (256 << 20) // nbytes + 1))
        xs = [torch.randn((m, K), device=dev, dtype=torch.bfloat16) for _ in range(n_sets)]
        qs = [torch.empty((m, K), device=dev, dtype=torch.float8_e4m3fn) for _ in range(n_sets)]
        src = [torch.empty(nbytes // 2, device=dev, dtype=torch.uint8) for _ in range(n_sets)]
        dst = [torch.empty(nbytes // 2, device=dev, dtype=torch.uint8) for _ in range(n_sets)]
        copy_us = graph_time_us(lambda i: (lambda: dst[i].copy_(src[i])), n_sets)
        for lay in layouts:
            ss = [alloc_scales((m,), m, K // G, dev, lay) for _ in range(n_sets)]
            if lay == "packed":
                mk = lambda i: (lambda: OPS.per_token_group_quant_8bit_packed(
                    xs[i], qs[i], ss[i], G, 1e-10, -448.0, 448.0))
            else:
                mk = lambda i: (lambda: OPS.per_token_group_fp8_quant(
                    xs[i], qs[i], ss[i], G, 1e-10, -448.0, 448.0, False))
            us = graph_time_us(mk, n_sets)
            gbs = nbytes / us / 1e3
            cgbs = nbytes / copy_us / 1e3
            rows.append(dict(m=m, layout=lay, us=us, gbs=gbs, copy_us=copy_us, copy_gbs=cgbs))
            print(f"{m:>6} {lay:>7} {us:>8.2f} {gbs:>7.0f} {copy_us:>8.2f} {cgbs:>9.0f} {100 * gbs / cgbs:>6.0f}%",
                  flush=True)
        del xs, qs, src, dst
    # Other variants at M=4096 (row-major scales).
    m = 4096
    print(f"\nvariants at M={m} K={K}:")
    for ind, outd, G2, ue in ((torch.float32, torch.float8_e4m3fn, 128, False),
                              (torch.float16, torch.float8_e4m3fn, 128, False),
                              (torch.bfloat16, torch.float8_e4m3fn, 128, True),
                              (torch.bfloat16, torch.float8_e4m3fnuz, 128, False),
                              (torch.bfloat16, torch.int8, 128, False),
                              (torch.bfloat16, torch.float8_e4m3fn, 64, False),
                              (torch.bfloat16, torch.float8_e4m3fn, 256, False),
                              (torch.bfloat16, torch.float8_e4m3fn, 112, False)):
        ib = torch.tensor([], dtype=ind).element_size()
        nbytes = m * K * ib + m * K + 4 * m * K // G2
        n_sets = max(1, min(20, (256 << 20) // nbytes + 1))
        xs = [torch.randn((m, K), device=dev, dtype=ind) for _ in range(n_sets)]
        qs = [torch.empty((m, K), device=dev, dtype=outd) for _ in range(n_sets)]
        ss = [alloc_scales((m,), m, K // G2, dev, "row") for _ in range(n_sets)]
        src = [torch.empty(nbytes // 2, device=dev, dtype=torch.uint8) for _ in range(n_sets)]
        dst = [torch.empty(nbytes // 2, device=dev, dtype=torch.uint8) for _ in range(n_sets)]
        copy_us = graph_time_us(lambda i: (lambda: dst[i].copy_(src[i])), n_sets)
        if outd == torch.int8:
            mk = lambda i: (lambda: OPS.per_token_group_quant_int8(xs[i], qs[i], ss[i], G2, 1e-10, -128.0, 127.0))
        else:
            qm = ref.default_qmax(outd)
            mk = lambda i: (lambda: OPS.per_token_group_fp8_quant(xs[i], qs[i], ss[i], G2, 1e-10, -qm, qm, ue))
        us = graph_time_us(mk, n_sets)
        gbs = nbytes / us / 1e3
        label = f"{str(ind)[6:]}->{str(outd)[6:]} G={G2}{' ue8m0' if ue else ''}"
        rows.append(dict(m=m, layout=label, us=us, gbs=gbs, copy_us=copy_us, copy_gbs=nbytes / copy_us / 1e3))
        print(f"  {label:<36} {us:>8.2f} us {gbs:>6.0f} GB/s  ({100 * gbs / (nbytes / copy_us / 1e3):.0f}% of copy)",
              flush=True)
        del xs, qs, ss, src, dst
    # Host-inclusive eager call time at M=1 (what a caller without graphs sees).
    x = torch.randn((1, K), device=dev, dtype=torch.bfloat16)
    q = torch.empty((1, K), device=dev, dtype=torch.float8_e4m3fn)
    s = alloc_scales((1,), 1, K // G, dev, "row")
    for _ in range(20):
        OPS.per_token_group_fp8_quant(x, q, s, G, 1e-10, -448.0, 448.0, False)
    sync()
    t = time.perf_counter()
    for _ in range(500):
        OPS.per_token_group_fp8_quant(x, q, s, G, 1e-10, -448.0, 448.0, False)
    sync()
    eager = (time.perf_counter() - t) / 500 * 1e6
    print(f"\neager op call at M=1 (host + launch): {eager:.1f} us")
    results["eager_m1_us"] = eager
    results["timing"] = rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--only-timing", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    args = ap.parse_args()
    if args.device == "cpu":
        # Dry run of this script's own logic against the CPU backend.
        dev = torch.device("cpu")
        args.skip_big = args.skip_timing = True
    else:
        st = groupquant.backend_status()["cuda"]
        if not st.usable:
            print(f"cuda backend not usable: {st.reason}")
            return 3
        dev = torch.device("cuda", 0)
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}", flush=True)
    gen = torch.Generator().manual_seed(args.seed)
    results = {}
    if not args.only_timing:
        sweep(dev, gen, args.skip_big)
        results["checks"] = CHECKED[0]
        results["failures"] = FAILURES
    if not args.skip_timing:
        timing(dev, gen, results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if FAILURES:
        print(f"\n{len(FAILURES)} FAILURES of {CHECKED[0]} checks")
        for f in FAILURES[:30]:
            print("  " + f)
        return 1
    print(f"\ncorrectness: {CHECKED[0]} checks passed" if not args.only_timing else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
