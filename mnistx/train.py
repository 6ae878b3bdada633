"""Train a registry model on MNIST with the worksheet's recipe and write a run directory."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from mnistx import models, runs
from mnistx.config import TrainConfig
from mnistx.data import Prepared


class EpochTimer(keras.callbacks.Callback):
    """Wall seconds per epoch (time.perf_counter; the epoch ends after Keras syncs its logs)."""

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def fit(config: TrainConfig, data: Prepared, verbose: int | None = None):
    """Seed, build, compile and fit. Returns (model, history dict, seconds per epoch list)."""
    keras.utils.set_random_seed(config.seed)
    model = models.compile_worksheet(models.build(config.model), config.learning_rate,
                                     jit_compile=config.jit_compile,
                                     steps_per_execution=config.steps_per_execution)
    timer = EpochTimer()
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    history = model.fit(data.x_train, data.y_train, epochs=config.epochs, batch_size=config.batch_size,
                        validation_data=(data.x_val, data.y_val) if len(data.x_val) else None,
                        shuffle=True, callbacks=[timer], verbose=verbose)
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    return model, hist, timer.seconds


def resolved_jit_compile(model: keras.Model) -> bool | str:
    """What Keras actually used for jit_compile after compile() (\"auto\" resolves per backend)."""
    return getattr(model, "jit_compile", "unknown")


def train(config: TrainConfig, data: Prepared, run_dir: str | Path, verbose: int | None = None) -> dict:
    """Fit, evaluate on the test set, and write a complete run directory. Returns metrics."""
    from mnistx import backends

    run_dir = Path(run_dir)
    model, history, seconds = fit(config, data, verbose)
    test_loss, test_acc = model.evaluate(data.x_test, data.y_test, batch_size=256, verbose=0)
    probs = np.asarray(model.predict(data.x_test, batch_size=256, verbose=0), np.float32)
    metrics = {"test_loss": float(test_loss), "test_accuracy": float(test_acc),
               "seconds_per_epoch": seconds, "epochs": config.epochs,
               "train_samples": len(data.x_train), "val_samples": len(data.x_val)}
    meta = {**backends.describe(), **runs.environment(), "seed": config.seed, "config": asdict(config),
            "jit_compile": resolved_jit_compile(model), "data_source": data.source,
            "model": config.model, "params": int(model.count_params())}
    runs.save_model(model, run_dir)
    runs.write_npy(run_dir / "test_probs.npy", probs)
    runs.write_json(run_dir / "history.json", history)
    runs.write_json(run_dir / "metrics.json", metrics)
    runs.write_json(run_dir / "meta.json", meta)  # last: its presence marks a complete run
    return metrics


def train_any(config: TrainConfig, run_dir, data_path=None, inputs: str = "data", loss: str | None = None,
              int_high: int | None = None, verbose: int | None = None, progress=print,
              seq_len: int | None = None, image_size: int | None = None, raw=None) -> dict:
    """Train any model spec (config.model) on any inputs: `mnistx train` and every compare column.
    The registry's models on MNIST take the worksheet path above (raw: MNIST already loaded and
    checked, else loaded from data_path). Anything else writes a run directory plus eval.npz (the
    evaluation inputs and labels, up to EVAL_SAMPLES, for introspection). Returns metrics."""
    from mnistx import losses, modelspec, probe
    from mnistx.inputs import out_last as output_width
    from mnistx.prepare import fit_job, read_data

    spec = modelspec.parse(config.model)
    if spec.on_mnist and inputs == "data":
        from mnistx import data

        raw = raw if raw is not None else data.load(data_path)
        return train(config, data.prepare(raw, config.validation_split, config.train_limit), run_dir, verbose)
    arrays, source = (None, "synthetic") if inputs == "synthetic" else read_data(spec, data_path)
    if inputs == "data" and arrays is None:
        from mnistx import data

        raw = data.load(None)
        arrays, source = {"x_train": raw.x_train, "y_train": raw.y_train, "x_test": raw.x_test,
                          "y_test": raw.y_test}, raw.source
    keras.utils.set_random_seed(config.seed)
    model = models.build_spec(spec)
    if loss:
        losses.check_name(loss)
    info = probe.inspect(model, int_high, seq_len, image_size)
    n_train = config.train_limit or (SYNTHETIC_TRAIN if arrays is None else 10**9)
    job, choice = fit_job(spec, info, arrays, source, EVAL_SAMPLES, n_train, config.seed, loss)
    out_last = output_width(info)
    progress(f"  {info['class']} '{info['name']}', {info['params']:,} weights; inputs {job.source}; "
             f"loss {choice['name']} ({choice['why']})")
    loss, ty, ey, classifier = losses.for_training(model, choice, out_last, job.train_y, job.eval_y)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss,
                  metrics=["accuracy"] if classifier else [], jit_compile=config.jit_compile,
                  steps_per_execution=config.steps_per_execution)
    from mnistx.backends._common import pack_inputs

    timer = EpochTimer()
    history = model.fit(pack_inputs(model, job.train_x), ty,
                        epochs=config.epochs, batch_size=config.batch_size, validation_split=config.validation_split,
                        shuffle=True, callbacks=[timer], verbose=verbose if verbose is not None else 2)
    ev = model.evaluate(pack_inputs(model, job.eval_x), ey, batch_size=256, verbose=0, return_dict=True)
    out = model.predict(pack_inputs(model, job.eval_x), batch_size=256, verbose=0)
    outputs = np.asarray(keras.tree.flatten(out)[0], np.float32)
    metrics = {"test_loss": float(ev["loss"]), "test_accuracy": float(ev["accuracy"]) if classifier else None,
               "seconds_per_epoch": timer.seconds, "epochs": config.epochs, "train_samples": len(job.train_y),
               "eval_samples": len(job.eval_y)}
    from mnistx import backends

    meta = {**backends.describe(), **runs.environment(), "seed": config.seed, "config": asdict(config),
            "jit_compile": resolved_jit_compile(model), "data_source": job.source, "model": spec.text,
            "model_info": info, "loss": choice, "classifier": classifier, "params": int(model.count_params())}
    run_dir = Path(run_dir)
    runs.save_model(model, run_dir)
    runs.write_npy(run_dir / "test_probs.npy", outputs)
    arrays_out = {f"x{i}": x for i, x in enumerate(job.eval_x)}
    runs.write_npz(run_dir / "eval.npz", y=job.eval_y, **arrays_out)
    runs.write_json(run_dir / "history.json", {k: [float(v) for v in vals] for k, vals in history.history.items()})
    runs.write_json(run_dir / "metrics.json", metrics)
    runs.write_json(run_dir / "meta.json", meta)  # last: its presence marks a complete run
    return metrics


EVAL_SAMPLES = 2000  # evaluation samples kept with a run of a user's model (eval.npz)
SYNTHETIC_TRAIN = 2048  # synthetic training samples when no data is given
