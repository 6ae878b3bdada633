"""`mnistx converge`, the parent: check everything once, make each seed's initial weights once (the
probe), one child per backend trains every seed, then the statistics and the report.

    OUT/work/init-<seed>.weights.h5, inputs.npz   shared by every child (deleted at the end)
    OUT/work/<backend>.json, logs/                what each child measured, its log
    OUT/converge.json, converge.md, *.png         the result (written last, atomically)
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

from mnistx import children, runs, spawn, warmstart
from mnistx.config import DTYPE_POLICIES, WORKSHEET_EPOCH_SAMPLES, ConvergeConfig
from mnistx.converge import stats
from mnistx.errors import MnistxError

SYNTHETIC = (2048, 512)  # synthetic inputs: training and test samples when no limit is given


def check_config(cfg: ConvergeConfig) -> None:
    """One-line MnistxError for a setting that cannot work (before anything starts)."""
    spawn.check_backends(cfg.backends, "converge")
    if len(cfg.backends) < 2:
        raise MnistxError("converge compares backends: give at least two (e.g. --backends jax,torch)")
    if cfg.seeds < 2:
        raise MnistxError(f"--seeds must be at least 2 (paired statistics need two), not {cfg.seeds}")
    for flag, v in (("--epochs", cfg.epochs), ("--batch-size", cfg.batch_size),
                    ("--train-limit", cfg.train_limit), ("--eval-limit", cfg.eval_limit)):
        if v is not None and v < 1:
            raise MnistxError(f"{flag} must be at least 1, not {v}")
    if not (cfg.margin_accuracy > 0 and cfg.margin_loss > 0 and cfg.learning_rate > 0):
        raise MnistxError("--margin, --loss-margin and --learning-rate must be above 0")
    if cfg.dtype_policy not in DTYPE_POLICIES:
        raise MnistxError(f"--dtype-policy must be one of {', '.join(DTYPE_POLICIES)}, not {cfg.dtype_policy}")
    if cfg.plant_lr_factor <= 0 or (cfg.plant_epsilon is not None and cfg.plant_epsilon <= 0):
        raise MnistxError("--plant-lr and --plant-epsilon must be above 0")


def sizes(cfg: ConvergeConfig, registry: bool) -> tuple[int, int]:
    """(training, test) samples: the limits, else the worksheet's split or everything given."""
    if cfg.inputs == "synthetic":
        return cfg.train_limit or SYNTHETIC[0], cfg.eval_limit or SYNTHETIC[1]
    return cfg.train_limit or (WORKSHEET_EPOCH_SAMPLES if registry else 10**9), cfg.eval_limit or 10**9


def run_converge(cfg: ConvergeConfig, out_dir, data_path=None, progress=print) -> dict:
    """Train every seed on every backend; per metric and pair, the verdict. Returns the summary."""
    from mnistx import modelspec
    from mnistx.prepare import prepare

    check_config(cfg)
    out_dir, start = Path(out_dir), time.perf_counter()
    present = [b for b in cfg.backends if spawn.installed(b)]
    missing = {b: f"not installed ({spawn.install_hint(b)})" for b in cfg.backends if b not in present}
    seeds = tuple(range(1, cfg.seeds + 1))
    n_train, n_eval = sizes(cfg, modelspec.parse(cfg.model).on_mnist)
    progress(f"mnistx converge: {cfg.model}, {cfg.seeds} seeds x {cfg.epochs} epochs on "
             f"{', '.join(present) or 'no installed backend'} -> {out_dir}")
    job = prepare(cfg.model, out_dir / "work", present or cfg.backends, data_path, cfg.inputs, n_eval, n_train,
                  seeds[0], cfg.int_high, cfg.loss, min(cfg.timeout_s, 600.0), progress, cfg.seq_len,
                  cfg.image_size, init_seeds=seeds,
                  warm=warmstart.plan("converge", present, cfg.model, cfg.parallel))
    workdir = job.workdir
    planted = present[-1] if (cfg.plant_lr_factor != 1.0 or cfg.plant_epsilon is not None) else None
    children.write(workdir, children.ConvergeChild(
        cfg, job.shared(), seeds, {str(s): str(workdir / f"init-{s}.weights.h5") for s in seeds}, planted))
    steps = -(-len(job.inputs.train_y) // cfg.batch_size)
    progress(f"  {len(job.inputs.train_y)} training samples ({steps} steps of batch {cfg.batch_size} per epoch), "
             f"{len(job.inputs.eval_y)} test samples; policy {cfg.dtype_policy}; children "
             f"{'side by side' if cfg.parallel else 'one after another'}")
    jobs = {b: children.argv("converge", workdir) for b in present}
    done = spawn.run_children(jobs, workdir / "logs", cfg.timeout_s, cfg.parallel, progress, warm=job.warm)
    loaded, failed = children.collect(done, lambda b: runs.read_json(workdir / f"{b}.json"), present)
    summary = {"model": job.spec.text, "model_name": job.info["name"], "params": job.info["params"],
               "inputs": job.inputs.source, "loss": job.loss, "train_samples": len(job.inputs.train_y),
               "eval_samples": len(job.inputs.eval_y), "seeds": list(seeds),
               "config": dataclasses.asdict(cfg), "planted_backend": planted,
               "init": ("the model's own weights (every seed: the batch order differs, not the start)"
                        if job.spec.kind in ("keras", "hub") else
                        f"built once per seed in {job.info['backend']} (keras.utils.set_random_seed(seed)), "
                        "loaded by every backend"),
               "randomness": "dropout and other in-training randomness: each backend's own RNG, seeded with "
                             "keras.utils.set_random_seed(seed); the batch order: mnistx's (numpy), the same "
                             "on every backend",
               "backends": {b: loaded[b] for b in loaded}, "failed": {**missing, **failed},
               **analyse(loaded, cfg)}
    summary["wall_seconds"] = time.perf_counter() - start
    from mnistx.converge.report import write

    summary["files"] = write(summary, out_dir)
    runs.prune_work(workdir)
    return summary


def finals(results: dict, metric: str) -> dict:
    """backend -> the metric's last-epoch value per seed."""
    return {b: [r["curves"][metric][-1] for r in res["runs"]] for b, res in results.items()
            if all(metric in r["curves"] for r in res["runs"])}


def margin_for(metric: str, values: dict, cfg: ConvergeConfig) -> tuple[float, str]:
    """(margin, how it was set) for one metric."""
    if metric.endswith("accuracy"):
        return cfg.margin_accuracy, f"{cfg.margin_accuracy * 100:.2g} points of accuracy (--margin)"
    mean = sum(sum(v) for v in values.values()) / max(1, sum(len(v) for v in values.values()))
    return cfg.margin_loss * abs(mean), (f"{cfg.margin_loss * 100:.3g}% of the mean final {metric} "
                                         f"{mean:.4g} (--loss-margin)")


def analyse(results: dict, cfg: ConvergeConfig) -> dict:
    """Per metric: each backend's distribution over seeds, each pair's paired comparison."""
    names = list(results)
    out = {"metrics": {}, "verdicts": []}
    for metric in ("test_accuracy", "test_loss"):
        values = finals(results, metric)
        if not names or len(values) < len(names):  # a metric every backend measured (accuracy: classifiers)
            continue
        margin, rule = margin_for(metric, values, cfg)
        pairs = {}
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                bad = [f"{x} seed {k + 1}" for x in (a, b) for k, v in enumerate(values[x]) if not math.isfinite(v)]
                if bad:
                    pairs[f"{a} vs {b}"] = {"verdict": "not compared",
                                            "why": f"non-finite {metric} ({', '.join(bad)}): training diverged"}
                    continue
                c = stats.compare_pair(values[a], values[b], margin, cfg.alpha, cfg.bootstrap_resamples)
                c["text"] = stats.verdict_text(c)
                pairs[f"{a} vs {b}"] = c
                out["verdicts"].append({"metric": metric, "pair": f"{a} vs {b}", "verdict": c["verdict"],
                                        "text": c["text"]})
        out["metrics"][metric] = {"margin": margin, "margin_rule": rule, "pairs": pairs,
                                  "per_backend": {b: stats.describe(v) for b, v in values.items()
                                                  if all(math.isfinite(x) for x in v)}}
    return out


def compare_runs(a: dict, b: dict) -> dict:
    """Two converge.json summaries of one model and seeds (e.g. float32 and mixed_bfloat16): per
    backend and metric, B - A paired by seed (the same initial weights and batches), judged at A's
    margin. A one-line MnistxError when the runs cannot be paired."""
    if a["seeds"] != b["seeds"] or a["model"] != b["model"]:
        raise MnistxError(f"the two runs cannot be paired seed by seed: {a['model']} seeds {a['seeds']} vs "
                          f"{b['model']} seeds {b['seeds']}")
    out = {"a": a["config"]["dtype_policy"], "b": b["config"]["dtype_policy"], "metrics": {}}
    alpha, resamples = a["config"]["alpha"], a["config"]["bootstrap_resamples"]
    for metric, m in a["metrics"].items():
        if metric not in b["metrics"]:
            continue
        rows = {}
        for backend, da in m["per_backend"].items():
            db = b["metrics"][metric]["per_backend"].get(backend)
            if db is None:
                continue
            c = stats.compare_pair(da["values"], db["values"], m["margin"], alpha, resamples)
            rows[backend] = {**c, "text": stats.verdict_text(c), "mean_a": da["mean"], "mean_b": db["mean"]}
        out["metrics"][metric] = {"margin": m["margin"], "backends": rows}
    return out
