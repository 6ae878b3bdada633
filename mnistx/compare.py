"""`mnistx compare`: the worksheet, introspection, parity and the quick benchmark on every
backend, gathered into one folder with report.html (self-contained), report.md and the JSON.

    OUT/runs/<backend>/          each training backend's run directory (+ introspect-<backend>/ figures)
    OUT/runs/introspect-<b>/     an inference-only backend's figures of the first trained run
    OUT/parity/, OUT/bench/      the parity and benchmark reports
    OUT/converge/                with --seeds N: the convergence report (mnistx/converge/)
    OUT/compare.json             everything the report shows
    OUT/report.html, report.md   the report (written last, atomically)
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from mnistx import children, modelspec, runs, spawn, warmstart
from mnistx.config import BACKENDS, INFERENCE_BACKENDS, BenchConfig, CompareConfig, ParityConfig
from mnistx.data import resolve_for_children
from mnistx.errors import MnistxError


def default_backends() -> tuple[str, ...]:
    """The training backends, and each inference-only backend that is installed."""
    return BACKENDS + tuple(b for b in INFERENCE_BACKENDS if spawn.installed(b))


def _run_columns(cfg: CompareConfig, names, out: Path, data, progress, from_run=None, warm=None,
                 on_done=None) -> dict:
    """One child per backend in `names` (side by side when cfg.parallel, each on its share of the
    cores; else one after another): train + introspect, or (from_run set, inference-only backends)
    introspect that run. warm: children started early (warmstart); on_done(result) as each ends.
    Returns backend -> column."""
    workdir = out / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    for b in names:
        (workdir / f"{b}.json").unlink(missing_ok=True)
    spec = modelspec.parse(cfg.train.model).to_json()  # the children rebuild it, never parse it again
    children.write(workdir, children.CompareChild(cfg.train, spec, data, str(out), cfg.image_index, cfg.inputs,
                                                  cfg.loss, cfg.int_high, from_run))
    present = [b for b in names if spawn.installed(b)]
    cols = {b: {"status": "missing", "reason": f"not installed ({spawn.install_hint(b)})"}
            for b in names if b not in present}
    jobs = {b: children.argv("compare", workdir) for b in present}
    done = spawn.run_children(jobs, workdir / "logs", cfg.timeout_s, parallel=cfg.parallel, progress=progress,
                              warm=warm, on_done=on_done)
    loaded, failed = children.collect(done, lambda b: runs.read_json(workdir / f"{b}.json"), present)
    for b in present:
        bad = failed[b].removeprefix("failed: ") if b in failed else _non_finite(loaded[b])
        cols[b] = {"status": "failed", "reason": bad} if bad else {"status": "ok", **loaded[b]}
    return cols


def _non_finite(col: dict) -> str | None:
    """Why a trained column is not a result: its training or test loss went NaN or inf."""
    import math

    m = col.get("metrics") or {}
    hist = runs.read_json(Path(col["run_dir"]) / "history.json").get("loss", []) if m else []
    seen = [("test loss", m.get("test_loss"))] + [(f"epoch {i + 1} loss", v) for i, v in enumerate(hist)]
    for what, v in seen:
        if v is not None and not math.isfinite(v):
            return f"training diverged: {what} is {v} (check the data and learning rate)"
    return None


def run_compare(cfg: CompareConfig, out_dir, data_path=None, progress=print) -> dict:
    if cfg.backends is None:
        cfg = dataclasses.replace(cfg, backends=default_backends())
    spawn.check_backends(cfg.backends)
    trainers = [b for b in cfg.backends if b in BACKENDS]
    if not trainers:
        raise MnistxError(f"{', '.join(cfg.backends)}: inference only; compare needs a training backend "
                          f"({', '.join(BACKENDS)}) to train the model that the others load")
    modelspec.parse(cfg.train.model)  # an unknown model fails before any child starts
    data_s = resolve_for_children(data_path) if cfg.inputs == "data" else None
    if cfg.bench not in ("quick", "full", "none"):
        raise MnistxError(f"--bench must be quick, full or none, not {cfg.bench}")
    if cfg.seeds and (cfg.seeds < 2 or len(trainers) < 2):
        raise MnistxError(f"--seeds {cfg.seeds}: convergence needs at least 2 seeds and 2 training backends")
    out = Path(out_dir)
    start = time.perf_counter()
    progress(f"[0/4] checking the model and data before training ({cfg.train.model})")
    probed, warm = _check_inputs(cfg, trainers, out, data_s, progress)
    progress(f"[1/4] training + introspection ({cfg.train.model}, {cfg.train.epochs} epochs) "
             f"on {', '.join(trainers)}")
    viewers = [b for b in cfg.backends if b not in trainers]
    later = _NextStages(cfg, out, [b for b in trainers if spawn.installed(b)], viewers, progress)
    try:
        return _stages(cfg, trainers, viewers, out, data_s, probed, warm, later, start, progress)
    finally:
        later.close()


def _stages(cfg: CompareConfig, trainers, viewers, out: Path, data_s, probed, warm, later, start, progress) -> dict:
    cols = _run_columns(cfg, trainers, out, data_s, progress, warm=warm, on_done=later.one_done)
    first = next((b for b in trainers if cols[b]["status"] == "ok"), None)
    if viewers and first:
        progress(f"      inference only: {', '.join(viewers)} load {first}'s trained run")
        cols.update(_run_columns(cfg, viewers, out, data_s, progress, from_run=cols[first]["run_dir"],
                                 warm=later.viewers))
    elif viewers:
        cols.update({b: {"status": "failed", "reason": "no training backend produced a run to load"} for b in viewers})
    cols = {b: cols[b] for b in cfg.backends}
    ok = [b for b in cfg.backends if cols[b]["status"] == "ok"]
    parity = None
    if len(ok) >= 2:
        progress("[2/4] parity of the trained weights across backends")
        pc = ParityConfig(backends=tuple(ok), n_images=cfg.parity_images, steps=cfg.parity_steps,
                          model=cfg.train.model, inputs=cfg.inputs, loss=cfg.loss, int_high=cfg.int_high)
        parity = _guard(lambda: _parity(pc, out, data_s, cols[ok[0]]["run_dir"], probed, progress, later.parity))
    else:
        progress("[2/4] parity skipped: fewer than two backends trained")
    later.close()  # before the benchmark: its timings have the machine to themselves
    bench = None
    if cfg.bench != "none" and ok:
        progress(f"[3/4] {cfg.bench} benchmark")
        kw = dict(backends=tuple(ok), models=(cfg.train.model,), inputs=cfg.inputs, loss=cfg.loss,
                  int_high=cfg.int_high)
        bc = BenchConfig.quick(**kw) if cfg.bench == "quick" else BenchConfig(**kw)
        bench = _guard(lambda: _bench(bc, out, data_s, cfg.bench == "quick", probed, progress))
    else:
        progress("[3/4] benchmark skipped")
    converge = None
    if cfg.seeds and len([b for b in ok if b in trainers]) >= 2:
        progress(f"[3/4] convergence: {cfg.seeds} seeds per backend (compare --seeds)")
        converge = _guard(lambda: _converge(cfg, [b for b in ok if b in trainers], out, data_s, progress))
    summary = {"config": dataclasses.asdict(cfg), "host": runs.environment(), "columns": cols,
               "parity": parity, "bench": bench, "converge": converge,
               "wall_seconds": time.perf_counter() - start}
    progress("[4/4] report")
    from mnistx import report

    summary["files"] = report.write(summary, out)
    import shutil

    shutil.rmtree(probed, ignore_errors=True)
    runs.prune_work(out / "work")  # the runs/ folders keep their models: a user reopens those
    return summary


def _check_inputs(cfg: CompareConfig, trainers, out: Path, data, progress) -> tuple[Path, dict]:
    """The checks parity makes, before any training child: the data read (finite, lengths, layout),
    the model built once in a probe child, the inputs fitted to it. A one-line MnistxError if not.
    Returns the probe's folder, which the parity and benchmark stages reuse (prepare.reuse_probe),
    and the training children, started during the check (warmstart: they import while it probes)."""
    import shutil

    from mnistx.prepare import prepare

    workdir = out / "work" / "check"
    plan = warmstart.plan("compare", [b for b in trainers if spawn.installed(b)], cfg.train.model, cfg.parallel,
                          log_dir=out / "work" / "logs")
    try:
        job = prepare(cfg.train.model, workdir, trainers, data, cfg.inputs, 64, 64, cfg.train.seed, cfg.int_high,
                      cfg.loss, cfg.timeout_s, progress, warm=plan)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return workdir, job.warm


def _guard(fn):
    """A stage that fails is reported in the page, never fatal to it."""
    try:
        return fn()
    except MnistxError as exc:
        return {"error": str(exc)}


def _parity(pc, out, data, run_dir, probed, progress, early):
    from mnistx.parity.runner import run_parity

    return run_parity(pc, out / "parity", data, run_dir, progress, probed=probed, early=early)


class _NextStages:
    """The inference-only columns' and parity's children, started (warmstart, +NICE_TAIL) once fewer
    training columns run than there are cores: in the training stage's tail a core sits idle (the
    MLP: PyTorch trains alone for ~13 s), and those children spend 2-5 s each importing."""

    def __init__(self, cfg: CompareConfig, out: Path, trainers, viewers, progress):
        from mnistx import devices

        self.running, self.cores, self.progress = len(trainers), devices.cores(), progress
        installed = [b for b in viewers if spawn.installed(b)]
        model, nice = cfg.train.model, warmstart.NICE_TAIL
        self.plans = [warmstart.plan("compare", installed, model, cfg.parallel,
                                     log_dir=out / "work" / "logs", nice=nice),
                      warmstart.plan("parity", [*trainers, *installed], model, cfg.parallel,
                                     log_dir=out / "work" / "logs-parity", nice=nice)]
        self.viewers, self.parity = {}, {}

    def one_done(self, result) -> None:
        self.running -= 1
        if self.running >= self.cores or not any(self.plans):
            return
        viewers, parity = self.plans
        self.plans = [None, None]
        busy = dict(busy=self.running, meanwhile="while the last columns train")
        if viewers:
            self.viewers.update(warmstart.start(dataclasses.replace(viewers, **busy), viewers.log_dir, self.progress))
        if parity:
            self.parity.update(warmstart.start(dataclasses.replace(parity, **busy), parity.log_dir, self.progress))

    def close(self) -> None:
        """End what no stage took (a column failed, parity was skipped)."""
        spawn.end_warm(self.viewers)
        spawn.end_warm(self.parity)


def _bench(bc, out, data, quick, probed, progress):
    from mnistx.bench.runner import run_bench

    return run_bench(bc, out / "bench", data, quick, progress, probed=probed)


def _converge(cfg: CompareConfig, trainers, out, data, progress):
    from mnistx.config import ConvergeConfig
    from mnistx.converge.runner import run_converge

    t = cfg.train
    cc = ConvergeConfig(model=t.model, backends=tuple(trainers), seeds=cfg.seeds, epochs=t.epochs,
                        batch_size=t.batch_size, learning_rate=t.learning_rate, train_limit=t.train_limit,
                        inputs=cfg.inputs, loss=cfg.loss, int_high=cfg.int_high, timeout_s=cfg.timeout_s)
    return run_converge(cc, out / "converge", data, progress)
