"""`mnistx parity`: one child per backend on the same weights and inputs; the parent compares.

The parent never imports keras or a backend: it writes config.json, starts the children
(`mnistx parity --worker DIR` with KERAS_BACKEND set), reads their .npz/.json and writes the report.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from mnistx import runs, spawn
from mnistx.config import ParityConfig
from mnistx.data import resolve_for_children
from mnistx.errors import MnistxError
from mnistx.parity import checks as C
from mnistx.parity import report
from mnistx.parity.sync import failed_marker


def _child_config(cfg: ParityConfig, backends, data, reference, model) -> dict:
    d = dataclasses.asdict(cfg)
    d.pop("tolerances")
    return {**d, "backends": list(backends), "data": data, "reference": reference, "model": model}


def _load_result(workdir: Path, backend: str) -> tuple[dict, dict]:
    with np.load(workdir / f"{backend}.npz") as f:
        arrays = {k: f[k] for k in f.files}
    return arrays, runs.read_json(workdir / f"{backend}.json")


def _saliency_figure(results: dict, infos: dict):
    from mnistx.introspect.saliency import saliency_grid

    if not results:
        return None
    first = next(iter(results.values()))
    return saliency_grid(first["saliency_images"], {b: r["saliency"] for b, r in results.items()},
                         first["saliency_labels"])


def run_parity(cfg: ParityConfig, out_dir, data_path=None, run_dir=None, progress=print) -> dict:
    """Run the children, compare, write the report into out_dir; returns the summary dict."""
    out_dir = Path(out_dir)
    spawn.check_backends(cfg.backends)
    model, reference = cfg.model, None
    if run_dir is not None:
        run_dir = runs.check_run_dir(run_dir)
        model, reference = runs.read_json(run_dir / "meta.json")["model"], str((run_dir / "model.weights.h5").resolve())
    if cfg.n_images < 1 or cfg.steps < 1 or cfg.batch_size < 1:
        raise MnistxError("--images, --steps and --batch-size must be at least 1")
    data = resolve_for_children(data_path)
    present = [b for b in cfg.backends if spawn.installed(b)]
    not_compared = {b: f"skipped: not installed ({spawn.install_hint(b)})"
                    for b in cfg.backends if b not in present}
    workdir = runs.fresh_dir(out_dir / "work")
    child_cfg = _child_config(cfg, present, data, reference, model)
    runs.write_json(workdir / "config.json", child_cfg)
    progress(f"mnistx parity: {model} on {', '.join(present) or 'no installed backend'} "
             f"({cfg.n_images} images, {cfg.steps} steps) -> {out_dir}")
    start = time.perf_counter()
    jobs = {b: spawn.mnistx_argv("parity", "--worker", workdir) for b in present}
    done = spawn.run_children(jobs, workdir / "logs", cfg.timeout_s, cfg.parallel, progress,
                              on_done=lambda r: r.ok or failed_marker(workdir, r.backend).touch())
    results, infos, failures = {}, {}, {}
    for b in present:  # in the order asked for, not the order they finished
        res = done[b]
        try:
            if not res.ok:
                raise OSError(res.reason())
            results[b], infos[b] = _load_result(workdir, b)
        except (OSError, ValueError, MnistxError) as exc:
            tail = res.tail(8).strip().splitlines()
            failures[b] = f"failed: {exc}" + (f"; last output: {tail[-1][:300]}" if tail else "")
    not_compared.update(failures)
    verdict = C.run_checks(results, infos, cfg.tolerances)
    summary = {
        "model": model, "reference": reference or "seeded in the first backend", "compared": list(results),
        "n_images": cfg.n_images, "steps": cfg.steps, "batch_size": cfg.batch_size, "tf32": cfg.tf32,
        "plant": cfg.plant, "tolerances": cfg.tolerances.as_dict(), **verdict,
        "passed": verdict["passed"] and not failures and len(results) >= 2,
        "not_compared": not_compared, "environments": infos,
        "wall_seconds": time.perf_counter() - start, "config": child_cfg}
    if len(results) < 2:
        summary["not_compared"]["(all)"] = "fewer than two backends produced results: nothing to compare"
    summary["files"] = report.write(summary, out_dir, _saliency_figure(results, infos))
    return summary
