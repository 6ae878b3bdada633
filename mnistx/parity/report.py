"""The parity report: parity.json, parity.md, heatmap.png, divergence.png, saliency.png."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mnistx import runs
from mnistx.config import NOISE_FACTOR
from mnistx.parity import data_parallel, tf32
from mnistx.parity.checks import ARRAY_CHECKS

TIER_WHY = {  # measured on the 2-core CPU, keras 3.15.1: docs/portability.md has the figures
    "weights": "the same .weights.h5 read back: any difference at all is a loading bug",
    "outputs": "float32 model outputs; the rtol part covers deep networks' large activations",
    "activations": "every layer's output in inference mode: rounding grows with depth, so rtol",
    "loss": "the loss of one batch",
    "grads": "autograd of the same graph in three frameworks; gradients near zero lose relative "
             "precision, hence the atol floor",
    "saliency": "input gradients of one class output",
    "trajectory_loss": "the loss after each training step, on slowly diverging weights",
    "trajectory": ("weights and BatchNorm statistics after K Adam steps: Adam divides by sqrt(v), "
                   "so rounding in tiny gradients moves a weight by up to ~lr"),
    "checkpoint": "a checkpoint loaded in another backend predicts what the saver predicts",
}


def _fmt(x: float) -> str:
    return "inf" if not np.isfinite(x) else ("0" if x == 0 else f"{x:.1e}")


def _cell(c: dict, name: str) -> str:
    text = ("PASS " if c["passed"] else "FAIL ") + _fmt(c["max_abs_diff"])
    if name != "argmax":
        text += f" ({c['excess']:.2g}x)"
    if c.get("noise_floor"):
        text += f"; own sensitivity {_fmt(c['noise_floor'] / NOISE_FACTOR)}"
    return text


def md_cell(text: str) -> str:
    """A '|' inside a Markdown table cell, escaped (GitHub and report.html read it as text)."""
    return str(text).replace("|", "\\|")


def tier_text(atol: float, rtol: float) -> str:
    return f"{_fmt(atol)} + {_fmt(rtol)}·|a|" if rtol else _fmt(atol)


def not_supported_lines(rows: list[dict]) -> list[str]:
    """One line per backend: the checks it cannot compute and why (not failures)."""
    by: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        by.setdefault((r["backend"], r["reason"]), []).append(r["check"])
    return ["", *[f"Not supported by {b} (not counted as failures): {', '.join(cs)}; {why}."
                  for (b, why), cs in by.items()]] if by else []


def oracle_lines(o: dict | None) -> list[str]:
    """The NumPy-reference column: each backend's forward pass against plain NumPy."""
    if not o:
        return []
    lines = ["", f"NumPy reference (the same weights run by Keras's NumPy backend): **{o['text']}**.", "",
             "| backend | outputs vs numpy | every layer vs numpy |", "|---|---|---|"]
    for b, r in o["backends"].items():
        cells = [_cell(r[k], k) if k in r else "-" for k in ("outputs", "activations")]
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    return lines


def markdown(summary: dict) -> str:
    checks = summary["checks"]
    pairs = list(dict.fromkeys(c["pair"] for c in checks if " vs " in c["pair"]))
    names = [n for n in [*ARRAY_CHECKS, "argmax"] if any(c["check"] == n for c in checks)]
    unrun = ", ".join(summary.get("failed_children") or [])
    lines = [f"# Parity: {summary['model']} on {', '.join(summary['compared']) or 'no backend'}", "",
             f"Verdict: **{'PASS' if summary['passed'] else 'FAIL'}** "
             f"({sum(not c['passed'] for c in checks)} failing of {len(checks)} checks"
             f"{'; failed to run: ' + unrun if unrun else ''}). "
             f"{summary['n_images']} evaluation samples ({summary.get('inputs', '')}), "
             f"{summary['steps']} steps of {summary.get('optimizer') or 'Adam'}, loss {summary.get('loss', {}).get('name', '?')}, "
             f"TF32 {'on' if summary['tf32'] else 'off'} on GPU.", ""]
    if summary.get("planted"):
        p = summary["planted"]
        lines += [f"**Self-test: a change of {p['delta']:g} was planted** in `{p['variable']}` "
                  f"(layer `{p['layer']}`) of the last backend's copy: this run is meant to fail.", ""]
    if summary.get("inputs_described"):
        lines += ["Inputs (each child got these arrays):", ""]
        lines += [f"- `{md_cell(line)}`" for line in summary["inputs_described"]]
        lines.append("")
    if summary.get("outputs_note"):
        lines += [f"Outputs: {summary['outputs_note']}.", ""]
    for pair, loc in summary.get("first_divergence", {}).items():
        lines.append(f"- **Where {pair} part ways:** {loc['text']}")
    if summary.get("first_divergence"):
        lines.append("")
    ts = summary.get("traced_samples") or {}
    if ts.get("indices"):
        shown = ", ".join(map(str, ts["indices"][:20])) + (" ..." if len(ts["indices"]) > 20 else "")
        lines += [f"Per-layer trace on {len(ts['indices'])} samples ({shown}): {ts.get('why', '')}.", ""]
    for pair, gone in (summary.get("layers_recorded_once") or {}).items():
        lines.append(f"- Layers recorded by one backend only ({pair}, not compared): " +
                     "; ".join(f"{k}: {', '.join(v[:5])}" + (f" and {len(v) - 5} more" if len(v) > 5 else "")
                               for k, v in gone.items()))
    if pairs:
        lines += ["Each cell: max |a - b| (excess over the tier; a check passes at excess <= 1). "
                  "Trajectory checks also allow 3x the model's own sensitivity: how far the same "
                  "backend's trajectory moves when every weight is nudged by 1e-6 (relative).", "",
                  "| check | tier: atol + rtol·\\|a\\| | " + " | ".join(pairs) + " |",
                  "|---|---|" + "---|" * len(pairs)]
        cannot = {(n["backend"], n["check"]) for n in summary.get("not_supported", [])}

        def na(p, name):
            who = [b for b in p.split(" vs ") if (b, name) in cannot]
            return f"n/a: not supported by {who[0]}" if who else "-"
        for name in names:
            row = {c["pair"]: c for c in checks if c["check"] == name}
            c0 = next(iter(row.values()))
            cells = [_cell(row[p], name) if p in row else na(p, name) for p in pairs]
            lines.append(f"| {name} | {md_cell(tier_text(c0['atol'], c0['rtol']))} | " + " | ".join(cells) + " |")
        lines += not_supported_lines(summary.get("not_supported", []))
    lines += oracle_lines(summary.get("oracle"))
    ck = [c for c in checks if c["check"] == "checkpoint"]
    if ck:
        lines += ["", "Checkpoint interchange (saver -> loader, max |d output| vs the loader's own):",
                  "", "| saver -> loader | format | max abs diff | verdict |", "|---|---|---|---|"]
        lines += [f"| {c['pair']} | .{c.get('format', '?')} | {_fmt(c['max_abs_diff'])} | "
                  f"{'PASS' if c['passed'] else 'FAIL ' + c['detail']} |" for c in ck]
    det = [c for c in checks if c["check"] == "determinism"]
    lines += ["", "Determinism (same backend, predict twice): " +
              ", ".join(f"{c['pair']} {'bit-identical' if c['passed'] else 'DIFFERS'}" for c in det)]
    lines += ["", f"Activations: {summary.get('activations_scope', '')}."]
    if summary.get("randomness_disabled"):
        lines.append(f"Trajectory on a twin with randomness off (RNG streams differ per backend): "
                     f"{', '.join(summary['randomness_disabled'])}.")
    for name, why in summary.get("not_compared", {}).items():
        lines.append(f"\n**{name}**: {why}")
    lines += tf32.markdown(summary.get("tf32_drift"))
    lines += data_parallel.markdown(summary.get("data_parallel"))
    lines += ["", "Why each tier is what it is:", ""]
    lines += [f"- `{k}` = {tier_text(*v)}: {TIER_WHY.get(k, '')}" for k, v in summary["tolerances"].items()]
    return "\n".join(lines) + "\n"


def layer_chain(summary: dict, pair: str | None = None) -> Figure | None:
    """Per-layer max |diff| in execution order for one pair, bars colored by excess over the tier."""
    layers = summary.get("layers", {})
    if not layers:
        return None
    pair = pair or next(iter(summary.get("first_divergence") or layers))
    rows = layers[pair]
    names = len(rows) <= 40  # layer names under the bars; KerasHub paths are long: room for them
    longest = max((len(r["name"]) for r in rows), default=0) if names else 0
    fig = Figure(figsize=(max(6, 0.12 * len(rows) + 2), 3.6 + 0.055 * longest), layout="constrained")
    ax = fig.subplots()
    ex = np.array([r["excess"] for r in rows])
    colors = ["#c0392b" if e > 1 else "#f39c12" if e > 0.3 else "#27ae60" for e in ex]
    ax.bar(range(len(rows)), np.maximum([r["max_abs_diff"] for r in rows], 1e-12), color=colors)
    ax.set_yscale("log")
    ax.set_xlabel("layer (execution order)")
    ax.set_ylabel("max |a - b|")
    loc = (summary.get("first_divergence") or {}).get(pair)
    if loc and loc.get("index") is not None:
        ax.axvline(loc["index"], color="black", linestyle="--")
    if loc:
        import textwrap

        lines = textwrap.wrap(f"{pair}: {loc['text']}", 100)  # the whole text is in parity.md
        ax.set_title("\n".join(lines[:3]) + (" ..." if len(lines) > 3 else ""), fontsize=8)
    else:
        ax.set_title(f"{pair}: per-layer difference (red: over tier, amber: > 30% of it)", fontsize=9)
    if names:
        ax.set_xticks(range(len(rows)), [r["name"] for r in rows], rotation=90, fontsize=6)
    return fig


def heatmap(summary: dict) -> Figure:
    """log10(max abs diff) per check x backend pair; failing cells outlined in red."""
    checks = [c for c in summary["checks"] if " vs " in c["pair"]]
    pairs = list(dict.fromkeys(c["pair"] for c in checks))
    used = {c["check"] for c in checks} | {n["check"] for n in summary.get("not_supported", [])}
    names = [n for n in ARRAY_CHECKS if n in used] or list(ARRAY_CHECKS)  # no empty rows
    grid = np.full((len(names), max(len(pairs), 1)), np.nan)
    fig = Figure(figsize=(2.2 + 1.5 * max(len(pairs), 1), 1.2 + 0.42 * len(names)), layout="constrained")
    ax = fig.subplots()
    for c in checks:
        if c["check"] in names:
            i, j = names.index(c["check"]), pairs.index(c["pair"])
            d = c["max_abs_diff"]
            grid[i, j] = -12 if d == 0 else np.log10(d) if np.isfinite(d) else 0
            ax.text(j, i, _fmt(d), ha="center", va="center", fontsize=8)
            if not c["passed"]:
                ax.add_patch(_rect(j, i))
    for n in summary.get("not_supported", []):  # cells an inference-only backend cannot compute
        for j, p in enumerate(pairs):
            if n["check"] in names and n["backend"] in p.split(" vs "):
                ax.text(j, names.index(n["check"]), "n/a", ha="center", va="center", fontsize=8, color="gray")
    im = ax.imshow(grid, cmap="viridis", vmin=-12, vmax=-2, aspect="auto")
    ax.set_xticks(range(len(pairs)), [p.replace(" vs ", "\nvs ") for p in pairs], fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_title("Max abs difference between backends (log10; red = over tolerance)")
    fig.colorbar(im, ax=ax, label="log10 max |diff| (0 shown as -12)")
    return fig


def _rect(j, i):
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5)


def divergence(summary: dict) -> Figure:
    """Max abs weight difference after each training step, one line per pair, tolerance dashed."""
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    for pair, curve in summary["curves"].items():
        steps = np.arange(1, len(curve) + 1)
        ax.plot(steps, np.maximum(curve, 1e-12), marker="o", markersize=3, label=pair)
    ax.axhline(summary["tolerances"]["trajectory"][0], color="red", linestyle="--", label="atol")
    ax.set_yscale("log")
    ax.set_xlabel(f"{summary.get('optimizer') or 'Adam'} step")
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
    chain = layer_chain(summary)
    if chain is not None:
        paths["layers"] = runs.save_figure(chain, out_dir / "layers.png")
    if saliency_fig is not None:
        paths["saliency"] = runs.save_figure(saliency_fig, out_dir / "saliency.png")
    return {k: str(v) for k, v in paths.items()}
