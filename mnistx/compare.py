"""`mnistx compare`: the worksheet, introspection, parity and the quick benchmark on every
backend, gathered into one folder with report.html (self-contained), report.md and the JSON.

    OUT/runs/<backend>/          each backend's run directory (+ introspect-<backend>/ figures)
    OUT/parity/, OUT/bench/      the parity and benchmark reports
    OUT/compare.json             everything the report shows
    OUT/report.html, report.md   the report (written last, atomically)
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from mnistx import runs, spawn
from mnistx.config import BenchConfig, CompareConfig, IntrospectConfig, ParityConfig
from mnistx.data import resolve_for_children
from mnistx.errors import MnistxError


def worker(workdir) -> None:
    """Child: train on this backend, introspect, write <backend>.json."""
    import keras

    from mnistx import data, train
    from mnistx.config import TrainConfig
    from mnistx.introspect import introspect_run

    workdir, cfg, _ = spawn.child_start(workdir)
    me = keras.backend.backend()
    tc = cfg["train"]
    run_dir = Path(cfg["out"]) / "runs" / me
    metrics = train.train_any(TrainConfig(**tc), run_dir, cfg["data"], cfg["inputs"], cfg["loss"], cfg["int_high"])
    raw = None if (run_dir / "eval.npz").is_file() else data.load(cfg["data"])
    intro = introspect_run(run_dir, raw, run_dir / f"introspect-{me}",
                           IntrospectConfig(image_index=cfg["image_index"]))
    runs.write_json(workdir / f"{me}.json", {"metrics": metrics, "introspect": intro,
                                             "meta": runs.read_json(run_dir / "meta.json"),
                                             "run_dir": str(run_dir)})


def _train_all(cfg: CompareConfig, out: Path, data, progress) -> dict:
    workdir = out / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    for b in cfg.backends:
        (workdir / f"{b}.json").unlink(missing_ok=True)
    runs.write_json(workdir / "config.json", {"train": dataclasses.asdict(cfg.train), "data": data,
                                              "out": str(out), "image_index": cfg.image_index,
                                              "inputs": cfg.inputs, "loss": cfg.loss, "int_high": cfg.int_high})
    present = [b for b in cfg.backends if spawn.installed(b)]
    cols = {b: {"status": "missing", "reason": f"not installed ({spawn.install_hint(b)})"}
            for b in cfg.backends if b not in present}
    jobs = {b: spawn.mnistx_argv("compare", "--worker", workdir) for b in present}
    done = spawn.run_children(jobs, workdir / "logs", cfg.timeout_s, parallel=False, progress=progress)
    for b in present:
        res = done[b]
        try:
            if not res.ok:
                raise OSError(res.reason())
            cols[b] = {"status": "ok", **runs.read_json(workdir / f"{b}.json")}
        except (OSError, MnistxError) as exc:
            tail = (res.tail(6).strip().splitlines() or [""])[-1][:300]
            cols[b] = {"status": "failed", "reason": f"{exc}" + (f": {tail}" if tail else "")}
    return cols


def run_compare(cfg: CompareConfig, out_dir, data_path=None, progress=print) -> dict:
    from mnistx import modelspec

    spawn.check_backends(cfg.backends, "compare")
    modelspec.parse(cfg.train.model)  # an unknown model fails before any child starts
    data_s = resolve_for_children(data_path) if cfg.inputs == "data" else None
    if cfg.bench not in ("quick", "full", "none"):
        raise MnistxError(f"--bench must be quick, full or none, not {cfg.bench}")
    out = Path(out_dir)
    start = time.perf_counter()
    progress(f"[1/4] training + introspection ({cfg.train.model}, {cfg.train.epochs} epochs) "
             f"on {', '.join(cfg.backends)}")
    cols = _train_all(cfg, out, data_s, progress)
    ok = [b for b in cfg.backends if cols[b]["status"] == "ok"]
    parity = None
    if len(ok) >= 2:
        progress("[2/4] parity of the trained weights across backends")
        pc = ParityConfig(backends=tuple(ok), n_images=cfg.parity_images, steps=cfg.parity_steps,
                          model=cfg.train.model, inputs=cfg.inputs, loss=cfg.loss, int_high=cfg.int_high)
        parity = _guard(lambda: _parity(pc, out, data_s, cols[ok[0]]["run_dir"], progress))
    else:
        progress("[2/4] parity skipped: fewer than two backends trained")
    bench = None
    if cfg.bench != "none" and ok:
        progress(f"[3/4] {cfg.bench} benchmark")
        kw = dict(backends=tuple(ok), models=(cfg.train.model,), inputs=cfg.inputs, loss=cfg.loss,
                  int_high=cfg.int_high)
        bc = BenchConfig.quick(**kw) if cfg.bench == "quick" else BenchConfig(**kw)
        bench = _guard(lambda: _bench(bc, out, data_s, cfg.bench == "quick", progress))
    else:
        progress("[3/4] benchmark skipped")
    summary = {"config": dataclasses.asdict(cfg), "host": runs.environment(), "columns": cols,
               "parity": parity, "bench": bench, "wall_seconds": time.perf_counter() - start}
    progress("[4/4] report")
    from mnistx import report

    summary["files"] = report.write(summary, out)
    return summary


def _guard(fn):
    """A stage that fails is reported in the page, never fatal to it."""
    try:
        return fn()
    except MnistxError as exc:
        return {"error": str(exc)}


def _parity(pc, out, data, run_dir, progress):
    from mnistx.parity.runner import run_parity

    return run_parity(pc, out / "parity", data, run_dir, progress)


def _bench(bc, out, data, quick, progress):
    from mnistx.bench.runner import run_bench

    return run_bench(bc, out / "bench", data, quick, progress)
