"""Helpers the backend files share (no framework imports here)."""

from __future__ import annotations

import os
import platform


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else platform.processor()."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def seed_loaded(seed: int) -> None:
    """keras.utils.set_random_seed(seed) for what this process has loaded: Keras's global seed (a new
    global SeedGenerator), Python's and NumPy's RNGs, and TensorFlow's where it is imported already.
    Keras's own function imports TensorFlow to seed it (for tf.data pipelines): 1.7 s in a jax,
    torch, numpy or openvino child that feeds arrays and never loads it otherwise."""
    import random
    import sys

    import keras
    import numpy as np

    if "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)


def save_without_tf_probe(model, path) -> None:
    """model.save(path) (a .keras file) in a process that has not imported TensorFlow. Keras's
    serializer asks `tf.available` (which imports TensorFlow: 1.6 s) only to test whether a config
    value is a tf.TensorShape, DType or TypeSpec; with TensorFlow not imported none can be, so the
    answer is "no" for the duration of the save and the file is the same."""
    import sys

    from keras.src.utils import module_utils

    lazy = module_utils.tensorflow
    if "tensorflow" in sys.modules or lazy._available is not None:
        model.save(path)
        return
    lazy._available = False
    try:
        model.save(path)
    finally:
        lazy._available = None


def cpu_device(threads: int) -> str:
    return f"cpu ({cpu_name()}, {threads} threads, {os.cpu_count()} cores)"


def adam_update(xp, w, g, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-7):
    """One Keras-style Adam update with array module `xp` (jax.numpy or tf.math style ops).

    Keras's formula: alpha = lr * sqrt(1 - b2^t) / (1 - b1^t); w -= alpha * m / (sqrt(v) + eps).
    Returns (w, m, v). `t` is the 1-based step count as a float array/scalar.
    """
    m = m + (g - m) * (1 - b1)
    v = v + (g * g - v) * (1 - b2)
    alpha = lr * xp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    return w - alpha * m / (xp.sqrt(v) + eps), m, v


def float_inputs(xs) -> list[int]:
    """Indices of the inputs a gradient can be taken with respect to (floating point)."""
    return [i for i, x in enumerate(xs) if "float" in str(getattr(x, "dtype", ""))]


def pack_inputs(model, xs: list):
    """The model's call argument from a list of inputs in its input order: the one array, or
    the structure the model was built with (list or dict), else the list."""
    if len(xs) == 1:
        return xs[0]
    struct = getattr(model, "_inputs_struct", None)
    if struct is not None:
        from keras import tree

        try:
            return tree.pack_sequence_as(struct, list(xs))
        except (ValueError, TypeError):
            pass
    return list(xs)


def stepped_epoch(trainer, xs, y) -> float:
    """All full batches of (xs, y) in order, one compiled train_step call each (a Python loop);
    the mean loss. Used where the fused epoch loop is the slower one (trainer.epoch_loop "python")."""
    bs = trainer.batch_size
    losses = [trainer.train_step([x[i:i + bs] for x in xs], y[i:i + bs]) for i in range(0, len(y) - bs + 1, bs)]
    return sum(losses) / max(len(losses), 1)
