"""The native loop's independent cross-check: the same model trained by a hand-written loop in the
framework itself (mnistx/backends/handwritten/: torch.nn, jax.numpy + lax, tf.GradientTape),
timed by the same harness (modes.cycle_times) on the same batches. Pure Keras here: what the
model is, as a list of ops; the loops live in the adapter.

    layer_ops(model, loss_fn) -> ([op, ...], None) | (None, why not)

An op is one of (Keras layouts, channels last):
    ("reshape", target_shape)            ("flatten",)            ("dropout", rate)
    ("dense", kernel (in, out), bias (out,), activation)
    ("conv", kernel (kh, kw, in, out), bias (out,), activation)   stride 1, "valid" padding
    ("maxpool", (ph, pw))                                          stride = pool, "valid"
The registry's mlp and cnn are such chains; so is a user's MLP or small CNN.
"""

from __future__ import annotations

import keras
import numpy as np

from mnistx.backends.handwritten import ACTIVATIONS


def _chain(model: keras.Model) -> list | None:
    """The model's layers when each takes the one before's output (Sequential, or a functional
    model built as a chain on one input); else None."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if isinstance(model, keras.Sequential):
        return layers
    if not isinstance(model, keras.Model) or not hasattr(model, "inputs") or len(model.inputs) != 1:
        return None
    prev = model.inputs[0]
    for layer in layers:
        if len(layer._inbound_nodes) != 1 or layer.input is not prev:
            return None
        prev = layer.output
    return layers if len(model.outputs) == 1 and prev is model.outputs[0] else None


def _weights(layer) -> tuple[np.ndarray, np.ndarray]:
    kernel, bias = (np.asarray(keras.ops.convert_to_numpy(w), np.float32) for w in layer.weights)
    return kernel, bias


def _activation(layer) -> str:
    """The name of one of Keras's own activations ("relu", "linear", ...), else the function's repr
    (which the loops reject). Looked up by name, not keras.activations.serialize: Keras's serializer
    imports TensorFlow (1.7 s, mid-benchmark) in a jax or torch child only to test for its types."""
    fn = layer.activation
    name = getattr(fn, "__name__", None)
    try:
        return name if name and keras.activations.get(name) is fn else str(fn)
    except ValueError:  # not a Keras activation name
        return str(fn)


def _op(layer) -> tuple:
    """One layer as an op; raises ValueError (the reason) for what the loops do not build."""
    L = keras.layers
    if isinstance(layer, L.Flatten):
        return ("flatten",)
    if isinstance(layer, L.Reshape):
        return ("reshape", tuple(layer.target_shape))
    if isinstance(layer, L.Dropout) and type(layer) is L.Dropout and layer.noise_shape is None:
        return ("dropout", float(layer.rate))
    if isinstance(layer, L.Dense) and layer.use_bias:
        return ("dense", *_weights(layer), _activation(layer))
    if isinstance(layer, L.Conv2D) and type(layer) is L.Conv2D and layer.use_bias and layer.groups == 1 \
            and layer.data_format == "channels_last" and layer.padding == "valid" \
            and tuple(layer.strides) == (1, 1) and tuple(layer.dilation_rate) == (1, 1):
        return ("conv", *_weights(layer), _activation(layer))
    if isinstance(layer, L.MaxPooling2D) and layer.data_format == "channels_last" and layer.padding == "valid" \
            and tuple(layer.strides) == tuple(layer.pool_size):
        return ("maxpool", tuple(layer.pool_size))
    raise ValueError(f"layer {layer.name} ({type(layer).__name__}): the hand-written loops build Dense, "
                     "Conv2D (stride 1, valid), MaxPooling2D, Flatten, Reshape and Dropout")


def layer_ops(model: keras.Model, loss_fn) -> tuple[list | None, str | None]:
    """The model as ops (above) when it is a chain of layers the hand-written loops build, ending in
    a softmax Dense (or logits) trained with a cross-entropy. Else (None, why not)."""
    ce = (keras.losses.CategoricalCrossentropy, keras.losses.SparseCategoricalCrossentropy)
    if not isinstance(loss_fn, ce):
        return None, f"loss {getattr(loss_fn, 'name', loss_fn)}: the hand-written loops train a cross-entropy"
    layers = _chain(model)
    if layers is None:
        return None, "not a chain of layers on one input (Sequential, or functional built as one)"
    try:
        ops = [_op(layer) for layer in layers]
    except ValueError as exc:
        return None, str(exc)
    for layer, op in zip(layers, ops):  # a Dense on an image applies to its channels: flatten first
        if op[0] == "dense" and len(layer.input.shape) != 2:
            return None, f"layer {layer.name} (Dense) on a {len(layer.input.shape) - 1}-D input: the loops take it flattened"
        if op[0] in ("conv", "maxpool") and len(layer.input.shape) != 4:
            return None, f"layer {layer.name}: the loops take 2-D images (h, w, c)"
    acts = [op[-1] for op in ops if op[0] in ("dense", "conv")]
    last = "linear" if loss_fn.get_config().get("from_logits") else "softmax"
    if not ops or ops[-1][0] != "dense" or acts[-1] != last or any(a not in ACTIVATIONS for a in acts[:-1]):
        return None, f"activations {acts}: the hand-written loops take relu/linear, then a Dense with {last}"
    return ops, None
