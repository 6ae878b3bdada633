"""TensorFlow: tf.distribute.MirroredStrategy over n GPUs, else n logical CPU devices.

Keras's fit() hands a tf.data.Dataset to strategy.experimental_distribute_dataset, which splits
each global batch across the replicas; each replica's loss is scaled by 1/n and the strategy sums
the gradients. train_on_batch() does NOT split: it runs the whole batch on every replica (measured:
bit-identical to one device), so step() goes through fit() on a one-batch dataset.
BatchNormalization normalises each replica's part of the batch (synchronized=False, the default).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from mnistx.errors import MnistxError


def _dataset(x, y, batch_size: int):
    x = tuple(x) if isinstance(x, list) else x  # a list would be stacked into one tensor
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)


class Replicas:
    rank, world = 0, 1  # one process drives every replica

    def __init__(self, n: int):
        if len(tf.config.list_physical_devices("GPU")) >= n:
            names = [d.name for d in tf.config.list_logical_devices("GPU")][:n]
        else:
            cpu = tf.config.list_physical_devices("CPU")[0]
            try:  # must happen before TensorFlow's runtime starts
                tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
            except RuntimeError as exc:
                raise MnistxError(f"TensorFlow started before {n} logical CPU devices could be made: {exc}") from None
            names = [d.name for d in tf.config.list_logical_devices("CPU")][:n]
        self.devices = names
        self.strategy = tf.distribute.MirroredStrategy(names)
        self.engine = "tf.distribute.MirroredStrategy"

    def scope(self):
        return self.strategy.scope()

    def step(self, model, x, y) -> float:
        history = model.fit(_dataset(x, y, len(tf.nest.flatten(y)[0])), epochs=1, verbose=0, shuffle=False)
        return float(history.history["loss"][0])

    def fit(self, model, x, y, batch_size: int) -> None:
        model.fit(_dataset(x, y, batch_size), epochs=1, verbose=0, shuffle=False)
        np.asarray(model.trainable_variables[0].value)  # .numpy(): waits for the last step

    def close(self) -> None:
        pass
