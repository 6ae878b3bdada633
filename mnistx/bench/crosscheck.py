"""The native loop's independent cross-check: the same Dense stack trained by a hand-written loop
in the framework itself (mnistx/backends/handwritten/: torch.nn, jax.numpy, tf.GradientTape),
timed by the same harness (modes.cycle_times) on the same batches. Pure Keras here: what the
model is; the loops live in the adapter.

    dense_stack(model, loss_fn) -> ([(kernel, bias, activation)], None) | (None, why not)
"""

from __future__ import annotations

import keras
import numpy as np

from mnistx.backends.handwritten import ACTIVATIONS

PASS_THROUGH = (keras.layers.InputLayer, keras.layers.Flatten)


def dense_stack(model: keras.Model, loss_fn) -> tuple[list | None, str | None]:
    """The model as Dense layers (Keras kernel (in, out), bias, activation name) when it is a plain
    Dense stack on one input trained with a cross-entropy on its softmax (or logits): the only
    models the hand-written loops build. Else (None, why not)."""
    ce = (keras.losses.CategoricalCrossentropy, keras.losses.SparseCategoricalCrossentropy)
    if not isinstance(loss_fn, ce):
        return None, f"loss {getattr(loss_fn, 'name', loss_fn)}: the hand-written loops train a cross-entropy"
    if len(model.inputs) != 1 or not isinstance(model, keras.Sequential):
        return None, "not a Sequential model on one input"
    layers = []
    for layer in model.layers:
        if isinstance(layer, PASS_THROUGH) and not layers:
            continue
        if not isinstance(layer, keras.layers.Dense) or not layer.use_bias:
            return None, f"layer {layer.name} ({type(layer).__name__}): the hand-written loops build Dense stacks"
        kernel, bias = (np.asarray(keras.ops.convert_to_numpy(w), np.float32) for w in layer.weights)
        act = keras.activations.serialize(layer.activation)  # a name for Keras's own activations
        layers.append((kernel, bias, act if isinstance(act, str) else str(act)))
    acts = [a for _, _, a in layers]
    last = "linear" if loss_fn.get_config().get("from_logits") else "softmax"
    if not layers or acts[-1] != last or any(a not in ACTIVATIONS for a in acts[:-1]):
        return None, f"activations {acts}: the hand-written loops take relu/linear, then {last}"
    return layers, None
