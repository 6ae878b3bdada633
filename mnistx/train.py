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
