"""The hand-written loops the native loop is cross-checked against (mnistx/backends/handwritten/):
on this backend, from the same weights on the same real MNIST batches, they follow Keras's own
Adam training step by step, so the cross-check times the same work: the worksheet's MLP, and a
CNN (the registry's cnn less its Dropout, whose masks each framework draws itself)."""

import keras
import numpy as np
import pytest

from mnistx import backends, models
from mnistx.bench.crosscheck import layer_ops

STEPS, LR = 5, 1e-3
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def batches(raw):
    from mnistx import data

    prepared = data.worksheet_split(raw, 0.0, train_limit=32 * STEPS)  # one-hot labels
    x, y = prepared.x_train, prepared.y_train
    return [(x[i:i + 32], y[i:i + 32]) for i in range(0, len(y), 32)]


def cnn_without_dropout() -> keras.Model:
    """keras#20713's CNN (examples/models): the registry cnn's layers without Dropout, functional."""
    from mnistx import modelspec

    return models.build_spec(modelspec.parse(f"{ROOT}/examples/models/keras20713_cnn.py:build").to_json())


@pytest.mark.parametrize("model_name,labels", [("mlp", "one-hot"), ("mlp", "ids"), ("cnn", "one-hot")])
def test_the_hand_written_loop_follows_keras_adam(batches, model_name, labels):
    if keras.backend.backend() not in ("tensorflow", "jax", "torch"):
        pytest.skip("inference-only backend")
    keras.utils.set_random_seed(3)
    model = models.build("mlp") if model_name == "mlp" else cnn_without_dropout()
    loss = (keras.losses.CategoricalCrossentropy() if labels == "one-hot"
            else keras.losses.SparseCategoricalCrossentropy())
    ops, why = layer_ops(model, loss)
    assert why is None
    loop = backends.handwritten_loop(ops, LR, 32)
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
    # may round to the other sign, where Adam moves a weight by lr either way). torch.optim.Adam puts
    # epsilon after the bias correction: on the CNN's first kernel, whose second moments are small,
    # that shows (measured lr/18 apart after 5 steps; lr/50 holds on jax and tensorflow)
    bound = LR / (10 if keras.backend.backend() == "torch" and model_name == "cnn" else 50)
    for mine, keras_w, w0 in zip(loop.weights(), model.get_weights(), init):
        assert mine.shape == keras_w.shape
        assert np.abs(mine - keras_w).mean() < bound < np.abs(mine - w0).mean()  # moved, as Keras did


def test_the_registry_cnn_with_dropout_trains_in_the_hand_written_loop(batches):
    """The registry's cnn (Dropout 0.5 before its last Dense): the loop drops units with its own
    framework's RNG, so only the direction is compared: the loss falls over 5 steps on one batch."""
    if keras.backend.backend() not in ("tensorflow", "jax", "torch"):
        pytest.skip("inference-only backend")
    keras.utils.set_random_seed(3)
    ops, why = layer_ops(models.build("cnn"), keras.losses.CategoricalCrossentropy())
    assert why is None and [op[0] for op in ops] == ["reshape", "conv", "maxpool", "conv", "maxpool", "flatten",
                                                     "dropout", "dense"]
    loop = backends.handwritten_loop(ops, LR, 32)
    x, y = batches[0]
    losses = [loop.train_step(x, y) for _ in range(STEPS)]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses


def test_models_the_loops_do_not_build_say_why():
    bn = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization(),
                           keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    ops, why = layer_ops(bn, keras.losses.CategoricalCrossentropy())
    assert ops is None and "BatchNormalization" in why
    same = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, padding="same"),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    assert layer_ops(same, keras.losses.CategoricalCrossentropy())[0] is None
    ops, why = layer_ops(models.build("mlp"), keras.losses.MeanSquaredError())
    assert ops is None and "cross-entropy" in why
    inp = keras.Input((4,))  # two branches: not a chain
    branchy = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(
        keras.layers.Add()([keras.layers.Dense(3)(inp), keras.layers.Dense(3)(inp)])))
    assert layer_ops(branchy, keras.losses.CategoricalCrossentropy())[0] is None
