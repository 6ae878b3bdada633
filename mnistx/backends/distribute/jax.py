"""JAX: keras.distribution.DataParallel, a 1-D device mesh; XLA's SPMD partitioner splits every
batch-sharded computation and inserts the all-reduces (gradients, and BatchNorm statistics too:
the program stays the single-device program over the global batch)."""

from __future__ import annotations

import contextlib

import jax
import keras

from mnistx.errors import MnistxError


class Replicas:
    rank, world = 0, 1  # one process drives every device

    def __init__(self, n: int):
        devs = jax.devices()
        if len(devs) < n:  # fewer GPUs than n: n host devices, as TensorFlow and torch fall back to
            devs = jax.devices("cpu")
        if len(devs) < n:
            raise MnistxError(f"JAX sees {len(devs)} {devs[0].platform} device(s), not {n}; start the "
                              f"process with XLA_FLAGS=--xla_force_host_platform_device_count={n}")
        self.devices = [f"{d.platform}:{d.id}" for d in devs[:n]]
        self.engine = "keras.distribution.DataParallel (jax.sharding mesh, XLA SPMD)"
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devs[:n]))

    def scope(self):
        return contextlib.nullcontext()  # the distribution is global: variables are laid out as created

    def step(self, model, x, y) -> float:
        return float(model.train_on_batch(x, y, return_dict=True)["loss"])  # Keras shards the batch

    def fit(self, model, x, y, batch_size: int) -> None:
        model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        jax.block_until_ready([v.value for v in model.trainable_variables])

    def close(self) -> None:
        keras.distribution.set_distribution(None)
