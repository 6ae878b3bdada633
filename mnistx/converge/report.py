"""The converge report: converge.json, converge.md, curves.png (mean and min-max band over seeds per
backend, per epoch) and finals.png (each seed's final metric per backend, one line per seed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mnistx import runs

LABELS = {"test_accuracy": "test accuracy", "test_loss": "test loss", "loss": "training loss"}
COLOURS = {"tensorflow": "tab:orange", "jax": "tab:purple", "torch": "tab:blue"}  # told apart in overlapping bands


def curves_figure(summary: dict) -> Figure:
    """Per metric, one panel: each backend's mean over seeds per epoch, with its min-max band."""
    names = [m for m in ("test_accuracy", "test_loss", "loss") if _has(summary, m)]
    fig = Figure(figsize=(4.2 * len(names), 3.4), layout="constrained")
    for ax, metric in zip(fig.subplots(1, len(names), squeeze=False)[0], names):
        for b, res in summary["backends"].items():
            v = np.array([r["curves"][metric] for r in res["runs"]], np.float64)  # (seeds, epochs)
            epochs = np.arange(1, v.shape[1] + 1)
            colour = COLOURS.get(b)
            ax.plot(epochs, v.mean(0), marker="o", label=f"{b} (n={len(v)})", color=colour)
            ax.fill_between(epochs, v.min(0), v.max(0), alpha=0.2, color=colour)
        ax.set(xlabel="epoch", title=f"{LABELS[metric]}: mean, min-max band")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=8)
    fig.suptitle(f"{summary['model_name']}: {len(summary['seeds'])} seeds per backend", fontsize=10)
    return fig


def finals_figure(summary: dict) -> Figure:
    """Per compared metric: each seed's final value per backend (dots), one grey line per seed
    joining its backends (the pairing the statistics use), and each backend's mean (a bar)."""
    names = list(summary["metrics"])
    fig = Figure(figsize=(4.2 * max(1, len(names)), 3.4), layout="constrained")
    for ax, metric in zip(fig.subplots(1, max(1, len(names)), squeeze=False)[0], names):
        per = summary["metrics"][metric]["per_backend"]
        bs = list(per)
        v = np.array([per[b]["values"] for b in bs], np.float64)  # (backends, seeds)
        for k in range(v.shape[1]):
            ax.plot(range(len(bs)), v[:, k], color="0.75", lw=0.8, zorder=1)
        for i, b in enumerate(bs):
            ax.scatter(np.full(v.shape[1], i), v[i], s=18, color=COLOURS.get(b), zorder=2)
            ax.hlines(per[b]["mean"], i - 0.25, i + 0.25, color="black", zorder=3)
        ax.set_xticks(range(len(bs)), bs)
        ax.set_xlim(-0.5, len(bs) - 0.5)
        ax.set_title(f"final {LABELS.get(metric, metric)} per seed", fontsize=10)
    return fig


def _has(summary: dict, metric: str) -> bool:
    res = list(summary["backends"].values())
    return bool(res) and all(metric in r["curves"] for x in res for r in x["runs"])


def _pct(metric: str, x: float) -> str:
    return f"{x * 100:.2f}%" if metric.endswith("accuracy") else f"{x:.4f}"


def markdown(summary: dict) -> str:
    cfg = summary["config"]
    lines = [f"# converge: {summary['model_name']} ({summary['model']})", "",
             f"{len(summary['seeds'])} seeds x {cfg['epochs']} epochs on {', '.join(summary['backends']) or 'nothing'}; "
             f"batch {cfg['batch_size']}, Adam lr {cfg['learning_rate']:g}; policy `{cfg['dtype_policy']}`; "
             f"{summary['train_samples']:,} training and {summary['eval_samples']:,} test samples "
             f"({summary['inputs']}); loss {summary['loss']['name']}; wall {summary['wall_seconds']:.0f} s.", "",
             f"- initial weights: {summary['init']}", f"- {summary['randomness']}"]
    if summary.get("planted_backend"):
        lines.append(f"- **self-test**: {summary['planted_backend']} trains with lr x{cfg['plant_lr_factor']:g}"
                     + (f" and Adam epsilon {cfg['plant_epsilon']:g}" if cfg["plant_epsilon"] is not None else ""))
    scale = {b: r["runs"][0].get("loss_scale") for b, r in summary["backends"].items()}
    if any(v is not None for v in scale.values()):
        lines.append("- loss scaling: Keras wraps Adam in LossScaleOptimizer (dynamic, initial scale 32768) on "
                     "every backend; final scale of seed 1: "
                     + ", ".join(f"{b} {v:g}" for b, v in scale.items() if v is not None))
    elif cfg["dtype_policy"] != "float32":
        lines.append(f"- loss scaling: none (`{cfg['dtype_policy']}` keeps float32's exponent range; Keras "
                     "scales the loss only under mixed_float16)")
    for b, why in summary["failed"].items():
        lines.append(f"- **{b}**: {why}")
    for metric, m in summary["metrics"].items():
        lines += ["", f"## {LABELS.get(metric, metric)}", "", f"Margin: +-{_pct(metric, m['margin'])} "
                  f"({m['margin_rule']}).", "", "| backend | mean | sd | min | max |", "| --- | --- | --- | --- | --- |"]
        for b, d in m["per_backend"].items():
            lines.append(f"| {b} | {_pct(metric, d['mean'])} | {_pct(metric, d['sd'])} | {_pct(metric, d['min'])} "
                         f"| {_pct(metric, d['max'])} |")
        lines += ["", "| pair (second - first) | verdict | mean difference | 95% t interval | 95% bootstrap "
                  "interval | TOST p | paired t p |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for pair, c in m["pairs"].items():
            if "interval" not in c:
                lines.append(f"| {pair} | {c['verdict']} | {c['why']} | | | | |")
                continue
            (lo, hi), (blo, bhi) = c["interval"], c["bootstrap"]
            need = f" (about {c['seeds_needed']} seeds would decide)" if c["verdict"] == "inconclusive" and \
                c["seeds_needed"] else " (more seeds than mnistx estimates)" if c["verdict"] == "inconclusive" else ""
            lines.append(f"| {pair} | **{c['verdict']}**{need} | {_signed(metric, c['mean'])} | "
                         f"[{_signed(metric, lo)}, {_signed(metric, hi)}] | [{_signed(metric, blo)}, "
                         f"{_signed(metric, bhi)}] | {c['p_tost']:.2g} | {c['p_paired']:.2g} |")
    secs = {b: np.mean([sum(r["seconds"]) for r in res["runs"]]) for b, res in summary["backends"].items()}
    lines += ["", "## Time", "", "| backend | seconds per seed (train + test) | child wall |", "| --- | --- | --- |"]
    lines += [f"| {b} | {secs[b]:.1f} | {res['wall_seconds']:.0f} s |" for b, res in summary["backends"].items()]
    lines += ["", "Verdict rule: **equivalent** when TOST (two one-sided t-tests, p < "
              f"{cfg['alpha']:g} each) puts the mean paired difference inside the margin; else **different** when "
              "the paired t-test rejects zero; else **inconclusive**, with the seeds that would decide at 80% power "
              "from the observed mean and spread.", "",
              "![curves](curves.png)", "", "![final values](finals.png)", ""]
    return "\n".join(lines)


def _signed(metric: str, x: float) -> str:
    return f"{x * 100:+.3f} pt" if metric.endswith("accuracy") else f"{x:+.5f}"


def write(summary: dict, out_dir) -> dict:
    """converge.json, converge.md and the two figures, each written atomically; name -> path."""
    out_dir = Path(out_dir)
    paths = {"json": runs.write_json(out_dir / "converge.json", summary)}
    if summary["backends"]:
        paths["curves"] = runs.save_figure(curves_figure(summary), out_dir / "curves.png")
    if summary["metrics"]:
        paths["finals"] = runs.save_figure(finals_figure(summary), out_dir / "finals.png")
    paths["markdown"] = runs.write_text(out_dir / "converge.md", markdown(summary))
    return {k: str(v) for k, v in paths.items()}


def runs_markdown(c: dict, a_name: str, b_name: str) -> str:
    """The table of compare_runs: per metric and backend, A's and B's means and B - A's verdict."""
    lines = [f"# converge: {c['b']} ({b_name}) against {c['a']} ({a_name}), paired by seed", ""]
    for metric, m in c["metrics"].items():
        lines += [f"## {LABELS.get(metric, metric)} (margin +-{_pct(metric, m['margin'])})", "",
                  f"| backend | {c['a']} mean | {c['b']} mean | verdict | B - A | 95% t interval |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for backend, r in m["backends"].items():
            lo, hi = r["interval"]
            lines.append(f"| {backend} | {_pct(metric, r['mean_a'])} | {_pct(metric, r['mean_b'])} | "
                         f"**{r['verdict']}** | {_signed(metric, r['mean'])} | [{_signed(metric, lo)}, "
                         f"{_signed(metric, hi)}] |")
        lines.append("")
    return "\n".join(lines)
