"""Benchmark report: bench.json, bench.md and three plots; `compare` of two bench.json files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mnistx import runs
from mnistx.bench.stats import spread_text
from mnistx.config import MODES


def jit_text(row: dict) -> str:
    """The resolved jit_compile, with the native loop's path where one is recorded (cuda-graph, ...)."""
    return f"{row['jit_compile']} ({row['path']})" if row.get("path") else str(row["jit_compile"])


def goals(summary: dict, model: str = "mlp") -> dict:
    """The issue's performance goals, computed from one run's epoch medians."""
    rows = [r for r in summary["summary"] if r["model"] == model]
    if not rows:
        return {}
    best = {}
    for r in rows:
        if r["backend"] not in best or r["epoch_s"] < best[r["backend"]]["epoch_s"]:
            best[r["backend"]] = r
    fastest, slowest = min(best.values(), key=lambda r: r["epoch_s"]), max(best.values(), key=lambda r: r["epoch_s"])
    tuned = {r["backend"]: r["keras_over_native"] for r in rows if r["mode"] == "keras-tuned"}
    return {"model": model,
            "tuned_over_native": tuned, "tuned_over_native_goal": 1.25,
            "slowest_best_over_fastest_best": slowest["epoch_s"] / fastest["epoch_s"],
            "slowest_best": f"{slowest['backend']} {slowest['mode']}", "fastest_best": f"{fastest['backend']} {fastest['mode']}",
            "backend_ratio_goal": 2.0, "fastest_epoch_s": fastest["epoch_s"], "fastest_epoch_goal_s": 0.75}


def markdown(summary: dict) -> str:
    bk = summary["backends"]
    n: dict = {}  # model -> samples per epoch, from any backend that trained it (inference-only ones did not)
    for res in bk.values():
        for m in res.get("models", {}).values():
            got = next((r["epoch_samples"] for r in m["modes"].values() if "epoch_samples" in r), None)
            n[m.get("model")] = n.get(m.get("model")) or got
    sizes = ", ".join(f"{k}: {v}" for k, v in n.items() if v) or "none trained here"
    lines = [f"# Benchmark{' (quick)' if summary['quick'] else ''}: {summary['host']['date_utc']}", "",
             f"Epoch = one pass over the training samples ({sizes}) at batch "
             f"{summary['config'].get('batch_size', 32)}, from the same initial weights; median (p5-p95) "
             "of the timed epochs, after an untimed warm-up (n = how many were timed; n=1 has no spread). x native = epoch time / the native "
             "loop's epoch time on the same backend. Test loss/accuracy after the last timed epoch.", "",
             "| backend | model | mode | epoch s | step ms (b=32) | first call s | jit_compile | x native | test loss | test acc |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    acc = {(r["backend"], r["model"], r["mode"]): r for r in summary["accuracy"]["rows"]}
    for r in summary["summary"]:
        a = acc[(r["backend"], r["model"], r["mode"])]
        ratio = f"{r['keras_over_native']:.2f}" if r["keras_over_native"] else "-"
        acc_text = "-" if a["accuracy"] is None else f"{a['accuracy']:.4f}" + (" (out of band)" if a["in_band"] is False else "")
        epoch = spread_text({"median": r["epoch_s"], "p5": r["epoch_p5"], "p95": r["epoch_p95"], "n": r.get("epoch_n")})
        epoch += " (recompiled)" if "epochs" in r.get("recompiled_regions", ()) else ""
        lines.append(f"| {r['backend']} | {r['model']} | {r['mode']} | {epoch} | {r['step32_ms']:.3f} | "
                     f"{r['first_call_s']:.2f} | {jit_text(r)} | {ratio} | {a['loss']:.4f} | {acc_text} |")
    for a in summary["accuracy"]["rows"]:
        if a.get("error"):
            lines.append(f"| {a['backend']} | {a['model']} | {a['mode']} | {a['error']} |||||||")
    unsupported = sorted({(a["backend"], a["model"], a["not_supported"]) for a in summary["accuracy"]["rows"]
                          if a.get("not_supported")})
    if unsupported:  # below the table, not in its timing column
        lines += ["", *[f"- {b} ({model}): training not supported by {b} ({why}); inference is timed below."
                        for b, model, why in unsupported]]
    lines += explain_table(summary["summary"])
    lines += ["", "Steady train step, ms (median, p5-p95):", "",
              "| backend | model | mode | " + " | ".join(f"b={b}" for b in summary["config"]["step_batch_sizes"]) + " |",
              "|---|---|---|" + "---|" * len(summary["config"]["step_batch_sizes"])]
    for b, res in bk.items():
        for model, mres in res.get("models", {}).items():
            for mode, r in mres["modes"].items():
                if "error" in r or "not_supported" in r:
                    continue
                cells = [spread_text(s, 1e3, 3) for s in (r["steps"][str(b)] for b in summary["config"]["step_batch_sizes"])]
                lines.append(f"| {b} | {model} | {mode} | " + " | ".join(cells) + " |")
    lines += ["", "Inference, images/s (predict_on_batch, the model compiled as Keras's default compiles it: "
              "jit_compile=\"auto\", resolved per backend):", "",
              "| backend | model | " + " | ".join(f"b={b}" for b in summary["config"]["infer_batch_sizes"]) +
              " | jit_compile |", "|---|---|" + "---|" * (len(summary["config"]["infer_batch_sizes"]) + 1)]
    for b, res in bk.items():
        for model, mres in res.get("models", {}).items():
            cells = (mres["inference"][str(k)] for k in summary["config"]["infer_batch_sizes"])
            jit = mres.get("inference_jit_compile")
            lines.append(f"| {b} | {model} | " + " | ".join(f"{v['images_per_s']:,.0f}" for v in cells) +
                         f" | {'-' if jit is None else jit} |")
    lines += ["", "| backend | versions | device | threads | import s | peak RSS MiB | GPU peak MiB |",
              "|---|---|---|---|---|---|---|"]
    for b, res in bk.items():
        if "error" in res:
            lines.append(f"| {b} | - | {res['error']} | | | | |")
            continue
        v = ", ".join(f"{k} {x}" for k, x in res["versions"].items())
        gpu = f"{res['gpu_peak_bytes'] / 2**20:.0f}" if res.get("gpu_peak_bytes") else "-"
        lines.append(f"| {b} | {v} | {res['device']} | {res['threads']} | {res['import']['median']:.2f} | "
                     f"{res['peak_rss_bytes'] / 2**20:.0f} | {gpu} |")
    lines += time_table(bk)
    hows = sorted({res["import"].get("how") for res in bk.values() if "import" in res} - {None})
    if hows:
        lines += ["", f"import s = `import keras` with its framework, timed in {' / '.join(hows)}."]
    g = goals(summary)
    if g:
        tuned = ", ".join(f"{k} {v:.2f}" for k, v in g["tuned_over_native"].items() if v)
        lines += ["", "Goals are the project's speed targets for the worksheet MLP (from the benchmark issue): "
                  "Keras with tuned settings within 1.25x of a hand-written loop, no backend more than 2x "
                  "slower than the fastest, and an epoch under 0.75 s on the fastest. They are reported, "
                  "never asserted.",
                  "", f"Goals (mlp): keras-tuned / native = {tuned} (goal <= 1.25); slowest backend's best "
                  f"({g['slowest_best']}) / fastest's ({g['fastest_best']}) = "
                  f"{g['slowest_best_over_fastest_best']:.2f} (goal <= 2); fastest epoch "
                  f"{g['fastest_epoch_s']:.2f} s (goal <= 0.75 s)."]
    return "\n".join(lines) + "\n"


def time_table(backends: dict) -> list[str]:
    """Where each child's wall time went, seconds: first calls (compilation, the warm execution, the
    native loop's choice), the timed epochs and steps, the cross-checks (their warm-up included)."""
    rows = []
    for b, res in backends.items():
        for model, m in res.get("models", {}).items():
            regions: dict = {"first": 0.0, "timed": 0.0, "check": 0.0}
            for r in m["modes"].values():
                for region, sec in (r.get("wall_s") or {}).items():
                    kind = "first" if region.startswith("first_call") else "check" if region == "cross-check" else "timed"
                    regions[kind] += sec
            if "inference_seconds" in m:
                rows.append(f"| {b} | {model} | {res.get('seconds', float('nan')):.1f} | {res['import']['median']:.1f} | "
                            f"{m['build_seconds']:.1f} | {regions['first']:.1f} | {regions['timed']:.1f} | "
                            f"{regions['check']:.1f} | {m['inference_seconds']:.1f} |")
    if not rows:
        return []
    return ["", "Where each child's time went, seconds (child: from its `import keras` to its results; first calls: "
            "compiling each mode, its warm execution and the native loop's choice; timed: epochs and steps; "
            "cross-checks: their own warm-up and timed steps):", "",
            "| backend | model | child | import | build | first calls | timed | cross-checks | inference |",
            "|---|---|---|---|---|---|---|---|---|", *rows]


def _ratio(v) -> str:
    return "-" if v is None or v != v else f"{v:.2f}"


def explain_table(rows: list[dict]) -> list[str]:
    """Does each number explain itself (mnistx/bench/bookkeeping.py)? One row per mode."""
    out = ["", "Does each number explain itself? compiles = graphs built inside the timed regions (epochs, "
           "steps, cross-check; counted after warm-up; the first call's are expected and not counted); "
           "epoch / steps = the epoch over steps x the steady step (fused: the epoch runs as one compiled loop "
           "or several steps per execution, so it may be faster than its per-call steps, never slower; + s per fit "
           "call = fit's fixed cost of one call (data adapter, iterator, callbacks), timed on one warm execution "
           "and added to the expected epoch); "
           "x check = the mode's s/step ((epoch - fit's fixed cost) / steps) over an independent loop timed by "
           "the same harness, flagged above 1.25: keras modes against a plain model.train_on_batch loop, native "
           "against a hand-written loop in the framework itself (torch.nn, jax.numpy + lax, tf.nn + GradientTape; "
           "MLPs and small CNNs: Dense, Conv2D, MaxPooling2D, Dropout chains; '-' otherwise).", "",
           "| backend | model | mode | compiles (timed) | graph breaks (first call) | epoch / steps | x check | flags |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rec = _ratio(r.get("reconcile_ratio")) + (" (fused)" if r.get("fused_epoch") else "")
        rec += f" (+{r['stated_extra_s']:.2f} s per fit call)" if r.get("stated_extra_s") else ""
        rec += " (per-step loop: the fused one was slower)" if r.get("loop_replaced") else ""
        where = f" ({', '.join(r['recompiled_regions'])})" if r.get("recompiled_regions") else ""
        gb = r.get("first_call_graph_breaks")
        out.append(f"| {r['backend']} | {r['model']} | {r['mode']} | {r.get('timed_compiles', '-')}{where} | "
                   f"{'-' if gb is None else gb} | {rec} | {_ratio(r.get('cross_check_ratio'))} | "
                   f"{'; '.join(r.get('flags') or []) or 'none'} |")
    return out


def epoch_plot(summary: dict) -> Figure:
    rows = summary["summary"]
    keys = list(dict.fromkeys((r["backend"], r["model"]) for r in rows))
    fig = Figure(figsize=(2 + 1.6 * max(len(keys), 1), 4), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(MODES)
    for i, mode in enumerate(MODES):
        vals = [next((r["epoch_s"] for r in rows if (r["backend"], r["model"]) == k and r["mode"] == mode), np.nan)
                for k in keys]
        ax.bar(np.arange(len(keys)) + i * width, vals, width, label=mode)
    ax.set_xticks(np.arange(len(keys)) + width, [f"{b}\n{m}" for b, m in keys])
    ax.set_ylabel("seconds per 48k-image epoch")
    ax.set_title("Epoch time per backend and mode (lower is better)")
    ax.legend()
    return fig


def throughput_plot(summary: dict) -> Figure:
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for b, res in summary["backends"].items():
        for model, mres in res.get("models", {}).items():
            bs = sorted(int(k) for k in mres["inference"])  # JSON keys come back sorted as text
            ax.plot(bs, [mres["inference"][str(k)]["images_per_s"] for k in bs], marker="o", label=f"{b} {model}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("images / s")
    ax.set_title("Inference throughput vs batch size")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def overhead_plot(summary: dict) -> Figure:
    rows = [r for r in summary["summary"] if r["mode"] != "native" and r["keras_over_native"]]
    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    ax = fig.subplots()
    labels = [f"{r['backend']}\n{r['model']}\n{r['mode']}" for r in rows]
    ax.bar(range(len(rows)), [r["keras_over_native"] for r in rows], color="tab:orange")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhline(1.25, color="red", linestyle="--", label="goal for keras-tuned")
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set_ylabel("epoch time / native epoch time")
    ax.set_title("Keras overhead over the native loop")
    ax.legend(fontsize=8)
    return fig


def write(summary: dict, out_dir) -> dict:
    out_dir = Path(out_dir)
    summary["goals"] = goals(summary)
    paths = {"json": runs.write_json(out_dir / "bench.json", summary),
             "markdown": runs.write_text(out_dir / "bench.md", markdown(summary))}
    inferred = any(m.get("inference") for r in summary["backends"].values() for m in r.get("models", {}).values())
    for name, fn, have in (("epoch", epoch_plot, summary["summary"]), ("throughput", throughput_plot, inferred),
                           ("overhead", overhead_plot, summary["summary"])):
        if have:  # inference-only backends alone: throughput only
            paths[name] = runs.save_figure(fn(summary), out_dir / f"bench-{name}.png")
    return {k: str(v) for k, v in paths.items()}


def compare_table(a: dict, b: dict) -> str:
    """Epoch-time and step-time ratios B / A for every (backend, model, mode) in both runs."""
    key = lambda r: (r["backend"], r["model"], r["mode"])  # noqa: E731
    rows_a = {key(r): r for r in a.get("summary", [])}
    lines = ["| backend | model | mode | epoch s A | epoch s B | B/A | step ms A | step ms B | B/A |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in b.get("summary", []):
        if key(r) in rows_a:
            ra = rows_a[key(r)]
            lines.append(f"| {' | '.join(key(r))} | {ra['epoch_s']:.3f} | {r['epoch_s']:.3f} | "
                         f"{r['epoch_s'] / ra['epoch_s']:.2f} | {ra['step32_ms']:.3f} | {r['step32_ms']:.3f} | "
                         f"{r['step32_ms'] / ra['step32_ms']:.2f} |")
    if len(lines) == 2:
        lines.append("| (no backend, model and mode in common) |||||||||")
    return "\n".join(lines)
