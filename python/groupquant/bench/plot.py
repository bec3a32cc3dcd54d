"""The PNG: GB/s against M, one panel per (backend, K), copy ceiling drawn in.

Solid lines are groupquant per layout (and format, when several were run);
dashed lines of the same colour are torch.compile(reference) on the same
inputs, so the plot shows the baseline, not only the kernel. Both axes are
logarithmic when the values span more than two decades (small M is
launch-bound and orders of magnitude below the ceiling).
"""

from groupquant.bench import extras


def _pyplot():
    matplotlib = extras.load("matplotlib")
    matplotlib.use("Agg")  # no display on build or GPU hosts
    return extras.load("matplotlib.pyplot")


def _series(rows, key):
    pts = sorted((r["m"], r[key]["gbps"]) for r in rows if r[key].get("gbps"))
    return [p[0] for p in pts], [p[1] for p in pts]


_MARKERS = "osD^v<>"


def plot(runs, machine, path, title_extra="", layout_order=()):
    panels = [(run, k) for run in runs for k in sorted({r["k"] for r in run["results"]})]
    if not panels:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.8), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (run, k) in zip(axes[0], panels):
        rows = [r for r in run["results"] if r["k"] == k]
        order = {name: i for i, name in enumerate(layout_order)}
        keys = sorted({(r["format"], r["layout"]) for r in rows},
                      key=lambda fl: (fl[0], order.get(fl[1], len(order)), fl[1]))
        multi_format = len({f for f, _ in keys}) > 1
        values = []
        for i, (fmt, layout) in enumerate(keys):
            sel = [r for r in rows if (r["format"], r["layout"]) == (fmt, layout)]
            label = f"{fmt} {layout}" if multi_format else layout
            color = colors[i % len(colors)]
            xs, ys = _series(sel, "groupquant")
            # Distinct markers too: layouts that run at the same speed overlap.
            ax.plot(xs, ys, "-", marker=_MARKERS[i % len(_MARKERS)], color=color, label=f"groupquant {label}")
            values += ys
            xs, ys = _series(sel, "compile_ref")
            if xs:
                ax.plot(xs, ys, "--", marker=_MARKERS[i % len(_MARKERS)], fillstyle="none", color=color, alpha=0.6,
                        label=f"torch.compile(ref) {label}")
                values += ys
        ceil = run["ceiling"]["copy_gbps"]
        ceil_text = f"{ceil:.0f}" if ceil >= 100 else f"{ceil:.3g}"
        ax.axhline(ceil, color="black", linestyle=":", label=f"copy ceiling {ceil_text} GB/s")
        values.append(ceil)
        ax.set_xscale("log", base=2)
        ms = sorted({r["m"] for r in rows})
        ax.set_xticks(ms)
        ax.set_xticklabels([str(m) for m in ms])
        ax.xaxis.set_minor_locator(extras.load("matplotlib.ticker").NullLocator())
        positive = [v for v in values if v and v > 0]
        if positive and max(positive) / min(positive) > 100:
            ax.set_yscale("log")
        else:
            # A linear axis starts at zero, so heights compare honestly.
            ax.set_ylim(bottom=0, top=max(positive, default=1) * 1.08)
        ax.set_xlabel("M (tokens), log scale")
        ax.set_ylabel("GB/s (bytes read + written)" + (", log scale" if ax.get_yscale() == "log" else ""))
        ax.set_title(f"{run['backend']}: {machine['devices'][run['backend']]['name']}\nK={k}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    first = runs[0]["results"][0] if runs[0]["results"] else {}
    fig.suptitle(f"groupquant per-token-group quantization, {first.get('in_dtype', '')} input, "
                 f"G={first.get('group_size', '')}{title_extra}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
