"""The parity report: parity.json, parity.md, heatmap.png, divergence.png, saliency.png."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mnistx import runs
from mnistx.parity.checks import ARRAY_CHECKS

TIER_WHY = {  # measured on the 2-core CPU, keras 3.15.1, the MLP after 5 worksheet epochs
    "weights": "the same .weights.h5 read back: any difference at all is a loading bug",
    "probs": "float32 softmax on 10,000 images; measured <= 1.5e-6 between backends",
    "logits": "pre-softmax values of magnitude ~10, a few float32 ulps; measured <= 7.6e-6",
    "activations": "every layer's output, the largest (~10) set the scale; measured <= 3.8e-6",
    "loss": "mean cross-entropy of one batch; measured <= 2.4e-7",
    "grads": "autograd of the same graph in three frameworks; measured <= 4.3e-8",
    "saliency": "input gradients of one class probability; measured <= 3.2e-7",
    "trajectory_loss": "the loss after each Adam step, on diverging weights; measured <= 1.8e-6",
    "trajectory": ("weights after K Adam steps: Adam divides by sqrt(v), so rounding in tiny "
                   "gradients moves a weight by up to ~lr; measured <= 1.0e-5 at K=20"),
    "checkpoint": "a checkpoint loaded in another backend predicts what the saver predicts; measured 0",
}


def _fmt(x: float) -> str:
    return "inf" if not np.isfinite(x) else ("0" if x == 0 else f"{x:.1e}")


def markdown(summary: dict) -> str:
    checks = summary["checks"]
    pairs = list(dict.fromkeys(c["pair"] for c in checks if " vs " in c["pair"]))
    names = list(ARRAY_CHECKS) + ["argmax"]
    lines = [f"# Parity: {summary['model']} on {', '.join(summary['compared']) or 'no backend'}", "",
             f"Verdict: **{'PASS' if summary['passed'] else 'FAIL'}** "
             f"({sum(not c['passed'] for c in checks)} failing of {len(checks)} checks). "
             f"{summary['n_images']} test images, {summary['steps']} Adam steps, "
             f"TF32 {'on' if summary['tf32'] else 'off'} on GPU.", ""]
    if pairs:
        lines += ["| check | tolerance | " + " | ".join(pairs) + " |",
                  "|---|---|" + "---|" * len(pairs)]
        for name in names:
            row = {c["pair"]: c for c in checks if c["check"] == name}
            tol = next(iter(row.values()))["tolerance"] if row else 0
            cells = [("✅ " if row[p]["passed"] else "❌ ") + _fmt(row[p]["max_abs_diff"]) for p in pairs]
            lines.append(f"| {name} | {_fmt(tol)} | " + " | ".join(cells) + " |")
    ck = [c for c in checks if c["check"] == "checkpoint"]
    if ck:
        lines += ["", "Checkpoint interchange (saver -> loader, max |dp| vs the loader's own predictions):",
                  "", "| saver -> loader | format | max abs diff | verdict |", "|---|---|---|---|"]
        lines += [f"| {c['pair']} | .{c.get('format', '?')} | {_fmt(c['max_abs_diff'])} | "
                  f"{'✅' if c['passed'] else '❌ ' + c['detail']} |" for c in ck]
    det = [c for c in checks if c["check"] == "determinism"]
    lines += ["", "Determinism (same backend, predict twice): " +
              ", ".join(f"{c['pair']} {'bit-identical' if c['passed'] else 'DIFFERS'}" for c in det)]
    for name, why in summary.get("not_compared", {}).items():
        lines.append(f"\n**{name}**: {why}")
    lines += ["", "Why each tier is what it is:", ""]
    lines += [f"- `{k}` = {_fmt(v)}: {TIER_WHY.get(k, '')}" for k, v in summary["tolerances"].items()]
    return "\n".join(lines) + "\n"


def heatmap(summary: dict) -> Figure:
    """log10(max abs diff) per check x backend pair; failing cells outlined in red."""
    checks = [c for c in summary["checks"] if " vs " in c["pair"]]
    pairs = list(dict.fromkeys(c["pair"] for c in checks))
    names = list(ARRAY_CHECKS)
    grid = np.full((len(names), max(len(pairs), 1)), np.nan)
    fig = Figure(figsize=(2.2 + 2.0 * max(len(pairs), 1), 5.2), layout="constrained")
    ax = fig.subplots()
    for c in checks:
        if c["check"] in names:
            i, j = names.index(c["check"]), pairs.index(c["pair"])
            d = c["max_abs_diff"]
            grid[i, j] = -12 if d == 0 else np.log10(d) if np.isfinite(d) else 0
            ax.text(j, i, _fmt(d), ha="center", va="center", fontsize=8)
            if not c["passed"]:
                ax.add_patch(_rect(j, i))
    im = ax.imshow(grid, cmap="viridis", vmin=-12, vmax=-2, aspect="auto")
    ax.set_xticks(range(len(pairs)), pairs, fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_title("Max abs difference between backends (log10; red = over tolerance)")
    fig.colorbar(im, ax=ax, label="log10 max |diff| (0 shown as -12)")
    return fig


def _rect(j, i):
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5)


def divergence(summary: dict) -> Figure:
    """Max abs weight difference after each Adam step, one line per pair, tolerance dashed."""
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    for pair, curve in summary["curves"].items():
        steps = np.arange(1, len(curve) + 1)
        ax.plot(steps, np.maximum(curve, 1e-12), marker="o", markersize=3, label=pair)
    ax.axhline(summary["tolerances"]["trajectory"], color="red", linestyle="--", label="tolerance")
    ax.set_yscale("log")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("max |weights_a - weights_b|")
    ax.set_title(f"Training divergence between backends ({summary['model']})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def write(summary: dict, out_dir: Path, saliency_fig: Figure | None) -> dict:
    """Write every report file atomically; returns name -> path."""
    out_dir = Path(out_dir)
    paths = {"json": runs.write_json(out_dir / "parity.json", summary),
             "markdown": runs.write_text(out_dir / "parity.md", markdown(summary)),
             "heatmap": runs.save_figure(heatmap(summary), out_dir / "heatmap.png")}
    if summary["curves"]:
        paths["divergence"] = runs.save_figure(divergence(summary), out_dir / "divergence.png")
    if saliency_fig is not None:
        paths["saliency"] = runs.save_figure(saliency_fig, out_dir / "saliency.png")
    return {k: str(v) for k, v in paths.items()}
