"""Every layer's output for one eager forward pass, for any Keras model (child side, pure Keras).

Each leaf layer (a layer that is not itself a Model) has its `call` wrapped for one forward pass,
so the record is in execution order (a topological order of the graph) and works the same for
Sequential, functional, nested and subclassed models. Nested models are flattened: a layer is
named by its path (`encoder/block1_conv`); a shared layer's second call is `name#2`.

Each record also says where its inputs came from: `input:<i>` (a model input), an earlier
record's output (`<name>:<k>`), or `ext:<n>` (a tensor computed outside any layer, e.g. `x + y`
in a subclassed model's call; its value is kept too), so a parent can tell whether a layer's
inputs agreed across backends.
"""

from __future__ import annotations

import keras
import numpy as np

MASK_ARGS = ("mask", "training")


def leaf_layers(model: keras.Model, prefix: str = "") -> list[tuple[str, keras.layers.Layer]]:
    """(path, layer) for every non-Model layer, recursing into nested models (any kind)."""
    found = []
    for layer in model._flatten_layers(include_self=False, recursive=False):
        path = f"{prefix}{layer.name}"
        if isinstance(layer, keras.Model):
            found += leaf_layers(layer, path + "/")
        else:
            found.append((path, layer))
    return found


def _tensors(args, kwargs) -> list:
    flat = keras.tree.flatten(list(args))
    flat += [v for k, v in kwargs.items() if not any(m in k for m in MASK_ARGS)
             for v in keras.tree.flatten(v)]
    return [t for t in flat if t is not None and keras.ops.is_tensor(t)]


def trace(model: keras.Model, inputs) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Run `model(inputs, training=False)` once, eagerly, recording every leaf layer's call.

    Returns (records, arrays): records [{name, class, outputs: [key], inbound: [source]}] in
    execution order; arrays: key -> numpy value for every output and every `ext:` input.
    """
    records, arrays, seen = [], {}, {}  # seen: id(tensor) -> source name (tensors kept alive)
    keep, counts = [], {}
    flat_in = keras.tree.flatten(inputs)
    converted = [keras.ops.convert_to_tensor(x) for x in flat_in]
    for i, t in enumerate(converted):
        seen[id(t)] = f"input:{i}"
    structured = keras.tree.pack_sequence_as(inputs, converted)

    def source_of(t) -> str:
        if id(t) not in seen:
            name = f"ext:{len([k for k in arrays if k.startswith('ext:')])}"
            arrays[name] = keras.ops.convert_to_numpy(t)
            seen[id(t)] = name
            keep.append(t)
        return seen[id(t)]

    def wrap(path, layer, original):
        def call(*args, **kwargs):
            inbound = [source_of(t) for t in _tensors(args, kwargs)]
            out = original(*args, **kwargs)
            counts[path] = counts.get(path, 0) + 1
            name = path if counts[path] == 1 else f"{path}#{counts[path]}"
            keys = []
            for k, t in enumerate(x for x in keras.tree.flatten(out) if keras.ops.is_tensor(x)):
                key = f"{name}:{k}"
                arrays[key] = keras.ops.convert_to_numpy(t)
                seen[id(t)] = key
                keep.append(t)
                keys.append(key)
            records.append({"name": name, "class": type(layer).__name__, "outputs": keys,
                            "inbound": inbound})
            return out
        return call

    hooked = leaf_layers(model)
    for path, layer in hooked:
        layer.call = wrap(path, layer, layer.call)
    try:
        final = model(structured, training=False)
    finally:
        for _, layer in hooked:
            del layer.call  # back to the class's own method
    outs = [keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(final)]
    for k, t in enumerate(outs):
        arrays[f"output:{k}"] = t
    return records, arrays
