"""The child of `mnistx bench --devices N` (`mnistx _child bench-scaling DIR`), one per (backend,
devices), started by mnistx/devices.py (torch: N processes under torchrun; rank 0 writes
DIR/<backend>-x<n>.json). Each timed repeat is one Replicas.fit over `scaling_steps` global
batches (Keras's fit on JAX and TensorFlow, the DDP loop on torch), synced, after WARMUP_FITS
untimed fits (tracing, compilation). The parent side is scaling.py.
"""

from __future__ import annotations

import time
from pathlib import Path

from mnistx import children, devices, runs
from mnistx.bench.scaling import WARMUP_FITS
from mnistx.bench.stats import spread_text, summarize


def time_fits(workdir) -> None:
    """The child: time Replicas.fit for each per-device batch size on this process's n devices."""
    import os

    workdir, child = children.start(workdir, children.BenchChild)
    n = int(os.environ[devices.DEVICES_ENV])
    from mnistx import backends  # first framework work: TensorFlow makes its logical devices now

    replicas = backends.data_parallel(n)
    import keras
    import numpy as np

    from mnistx import losses, models
    from mnistx.backends._common import pack_inputs
    from mnistx.inputs import Inputs

    me, job, cfg = keras.backend.backend(), child.jobs[0], child.settings
    say = (lambda msg: print(f"[{me}] {msg}", flush=True)) if replicas.rank == 0 else (lambda msg: None)
    say(f"{n} device(s): {replicas.engine} over {', '.join(replicas.devices)}")
    data = Inputs.load(job.inputs)
    y_all = losses.shape_labels(data.train_y, job.loss, job.out_last)
    with replicas.scope():
        model = models.build_spec(job.model)
        model.load_weights(job.reference)
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=losses.make(job.loss, model))
    init = model.get_weights()
    out = {**backends.describe(), "engine": replicas.engine, "devices": replicas.devices,
           "processes": replicas.world, "jit_compile": model.jit_compile, "rows": []}
    for b in cfg.step_batch_sizes:
        g, steps = b * n, cfg.scaling_steps
        take = np.arange(g * steps) % len(y_all)
        xs, y = pack_inputs(model, [x[take] for x in data.train_x]), y_all[take]
        model.set_weights(init)
        times = []
        for r in range(WARMUP_FITS + cfg.scaling_repeats):
            start = time.perf_counter()
            replicas.fit(model, xs, y, g)
            times.append((time.perf_counter() - start) / steps)
        times = times[WARMUP_FITS:]
        stats = summarize(times)
        out["rows"].append({"per_device_batch": b, "global_batch": g, "steps": steps,
                            "step_seconds": stats, "samples_per_s": g / stats["median"]})
        say(f"per-device batch {b} (global {g}): {g / stats['median']:,.0f} samples/s, "
            f"{spread_text(stats, 1e3)} ms/step")
    if replicas.rank == 0:
        runs.write_json(Path(workdir) / f"{me}-x{n}.json", out)
    replicas.close()
