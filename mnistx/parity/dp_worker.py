"""The child of `mnistx parity --devices N` (`mnistx _child parity-dp DIR`): the parity trajectory
on N devices with this framework's own engine (mnistx/backends/distribute/), from the shared
reference weights. Started per backend by mnistx/devices.py (torch: N processes under torchrun;
rank 0 writes DIR/<backend>-x<N>.npz, traj_* arrays, and .json). The parent side is data_parallel.py.
"""

from __future__ import annotations

import time

from mnistx import devices, runs
from mnistx.children import ParityChild, start
from mnistx.parity.data_parallel import stem


def run_trajectory(workdir) -> None:
    """The child: K steps of the parity trajectory on N devices, from the shared reference weights."""
    import os

    workdir, cfg = start(workdir, ParityChild)
    n = int(os.environ.get(devices.DEVICES_ENV, cfg.settings.devices))
    from mnistx import backends  # first framework work: TensorFlow makes its logical devices now

    replicas = backends.data_parallel(n)
    import keras

    from mnistx import losses
    from mnistx.inputs import Inputs
    from mnistx.parity.train_twin import plant_weight, trajectory
    from mnistx.parity.worker import fresh_model

    me, t0 = keras.backend.backend(), time.perf_counter()
    if replicas.rank == 0:
        print(f"[{me}] data-parallel: {replicas.engine} over {', '.join(replicas.devices)}", flush=True)
    data = Inputs.load(cfg.job.inputs)
    model = fresh_model(cfg.job.model, cfg.job.reference)
    if cfg.settings.plant and me == cfg.backends[-1]:  # the same copy the single-device child trains
        plant_weight(model, cfg.settings.plant, cfg.settings.plant_layer)
    y = losses.shape_labels(data.train_y, cfg.job.loss, cfg.job.out_last)
    arrays, info = trajectory(cfg, model.get_weights(), data.train_x, y, replicas)
    if replicas.rank == 0:
        runs.write_npz(workdir / f"{stem(me, n)}.npz", **arrays)
        runs.write_json(workdir / f"{stem(me, n)}.json", {
            **backends.describe(), **info, "engine": replicas.engine, "devices": replicas.devices,
            "processes": replicas.world, "global_batch": cfg.settings.batch_size,
            "per_device_batch": cfg.settings.batch_size // n, "seconds": time.perf_counter() - t0})
        print(f"[{me}] data-parallel trajectory done ({time.perf_counter() - t0:.1f} s)", flush=True)
    replicas.close()
