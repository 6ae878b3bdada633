"""Train any model on its inputs (MNIST for the registry's models) and write a run directory."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from mnistx import models, runs
from mnistx.config import EVAL_SAMPLES, MNIST_TEST_SAMPLES, RUN_SAMPLES, SYNTHETIC_TRAIN, TrainConfig


class EpochTimer(keras.callbacks.Callback):
    """Wall seconds per epoch (time.perf_counter; the epoch ends after Keras syncs its logs)."""

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def resolved_jit_compile(model: keras.Model) -> bool | str:
    """What Keras actually used for jit_compile after compile() (\"auto\" resolves per backend)."""
    return getattr(model, "jit_compile", "unknown")


def train(config: TrainConfig, run_dir, data_path=None, inputs: str = "data", loss: str | None = None,
          int_high: int | None = None, verbose: int | None = None, progress=print,
          seq_len: int | None = None, image_size: int | None = None, raw=None, spec=None) -> dict:
    """Train any model spec (config.model) on any inputs and write a complete run directory:
    `mnistx train` and every compare column. A registry model on MNIST is one case: its loss is the
    worksheet's, it is evaluated on all 10,000 test images (others on up to EVAL_SAMPLES), and
    the data is normalised like any uint8 images. raw: MNIST already loaded and checked (else read
    from data_path); spec: config.model as the parent parsed it (a ModelSpec or its to_json()),
    else parsed here. Returns metrics."""
    from mnistx import backends, losses, modelspec, probe
    from mnistx.inputs import out_last as output_width
    from mnistx.prepare import fit_job

    spec = modelspec.parse(config.model) if spec is None else (
        modelspec.ModelSpec.from_json(spec) if isinstance(spec, dict) else spec)
    arrays, source = _arrays(spec, inputs, data_path, raw)
    backends.set_random_seed(config.seed)  # TensorFlow is not imported only to be seeded
    model = models.build_spec(spec)
    if loss:
        losses.check_name(loss)
    info = probe.inspect(model, int_high, seq_len, image_size)
    n_train = config.train_limit or (SYNTHETIC_TRAIN if arrays is None else 10**9)
    n_eval = MNIST_TEST_SAMPLES if spec.on_mnist and arrays is not None else EVAL_SAMPLES
    job, choice = fit_job(spec, info, arrays, source, n_eval, n_train, config.seed, loss)
    out_last = output_width(info)
    progress(f"  {info['class']} '{info['name']}', {info['params']:,} weights; inputs {job.source}; "
             f"loss {choice['name']} ({choice['why']})")
    loss, ty, ey, classifier = losses.for_training(model, choice, out_last, job.train_y, job.eval_y)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss,
                  metrics=["accuracy"] if classifier else [], jit_compile=config.jit_compile,
                  steps_per_execution=config.steps_per_execution)
    from mnistx.backends._common import pack_inputs

    timer = EpochTimer()
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    history = model.fit(pack_inputs(model, job.train_x), ty,
                        epochs=config.epochs, batch_size=config.batch_size, validation_split=config.validation_split,
                        shuffle=True, callbacks=[timer], verbose=verbose)
    ev = model.evaluate(pack_inputs(model, job.eval_x), ey, batch_size=256, verbose=0, return_dict=True)
    out = model.predict(pack_inputs(model, job.eval_x), batch_size=256, verbose=0)
    outputs = np.asarray(keras.tree.flatten(out)[0], np.float32)
    n_fit = int(math.ceil(len(job.train_y) * (1.0 - config.validation_split)))  # Keras's own split
    metrics = {"test_loss": float(ev["loss"]), "test_accuracy": float(ev["accuracy"]) if classifier else None,
               "seconds_per_epoch": timer.seconds, "epochs": config.epochs, "train_samples": n_fit,
               "val_samples": len(job.train_y) - n_fit, "eval_samples": len(job.eval_y)}
    from mnistx import backends

    meta = {**backends.describe(), **runs.environment(), "seed": config.seed, "config": asdict(config),
            "jit_compile": resolved_jit_compile(model), "data_source": job.source, "model": spec.text,
            "model_info": info, "loss": choice, "classifier": classifier, "params": int(model.count_params())}
    run_dir = Path(run_dir)
    runs.save_model(model, run_dir)
    runs.write_npy(run_dir / "test_probs.npy", outputs)
    runs.write_npz(run_dir / "eval.npz", compressed=True, y=job.eval_y, sample_y=job.train_y[:RUN_SAMPLES],
                   sample_x0=job.train_x[0][:RUN_SAMPLES], **{f"x{i}": x for i, x in enumerate(job.eval_x)})
    runs.write_json(run_dir / "history.json", {k: [float(v) for v in vals] for k, vals in history.history.items()})
    runs.write_json(run_dir / "metrics.json", metrics)
    runs.write_json(run_dir / "meta.json", meta)  # last: its presence marks a complete run
    return metrics


def _arrays(spec, inputs: str, data_path, raw) -> tuple[dict | None, str]:
    """The training and test arrays (None: synthetic inputs) and where they came from; MNIST
    through Keras's download when no data is given."""
    from mnistx import data
    from mnistx.prepare import read_data

    if inputs == "synthetic":
        return None, "synthetic"
    if raw is None:
        arrays, source = read_data(spec, data_path)
        if arrays is not None:
            return arrays, source
        raw = data.load(None)
    return {"x_train": raw.x_train, "y_train": raw.y_train, "x_test": raw.x_test, "y_test": raw.y_test}, raw.source
