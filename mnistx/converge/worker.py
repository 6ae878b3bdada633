"""The converge child: one backend, every seed, the full training recipe; writes <backend>.json.

Per seed k: keras.utils.set_random_seed(k) (dropout and other in-training randomness stay this
backend's own), the model built and given the seed's shared initial weights (init-<k>.weights.h5,
made once by the probe), Adam, and per epoch the training samples in mnistx's order for (k, epoch)
(`batch_order`, the same on every backend; fit(shuffle=False)), then the test metrics.
"""

from __future__ import annotations

import time

import numpy as np

from mnistx import children, runs
from mnistx.inputs import Inputs


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The permutation of n training samples for one seed's epoch: numpy's, never a backend's RNG."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def _progress_callback(me: str, where: str, steps: int, every_s: float = 8.0):
    import keras

    class Progress(keras.callbacks.Callback):
        """A line within a long epoch, at most every `every_s` seconds (the console is never silent)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.said = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if time.perf_counter() - self.said >= every_s:
                print(f"[{me}] {where}, batch {batch + 1}/{steps}", flush=True)
                self.said = time.perf_counter()

    return Progress()


def train_seed(cfg, data: Inputs, seed: int, where: str, me: str) -> dict:
    """One seed's run (cfg: children.ConvergeChild): per-epoch train loss, test loss (and accuracy for a classifier), seconds."""
    import keras

    from mnistx import backends, losses, models
    from mnistx.backends._common import pack_inputs

    keras.backend.clear_session()  # also resets the global dtype policy: set it again
    settings = cfg.settings
    if settings.dtype_policy != "float32":
        keras.config.set_dtype_policy(settings.dtype_policy)
    backends.set_random_seed(seed)  # TensorFlow is not imported only to be seeded
    model = models.build_spec(cfg.job.model)
    model.load_weights(cfg.init[str(seed)])
    loss, ty, ey, classifier = losses.for_training(model, cfg.job.loss, cfg.job.out_last, data.train_y, data.eval_y)
    planted = me == cfg.planted_backend
    lr = settings.learning_rate * (settings.plant_lr_factor if planted else 1.0)
    eps = settings.plant_epsilon if planted and settings.plant_epsilon is not None else 1e-7
    model.compile(optimizer=keras.optimizers.Adam(lr, epsilon=eps), loss=loss,
                  metrics=["accuracy"] if classifier else [])
    n, bs = len(data.train_y), settings.batch_size
    curves = {"loss": [], "test_loss": [], **({"accuracy": [], "test_accuracy": []} if classifier else {})}
    seconds = []
    for epoch in range(settings.epochs):
        order = batch_order(seed, epoch, n)
        x = pack_inputs(model, [a[order] for a in data.train_x])
        y = keras.tree.map_structure(lambda a: a[order], ty)
        start = time.perf_counter()
        cb = _progress_callback(me, f"{where} epoch {epoch + 1}/{settings.epochs}", -(-n // bs))
        hist = model.fit(x, y, batch_size=bs, epochs=1, shuffle=False, verbose=0, callbacks=[cb]).history
        ev = model.evaluate(pack_inputs(model, data.eval_x), ey, batch_size=256, verbose=0, return_dict=True)
        seconds.append(time.perf_counter() - start)
        curves["loss"].append(float(hist["loss"][-1]))
        curves["test_loss"].append(float(ev["loss"]))
        if classifier:
            curves["accuracy"].append(float(hist["accuracy"][-1]))
            curves["test_accuracy"].append(float(ev["accuracy"]))
        shown = f", test accuracy {ev['accuracy']:.4f}" if classifier else ""
        print(f"[{me}] {where} epoch {epoch + 1}/{settings.epochs}: loss {curves['loss'][-1]:.4f}, "
              f"test loss {ev['loss']:.4f}{shown} ({seconds[-1]:.1f} s)", flush=True)
    opt = model.optimizer
    return {"seed": seed, "curves": curves, "seconds": seconds, "classifier": classifier,
            "learning_rate": lr, "epsilon": eps, "optimizer": type(opt).__name__,
            "loss_scale": (float(keras.ops.convert_to_numpy(opt.dynamic_scale))
                           if hasattr(opt, "dynamic_scale") else None)}


def train_seeds(workdir) -> None:
    """Child entry (`mnistx _child converge DIR`): every seed, one after another; <backend>.json."""
    import keras

    from mnistx import backends

    workdir, cfg = children.start(workdir, children.ConvergeChild)
    me = keras.backend.backend()
    data = Inputs.load(cfg.job.inputs)
    seeds, start, out = cfg.seeds, time.perf_counter(), []
    for k, seed in enumerate(seeds):
        out.append(train_seed(cfg, data, seed, f"seed {k + 1}/{len(seeds)}", me))
        took = time.perf_counter() - start
        eta = took / (k + 1) * (len(seeds) - k - 1)
        print(f"[{me}] seed {k + 1}/{len(seeds)} done in {sum(out[-1]['seconds']):.1f} s; "
              f"{took:.0f} s so far, ETA {eta:.0f} s", flush=True)
    runs.write_json(workdir / f"{me}.json", {"runs": out, "environment": {**backends.describe(), **runs.environment()},
                                            "dtype_policy": keras.config.dtype_policy().name,
                                            "wall_seconds": time.perf_counter() - start})
