"""The hand-written loops the native loop is cross-checked against (mnistx/backends/handwritten/):
on this backend, from the same weights on the same real MNIST batches, they follow Keras's own
Adam training step by step, so the cross-check times the same work."""

import keras
import numpy as np
import pytest

from mnistx import backends, models
from mnistx.bench.crosscheck import dense_stack

STEPS, LR = 5, 1e-3


@pytest.fixture(scope="module")
def batches(raw):
    from mnistx import data

    prepared = data.worksheet_split(raw, 0.0, train_limit=32 * STEPS)  # one-hot labels
    x, y = prepared.x_train, prepared.y_train
    return [(x[i:i + 32], y[i:i + 32]) for i in range(0, len(y), 32)]


@pytest.mark.parametrize("labels", ["one-hot", "ids"])
def test_the_hand_written_loop_follows_keras_adam(batches, labels):
    if keras.backend.backend() not in ("tensorflow", "jax", "torch"):
        pytest.skip("inference-only backend")
    keras.utils.set_random_seed(3)
    model = models.build("mlp")
    loss = (keras.losses.CategoricalCrossentropy() if labels == "one-hot"
            else keras.losses.SparseCategoricalCrossentropy())
    layers, why = dense_stack(model, loss)
    assert why is None
    loop = backends.handwritten_loop(layers, LR, 32)
    init = model.get_weights()
    model.compile(optimizer=keras.optimizers.Adam(LR), loss=loss)
    ours, theirs = [], []
    for x, y in batches:
        y = y if labels == "one-hot" else y.argmax(-1).astype(np.int64)
        ours.append(loop.train_step(x, y))
        theirs.append(float(model.train_on_batch(x, y)))
    # the loss before each step: Keras clips probabilities at 1e-7, the loops use log_softmax, and
    # torch.optim.Adam adds epsilon after the bias correction (measured: 1.3e-4 apart by step 3 on
    # torch, within 1e-5 on jax and tensorflow); twice the learning rate is 1e-2 apart by then
    np.testing.assert_allclose(ours, theirs, atol=1e-3)
    # weights after 5 steps: mean |difference| far below one step's lr (a few near-zero gradients
    # may round to the other sign, where Adam moves a weight by lr either way)
    for mine, keras_w, w0 in zip(loop.weights(), model.get_weights(), init):
        assert mine.shape == keras_w.shape
        assert np.abs(mine - keras_w).mean() < LR / 50 < np.abs(mine - w0).mean()  # moved, as Keras did


def test_models_that_are_not_dense_stacks_say_why():
    cnn = models.build("cnn")
    layers, why = dense_stack(cnn, keras.losses.CategoricalCrossentropy())
    assert layers is None and "Reshape" in why
    layers, why = dense_stack(models.build("mlp"), keras.losses.MeanSquaredError())
    assert layers is None and "cross-entropy" in why
