"""The benchmark child: one backend, every model and mode in BenchConfig; writes <backend>.json."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np

from mnistx import backends, models, runs
from mnistx.bench import modes as M
from mnistx.bench.stats import peak_rss_bytes, summarize, time_calls
from mnistx.data import load, prepare

_IMPORT = ("import time; t = time.perf_counter(); import {pre}keras, {fw}; "
           "print(time.perf_counter() - t)")


def import_seconds(repeats: int) -> dict:
    """`import keras` plus the framework, each in a fresh interpreter (seconds)."""
    fw = keras.backend.backend()
    pre = "torch, " if fw == "tensorflow" else ""  # keep the safe import order
    code = _IMPORT.format(pre=pre, fw=fw)
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return summarize(times)


def inference(model, x, batch_sizes, budget_s: float = 1.0) -> dict:
    """Images per second of predict_on_batch (returns numpy: synced) per batch size."""
    out = {}
    for bs in batch_sizes:
        xb = np.resize(x, (bs, *x.shape[1:])).astype(np.float32)
        first = time_calls(lambda: model.predict_on_batch(xb), 1, 1, sync=lambda v: v)[0]
        n = int(min(200, max(5, budget_s / max(first, 1e-6))))
        t = summarize(time_calls(lambda: model.predict_on_batch(xb), n, 2, sync=lambda v: v))
        out[str(bs)] = {**t, "batch_size": bs, "images_per_s": bs / t["median"]}
    return out


def bench_model(name: str, cfg: dict, data, progress) -> dict:
    keras.utils.set_random_seed(cfg["seed"])
    start = time.perf_counter()
    model = models.build(name)
    build_s = time.perf_counter() - start
    init = model.get_weights()
    x, y = data.x_train[: cfg["epoch_samples"]], data.y_train[: cfg["epoch_samples"]]
    result = {"model": name, "params": int(model.count_params()), "build_seconds": build_s, "modes": {}}
    for mode in cfg["modes"]:
        progress(f"{name} {mode}")
        r = {"steps": {}}
        for bs in sorted(set(cfg["step_batch_sizes"]) | {32}):
            m = M.make(mode, model, init, bs)
            first = m.prepare(x, y)  # tracing / compilation + the first steps, untimed below
            if bs == 32:  # the worksheet's batch size: first-call latency and whole epochs
                r["first_call_seconds"] = first
                epochs = []
                for _ in range(cfg["epochs"]):
                    m.reset()
                    epochs.append(m.epoch(x, y))
                loss, acc = model.evaluate(data.x_test, data.y_test, batch_size=1000, verbose=0)
                r.update(epoch=summarize(epochs), epoch_samples=len(x), test_accuracy_after_epoch=float(acc),
                         test_loss_after_epoch=float(loss))
            if bs in cfg["step_batch_sizes"]:  # last: keras modes may recompile for step timing
                r["steps"][str(bs)] = summarize(m.step_times(x, y, cfg["timed_steps"], cfg["warmup_steps"]))
            if bs == 32:
                r["settings"] = m.settings
        result["modes"][mode] = r
        model.set_weights(init)
    result["inference"] = inference(model, data.x_test, cfg["infer_batch_sizes"])
    return result


def run(workdir: str | Path) -> None:
    from mnistx.spawn import child_start

    workdir, cfg, _ = child_start(workdir)
    me = keras.backend.backend()
    if backends.has_gpu():
        backends.set_tf32(False)

    def progress(msg):
        print(f"[{me}] {msg}", flush=True)

    out = {**backends.describe(), "tf32": False if backends.has_gpu() else None,
           "import": import_seconds(cfg["import_repeats"])}
    data = prepare(load(cfg["data"]), cfg["validation_split"])
    out["models"] = {name: bench_model(name, cfg, data, progress) for name in cfg["models"]}
    out["peak_rss_bytes"] = peak_rss_bytes()
    out["gpu_peak_bytes"] = backends.gpu_peak_bytes()
    runs.write_json(workdir / f"{me}.json", out)
