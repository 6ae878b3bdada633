"""The benchmark child: one backend, every model and mode in BenchConfig; writes <backend>.json."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

_FIRST_IMPORT = "keras" not in sys.modules
_T0 = time.perf_counter()
import keras  # noqa: E402  (timed: this child's own first import of Keras and its framework)

_IMPORT_S = time.perf_counter() - _T0
import numpy as np  # noqa: E402

from mnistx import backends, children, losses, models, runs
from mnistx.bench import bookkeeping
from mnistx.bench import modes as M
from mnistx.bench.stats import peak_rss_bytes, summarize, time_calls
from mnistx.errors import one_line
from mnistx.inputs import Inputs

_IMPORT = ("import time; t = time.perf_counter(); import {pre}keras, {fw}; "
           "print(time.perf_counter() - t)")


def import_seconds(repeats: int) -> dict:
    """`import keras` plus the framework, each in a fresh interpreter (seconds); repeats=0 (--quick):
    this child's own first import, timed as it happened (no extra interpreter started), with
    "how" saying which."""
    if repeats == 0 and _FIRST_IMPORT:
        return {**summarize([_IMPORT_S]), "how": "this child's own first import"}
    fw = keras.backend.backend()
    pre = "torch, " if fw == "tensorflow" else ""  # keep the safe import order
    code = _IMPORT.format(pre=pre, fw=fw)
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return {**summarize(times), "how": f"a fresh interpreter, {len(times)} time(s)"}


def inference(model, xs: list, batch_sizes, budget_s: float) -> dict:
    """Samples per second of predict_on_batch (returns numpy: synced) per batch size, over about
    budget_s seconds of timed calls each (5 to 200 calls)."""
    from mnistx.backends._common import pack_inputs

    out = {}
    for bs in batch_sizes:
        xb = pack_inputs(model, [np.resize(x, (bs, *x.shape[1:])).astype(x.dtype) for x in xs])
        first = time_calls(lambda: model.predict_on_batch(xb), 1, 1, sync=lambda v: v)[0]
        n = int(min(200, max(5, budget_s / max(first, 1e-6))))
        t = summarize(time_calls(lambda: model.predict_on_batch(xb), n, 2, sync=lambda v: v))
        out[str(bs)] = {**t, "batch_size": bs, "images_per_s": bs / t["median"]}
    return out


def held_out(model, task, xs: list, y: np.ndarray, batch_size: int = 256) -> tuple[float, float | None]:
    """(test loss, test accuracy or None) of the trained model: a plain forward pass per batch and
    the task's loss, averaged over samples as Keras's evaluate() does. Outside every compiled
    function, so no mode is recompiled to evaluate it (each mode keeps its own compile() for the
    step timing that follows)."""
    from mnistx.backends._common import pack_inputs

    total, hits = 0.0, 0
    for i in range(0, len(y), batch_size):
        out = model(pack_inputs(model, [x[i:i + batch_size] for x in xs]), training=False)
        yb = y[i:i + batch_size]
        total += float(keras.ops.convert_to_numpy(task.loss_fn(keras.ops.convert_to_tensor(yb), out))) * len(yb)
        if task.metrics:  # a classifier with one output: argmax against class ids or one-hot rows
            pred = keras.ops.convert_to_numpy(out).argmax(-1)
            hits += int((pred == (yb.argmax(-1) if yb.ndim == pred.ndim + 1 else yb.reshape(pred.shape))).sum())
    return total / len(y), (hits / len(y) if task.metrics else None)


def bench_model(job, cfg, progress) -> dict:
    """Every mode (cfg: BenchConfig) on one model (job: children.Prepared); a mode that cannot
    run the model records why instead of a number."""
    backends.set_random_seed(cfg.seed)  # TensorFlow is not imported only to be seeded
    start = time.perf_counter()
    model = models.build_spec(job.model)
    model.load_weights(job.reference)
    build_s = time.perf_counter() - start
    init = model.get_weights()
    data = Inputs.load(job.inputs)
    out_last = job.out_last
    loss_fn = losses.make(job.loss, model)
    classifier = job.loss["name"].endswith("crossentropy") and out_last > 1
    task = M.Task(loss_fn, classifier, model)
    x, y = data.train_x, losses.shape_labels(data.train_y, job.loss, out_last)
    ex, ey = data.eval_x, losses.shape_labels(data.eval_y, job.loss, out_last)
    result = {"model": job.label, "spec": job.model, "params": int(model.count_params()),
              "build_seconds": build_s, "classifier": classifier, "loss": job.loss["name"], "modes": {}}
    cannot = backends.UNSUPPORTED.get("training")
    if cannot:  # an inference-only backend (numpy, openvino): the modes are listed with the reason
        result["modes"] = {mode: {"not_supported": cannot} for mode in cfg.modes}
        progress(f"{job.label}: training modes not supported ({cannot}); inference only")
    for mode in () if cannot else cfg.modes:
        progress(f"{job.label} {mode} ...")
        t0 = time.perf_counter()
        try:
            result["modes"][mode] = _bench_mode(mode, model, init, task, x, y, ex, ey, cfg)
            progress(f"{job.label} {mode} done in {time.perf_counter() - t0:.1f} s")
        except Exception as exc:  # e.g. torch.compile or XLA cannot take this model
            result["modes"][mode] = {"error": f"cannot run this model: {type(exc).__name__}: {one_line(exc)}"}
            progress(f"{job.label} {mode}: {result['modes'][mode]['error']}")
        model.set_weights(init)
    # Keras's default compile, as a user's predict gets it: not whichever mode ran last (keras-tuned's
    # jit_compile=True made PyTorch's predict a dynamo compile of 25 s on KerasHub GPT-2, untimed)
    model.compile(jit_compile="auto")
    result["inference_jit_compile"] = None if cannot else bool(model.jit_compile)
    t0 = time.perf_counter()
    result["inference"] = inference(model, ex, cfg.infer_batch_sizes, cfg.infer_budget_s)
    result["inference_seconds"] = time.perf_counter() - t0
    return result


def _bench_mode(mode, model, init, task, x, y, ex, ey, cfg) -> dict:
    """One mode at every step batch size; each timed region records the compiles inside it
    (bookkeeping.delta), the epoch is reconciled with its steps and cross-checked (keras modes:
    a plain train_on_batch loop; native: a hand-written loop in the framework, for MLPs and small CNNs;
    both timed by the same harness)."""
    from mnistx.backends._common import pack_inputs

    r = {"steps": {}, "compiles": {}, "wall_s": {}}

    def counted(region, fn):
        """fn(mark) -> value; records the compiles from mark() (or the start) to the end in region."""
        box, t0 = {"before": backends.compilations()}, time.perf_counter()
        value = fn(lambda: box.update(before=backends.compilations()))
        r["compiles"][region] = bookkeeping.delta(box["before"], backends.compilations())
        r["wall_s"][region] = time.perf_counter() - t0
        return value

    bs_main = cfg.batch_size
    for bs in sorted(set(cfg.step_batch_sizes) | {bs_main}):
        backends.forget_compiled()  # a first call traces as in a fresh process, never past an earlier mode's limit
        m = M.make(mode, model, init, bs, task, cfg.learning_rate)
        first = counted("first_call" if bs == bs_main else f"first_call b={bs}",
                        lambda mark: m.first_call(x, y, epochs=bs == bs_main))  # other sizes: steps only
        if bs == bs_main:  # the worksheet's batch size: first call and whole epochs
            r["first_call_seconds"] = first

            def epochs(mark):
                out = []
                for _ in range(cfg.epochs):
                    m.reset()
                    out.append(m.epoch(x, y))
                return out

            times = counted("epochs", epochs)
            loss, acc = held_out(model, task, ex, ey)  # the same loss and accuracy in every mode
            r.update(epoch=summarize(times), epoch_samples=len(y), test_loss_after_epoch=loss,
                     test_accuracy_after_epoch=acc)
        if bs in cfg.step_batch_sizes:  # last: keras modes may recompile for step timing
            r["steps"][str(bs)] = summarize(counted(f"steps b={bs}", lambda mark: m.step_times(
                x, y, cfg.timed_steps, cfg.warmup_steps, mark)))
        if bs == bs_main:
            r["settings"] = m.settings
            check = getattr(m, "cross_check_times", None)
            if check:
                times = counted("cross-check", lambda mark: check(x, y, cfg.timed_steps, cfg.warmup_steps, mark))
                r["cross_check_against"] = m.cross_check_against
                if times:
                    r["cross_check_steps"] = summarize(times)
    _explain(r, mode, bs_main)
    return r


def _explain(r: dict, mode: str, batch_size: int) -> None:
    """Reconcile the epoch with steps x step time; compare with the cross-check; list the flags."""
    if "epoch" not in r:
        return
    keras_fit = mode != "native"
    steps = bookkeeping.epoch_steps(r["epoch_samples"], batch_size, partial_batch=keras_fit)
    st, extra = r.get("settings", {}), 0.0
    if str(batch_size) in r["steps"]:
        step_s = r["steps"][str(batch_size)]["median"]
        fused = st.get("epoch_loop") == "compiled" or (st.get("steps_per_execution") or 1) > 1
        if st.get("fit_call"):  # fit's fixed cost per call (data adapter, iterator, callbacks), stated
            extra = max(0.0, st["fit_call"]["seconds"] - st["fit_call"]["steps"] * step_s)
        r["reconcile"] = bookkeeping.reconcile(r["epoch"]["median"], steps, step_s, extra_s=extra, fused=fused)
    if "cross_check_steps" in r:  # per step, fit's fixed cost per call taken out
        r["cross_check"] = bookkeeping.cross_check((r["epoch"]["median"] - extra) / steps,
                                                   r["cross_check_steps"]["median"], r["cross_check_against"])
    r["flags"] = bookkeeping.flags(r)


def time_modes(workdir: str | Path) -> None:
    workdir, child = children.start(workdir, children.BenchChild)
    me, cfg = keras.backend.backend(), child.settings
    if backends.has_gpu():
        backends.set_tf32(False)

    def progress(msg):
        print(f"[{me}] {msg}", flush=True)

    out = {**backends.describe(), "tf32": False if backends.has_gpu() else None,
           "import": import_seconds(cfg.import_repeats)}
    out["models"] = {job.label: bench_model(job, cfg, progress) for job in child.jobs}
    out["peak_rss_bytes"] = peak_rss_bytes()
    out["gpu_peak_bytes"] = backends.gpu_peak_bytes()
    out["seconds"] = time.perf_counter() - _T0  # from this child's `import keras` to its results
    runs.write_json(workdir / f"{me}.json", out)
