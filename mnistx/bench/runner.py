"""`mnistx bench`: one child per backend, one after another (timings need the machine alone).

Result schema (bench.json, "mnistx.bench/1"):
  config        the BenchConfig used; quick: bool
  host          python, platform, cpu_count, date_utc, command
  backends      name -> {backend, versions, device, threads, gpu, tf32, import{median,p5,p95,...},
                  peak_rss_bytes, gpu_peak_bytes, models: name -> {params, build_seconds,
                  modes: mode -> {settings{jit_compile, steps_per_execution}, first_call_seconds,
                  steps: batch -> stats (s/step), epoch: stats (s), epoch_samples,
                  wall_s: region -> seconds the region took (first_call: the first call and, with the epoch,
                  the warm execution and the native loop choice; epochs; steps b=N; cross-check),
                  test_accuracy_after_epoch, compiles: region -> {compiles, traces?, graph_breaks}
                  (region: first_call[ b=N], epochs, steps b=N, cross-check; only after warm-up),
                  cross_check_against: what the cross-check timed (keras modes: a train_on_batch loop;
                  native: a hand-written loop, MLPs and small CNNs) or why none, cross_check_steps: its stats,
                  reconcile{ratio, fused, reconciled, ...}, cross_check{ratio, flagged, ...},
                  flags: [why a number does not explain itself]} | {error} | {not_supported: reason} (an inference-only
                  backend), inference: batch -> stats + images_per_s, inference_seconds}},
                  seconds (from the child's `import keras` to its results)
                or {error, log_tail} when the child failed or the backend is not installed
  accuracy      rows {backend, model, mode, accuracy, in_band}; band; passed
  summary       rows {backend, model, mode, epoch_s, step32_ms, keras_over_native, timed_compiles,
                  recompiled_regions, first_call_graph_breaks, reconcile_ratio, fused_epoch,
                  stated_extra_s, loop_replaced, cross_check_ratio, flags}
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from mnistx import children, devices, runs, spawn
from mnistx.config import BACKENDS, BenchConfig
from mnistx.data import resolve_for_children
from mnistx.errors import MnistxError

SCHEMA = "mnistx.bench/1"


def accuracy_rows(backends: dict, band, banded=("mlp", "cnn")) -> list[dict]:
    """Test accuracy after one epoch per mode; the band applies to mlp/cnn on MNIST only."""
    rows = []
    for b, res in backends.items():
        for model, mres in res.get("models", {}).items():
            for mode, r in mres["modes"].items():
                acc = r.get("test_accuracy_after_epoch")
                rows.append({"backend": b, "model": model, "mode": mode, "accuracy": acc,
                             "loss": r.get("test_loss_after_epoch"), "error": r.get("error"),
                             "not_supported": r.get("not_supported"),
                             "in_band": (band[0] <= acc <= band[1]) if model in banded and acc is not None
                             else None})
    return rows


def summary_rows(backends: dict) -> list[dict]:
    rows = []
    for b, res in backends.items():
        for model, mres in res.get("models", {}).items():
            native = mres["modes"].get("native", {}).get("epoch", {}).get("median")
            for mode, r in mres["modes"].items():
                if "error" in r or "not_supported" in r:
                    continue
                e = r["epoch"]["median"]
                rows.append({"backend": b, "model": model, "mode": mode, "epoch_s": e,
                             "epoch_p5": r["epoch"]["p5"], "epoch_p95": r["epoch"]["p95"],
                             "epoch_n": r["epoch"].get("n"),
                             "step32_ms": 1000 * r["steps"].get("32", {}).get("median", float("nan")),
                             "first_call_s": r["first_call_seconds"],
                             "jit_compile": r["settings"]["jit_compile"], "path": r["settings"].get("path"),
                             "keras_over_native": e / native if native else None, **_explained(r)})
    return rows


def _explained(r: dict) -> dict:
    """What makes a row trustworthy (mnistx/bench/bookkeeping.py): graphs built inside timed
    regions, the first call's graph breaks, epoch / (steps x step), x its cross-check, the flags."""
    from mnistx.bench.bookkeeping import compiled

    counts = r.get("compiles") or {}
    timed = {k: v for k, v in counts.items() if not k.startswith("first_call")}
    return {"timed_compiles": sum(v.get("compiles", 0) for v in timed.values()),
            "recompiled_regions": sorted(k for k, v in timed.items() if compiled(v)),
            "first_call_graph_breaks": counts.get("first_call", {}).get("graph_breaks"),
            "reconcile_ratio": (r.get("reconcile") or {}).get("ratio"),
            "fused_epoch": (r.get("reconcile") or {}).get("fused"),
            "stated_extra_s": (r.get("reconcile") or {}).get("extra_s"),
            "loop_replaced": ((r.get("settings") or {}).get("loop_choice") or {}).get("chosen") == "python",
            "cross_check_ratio": (r.get("cross_check") or {}).get("ratio"),
            "flags": list(r.get("flags") or [])}


def _jobs(cfg: BenchConfig, workdir: Path, present, data_path, progress, probed=None) -> list:
    """Each model checked and prepared once (mnistx/prepare.py), before any timing starts; an
    earlier probe (probed) serves the model it probed."""
    from mnistx import modelspec
    from mnistx.prepare import prepare

    specs = [modelspec.parse(m) for m in cfg.models]  # every name checked before any child
    jobs = []
    for i, spec in enumerate(specs):
        n_train, n_eval = cfg.sample_counts(spec.on_mnist)
        job = prepare(spec.text, workdir / f"model-{i}", present, data_path, cfg.inputs, n_eval, n_train,
                      cfg.seed, cfg.int_high, cfg.loss, cfg.timeout_s, progress, cfg.seq_len, cfg.image_size,
                      probed=probed)
        label = spec.label if spec.label not in [j.label for j in jobs] else f"{spec.label}-{i}"
        jobs.append(job.shared(label))
    return jobs


def run_bench(cfg: BenchConfig, out_dir, data_path=None, quick=False, progress=print, probed=None) -> dict:
    """Time every backend (bench.json); with cfg.devices > 1 the data-parallel scaling run
    instead (scaling.json, mnistx/bench/scaling.py). probed: prepare.reuse_probe."""
    spawn.check_backends(cfg.backends)  # inference-only backends: inference throughput, modes listed
    devices.check(cfg.devices, batch_sizes=())  # per-device batches: any size splits
    if cfg.inputs == "data":
        resolve_for_children(data_path)  # a missing file fails before anything runs
    out_dir = Path(out_dir)
    workdir = runs.fresh_dir(out_dir / "work")
    present = [b for b in cfg.backends if spawn.installed(b)]
    if not present:
        raise MnistxError(f"none of {', '.join(cfg.backends)} is installed; {spawn.install_hint(cfg.backends[0])}")
    if cfg.devices > 1 and not any(b in BACKENDS for b in present):
        raise MnistxError(f"--devices measures training: name at least one of {', '.join(BACKENDS)}")
    jobs = _jobs(cfg, workdir, present, data_path, progress, probed)
    if cfg.devices > 1:
        from mnistx.bench.scaling import run_scaling

        progress(f"mnistx bench --devices {cfg.devices}: {jobs[0].label}, data-parallel scaling -> {out_dir}")
        return run_scaling(cfg, out_dir, jobs, workdir, progress)
    children.write(workdir, children.BenchChild(cfg, tuple(jobs)))
    progress(f"mnistx bench{' --quick' if quick else ''}: {', '.join(cfg.models)} on "
             f"{', '.join(present) or 'no installed backend'}, one backend at a time -> {out_dir}")
    start = time.perf_counter()
    argvs = {b: children.argv("bench", workdir) for b in present}
    done = spawn.run_children(argvs, workdir / "logs", cfg.timeout_s, parallel=False, progress=progress,
                              env_extra=devices.visible(cfg.device), compile_cache=False)  # first calls compile
    results = {b: {"error": f"not installed ({spawn.install_hint(b)})"} for b in cfg.backends
               if b not in present}
    loaded, failed = children.collect(done, lambda b: runs.read_json(workdir / f"{b}.json"), present)
    for b in present:
        results[b] = loaded[b] if b in loaded else {"error": failed[b], "log_tail": done[b].tail(8)}
    acc = accuracy_rows(results, cfg.accuracy_band)
    shown = {**dataclasses.asdict(cfg), "jobs": [dataclasses.asdict(j) for j in jobs]}  # bench.json's "config"
    summary = {"schema": SCHEMA, "quick": quick, "config": shown, "host": runs.environment(),
               "wall_seconds": time.perf_counter() - start, "backends": results,
               "accuracy": {"band": list(cfg.accuracy_band), "rows": acc,
                            "passed": all(r["in_band"] is not False for r in acc)},
               "summary": summary_rows(results)}
    from mnistx.bench import report

    summary["files"] = report.write(summary, out_dir)
    runs.prune_work(out_dir / "work")  # inputs, weights, arrays: logs and JSON stay
    return summary
