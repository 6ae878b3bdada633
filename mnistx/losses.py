"""The loss a job uses, built in a child from the parent's choice (pure Keras).

The parent (mnistx/prepare.py) picks: the model's own compile() loss when it has one; else
--loss; else a guess from the labels (mnistx.inputs.guess_loss). Here that choice becomes a
Keras loss, and labels are shaped to it (class ids <-> one-hot).
"""

from __future__ import annotations

import keras
import numpy as np

from mnistx.errors import MnistxError

CROSSENTROPY = {
    "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
    "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
    "binary_crossentropy": keras.losses.BinaryCrossentropy,
}


def check_name(name: str) -> None:
    """One-line error unless Keras knows the loss `name`."""
    if name in CROSSENTROPY:
        return
    try:
        keras.losses.get(name)
    except (ValueError, TypeError):
        raise MnistxError(f"unknown loss '{name}'; give a Keras loss name such as "
                          "sparse_categorical_crossentropy or mean_squared_error") from None


def make(choice: dict, model: keras.Model | None = None):
    """A Keras loss from {name, from_logits, compiled}; `compiled` uses the model's own."""
    if choice.get("compiled") and model is not None and getattr(model, "loss", None) is not None:
        return model.loss
    name = choice["name"]
    if name in CROSSENTROPY:
        return CROSSENTROPY[name](from_logits=bool(choice.get("from_logits")))
    loss = keras.losses.get(name)
    return loss if isinstance(loss, keras.losses.Loss) else MeanOf(loss, name)


def for_compile(choice: dict, model: keras.Model | None = None):
    """What compile() should get: the loss object for cross-entropies (from_logits travels in its
    config), else the plain name (so a saved .keras needs no mnistx class to load)."""
    if choice.get("compiled") or choice["name"] in CROSSENTROPY:
        return make(choice, model)
    return choice["name"]


class MeanOf(keras.losses.Loss):
    """A per-sample loss function as a Loss object, reduced to the batch mean like compile()'s."""

    def __init__(self, fn, name: str):
        super().__init__(name=name)
        self.fn = fn

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred)


def shape_labels(y: np.ndarray, choice: dict, out_last: int) -> np.ndarray:
    """Class ids -> one-hot for categorical cross-entropy, one-hot -> ids for sparse; floats otherwise."""
    name = choice.get("name", "")
    if name == "categorical_crossentropy" and np.issubdtype(y.dtype, np.integer):
        return np.eye(out_last, dtype=np.float32)[y]
    if name == "sparse_categorical_crossentropy" and not np.issubdtype(y.dtype, np.integer):
        return y.argmax(-1).astype(np.int64)
    if name == "binary_crossentropy":
        return y.astype(np.float32).reshape(-1, *([1] if y.ndim == 1 else []))
    return y if np.issubdtype(y.dtype, np.integer) else y.astype(np.float32)


@keras.saving.register_keras_serializable(package="mnistx")
class SquaredToZero(keras.losses.Loss):
    """mean(y_pred ** 2): the loss mnistx gives every output but the first of a model with several
    (a backbone's dict of sequence and pooled outputs): each output takes part in the loss, the
    gradients and the training trajectory, with no labels to invent. y_true is ignored."""

    def __init__(self, name: str = "squared_to_zero"):
        super().__init__(name=name)

    def call(self, y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_pred), axis=-1)

    def get_config(self):
        return {"name": self.name}


def combined(loss_fn):
    """(y, outputs) -> the job's scalar loss: loss_fn on the first flattened output, plus
    SquaredToZero's mean square of every other output (a native training loop's loss)."""
    def f(y, out):
        first, *rest = keras.tree.flatten(out)
        total = keras.ops.mean(loss_fn(y, first))
        for o in rest:
            total = total + keras.ops.mean(keras.ops.square(o))
        return total
    return f


def objective(loss_fn, y):
    """outputs -> the job's scalar loss against fixed labels y (for gradients): combined()."""
    yt, f = keras.ops.convert_to_tensor(y), combined(loss_fn)
    return lambda out: f(yt, out)


def for_training(model: keras.Model, choice: dict, out_last: int, train_y: np.ndarray, eval_y: np.ndarray):
    """(compile()'s loss, training labels, evaluation labels, classifier) for a job's loss choice:
    labels shaped to the loss and the outputs' structure (structured); classifier is True for a
    cross-entropy over several classes on a model with one output (then "accuracy" is shown)."""
    first = for_compile(choice, model)
    loss, ty = structured(model, first, shape_labels(train_y, choice, out_last))  # every output
    ey = structured(model, first, shape_labels(eval_y, choice, out_last))[1]
    return loss, ty, ey, choice["name"].endswith("crossentropy") and out_last > 1 and loss is first


def structured(model: keras.Model, loss_fn, y: np.ndarray):
    """(loss, labels) for compile() / train_on_batch() shaped like the model's outputs: unchanged
    for one output; else loss_fn and y for the first flattened output and SquaredToZero (with
    zero placeholders of the output's rank) for each other, packed in the outputs' structure."""
    struct = getattr(model, "_outputs_struct", None) if getattr(model, "outputs", None) else None
    flat = keras.tree.flatten(struct) if struct is not None else []
    if len(flat) < 2:
        return loss_fn, y
    dummies = [np.zeros((len(y),) + (1,) * (len(t.shape) - 1), np.float32) for t in flat[1:]]
    return (keras.tree.pack_sequence_as(struct, [loss_fn] + [SquaredToZero() for _ in dummies]),
            keras.tree.pack_sequence_as(struct, [y] + dummies))
