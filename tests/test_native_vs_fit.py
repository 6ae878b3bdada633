"""Each backend's native training loop (mnistx.backends.native_trainer) against Keras's own
training from the same weights, step by step: the loss of every step and the weights after the
last one must agree within parity's trajectory tiers. An Adam with the wrong learning rate, no
bias correction or another epsilon fails this (the accuracy-band check alone did not catch it)."""

import keras
import numpy as np

from mnistx import backends
from mnistx.config import Tolerances
from mnistx.models import compile_worksheet, mlp
from mnistx.parity.checks import compare_arrays

STEPS, BATCH = 12, 32


def _batches(rng):
    x = rng.random((STEPS * BATCH, 28, 28), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 10, STEPS * BATCH), 10).astype(np.float32)
    return [(x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]) for i in range(STEPS)]


def test_native_loop_follows_keras_step_by_step(rng):
    keras.utils.set_random_seed(0)
    model = mlp()
    init = model.get_weights()
    batches = _batches(rng)

    compile_worksheet(model)  # Keras's Adam(1e-3), categorical_crossentropy: the reference
    keras_loss = [float(np.asarray(model.train_on_batch(xb, yb, return_dict=True)["loss"])) for xb, yb in batches]
    keras_w = [np.asarray(w) for w in model.get_weights()]

    model.set_weights(init)
    trainer = backends.native_trainer(model, keras.losses.CategoricalCrossentropy(), 1e-3, BATCH)
    native_loss = [trainer.train_step([xb], yb) for xb, yb in batches]
    trainer.write_back()
    native_w = [np.asarray(w) for w in model.get_weights()]

    tol = Tolerances()
    loss = compare_arrays(np.asarray(keras_loss), np.asarray(native_loss), tol.trajectory_loss)  # each step's batch loss
    assert loss["excess"] <= 1, (loss, keras_loss[:3], native_loss[:3])
    moved = max(float(np.abs(a - b).max()) for a, b in zip(keras_w, init))
    assert moved > 10 * tol.trajectory.atol  # the weights really moved: the check below can fail
    for i, (a, b) in enumerate(zip(keras_w, native_w)):
        s = compare_arrays(a, b, tol.trajectory)
        assert s["excess"] <= 1, (i, s)


class _WithUnusedWeight(keras.layers.Layer):
    """A Dense with a second weight its call() never reads (KerasHub's Llama has such variables)."""

    def build(self, shape):
        self.kernel = self.add_weight(shape=(shape[-1], 10), name="kernel")
        self.unused = self.add_weight(shape=(3,), name="unused", initializer="ones")

    def call(self, x):
        return keras.ops.matmul(x, self.kernel)


def test_native_loop_trains_a_model_with_a_variable_the_loss_does_not_reach(rng):
    """TensorFlow's native loop failed on Llama: "None values not supported" (tape.gradient gives
    None for an unused variable). It trains, like JAX and torch, and leaves that variable alone."""
    inp = keras.Input((28, 28))
    model = keras.Model(inp, keras.layers.Softmax()(_WithUnusedWeight()(keras.layers.Flatten()(inp))))
    before = [np.asarray(w).copy() for w in model.get_weights()]
    trainer = backends.native_trainer(model, keras.losses.CategoricalCrossentropy(), 1e-3, BATCH)
    losses = [trainer.train_step([xb], yb) for xb, yb in _batches(rng)]
    trainer.write_back()
    after = model.get_weights()
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert not np.array_equal(after[0], before[0]) and np.array_equal(after[1], before[1])
