"""Every layer's output for one eager forward pass, for any Keras model (child side, pure Keras).

Every layer that is not itself a Model has its `call` wrapped for one forward pass, and so has
every sublayer of a layer (a KerasHub transformer block's attention, norms and dense layers, called
inside the block's own `call()`), so the record is in execution order and works the same for
Sequential, functional, nested and subclassed models. Nested models are flattened: a layer is
named by its path (`encoder/block1_conv`, `transformer_layer_0/self_attention/query`); a shared
layer's second call is `name#2`. A sublayer's record comes before its enclosing layer's (the
enclosing call ends last); `parent` names the enclosing traced layer. InputLayers are not traced.

Each record also says where its inputs came from: `input:<i>` (a model input), an earlier
record's output (`<name>:<k>`), or `ext:<layer>:<j>` (a tensor computed outside any layer, e.g.
`x + y` in a subclassed model's call, named by the layer that first takes it; its value is kept too), so a parent can tell whether a layer's
inputs agreed across backends.
"""

from __future__ import annotations

import keras
import numpy as np

MASK_ARGS = ("mask", "training")


# Recurrent layers call their cell once per time step (and the backends differ in how often:
# TensorFlow once more, JAX inside lax.scan): their sublayers are not traced, the layer is.
OPAQUE = (keras.layers.RNN, keras.layers.Bidirectional)


def _children(layer) -> list:
    return [c for c in layer._flatten_layers(include_self=False, recursive=False)
            if not isinstance(c, keras.layers.InputLayer)]


def leaf_layers(model: keras.Model, prefix: str = "", seen: set | None = None,
                into_layers: bool = False) -> list[tuple[str, keras.layers.Layer]]:
    """(path, layer) for every non-Model layer, recursing into nested models (any kind); with
    `into_layers`, into every layer's sublayers too. Each layer once (a task model lists its
    backbone's InputLayer again; InputLayers are left out), at its first path."""
    seen = set() if seen is None else seen
    found = []
    for layer in _children(model):
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        path = f"{prefix}{layer.name}"
        if isinstance(layer, keras.Model):
            found += leaf_layers(layer, path + "/", seen, into_layers)
            continue
        found.append((path, layer))
        if into_layers and not isinstance(layer, OPAQUE):
            found += leaf_layers(layer, path + "/", seen, into_layers)
    return found


def traced_layers(model: keras.Model) -> list[tuple[str, keras.layers.Layer]]:
    """Every layer trace() records: leaf_layers with each layer's sublayers."""
    return leaf_layers(model, into_layers=True)


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

    def source_of(t, consumer: str, j: int) -> str:
        """A tensor's source; one made outside every traced layer is named after where it is
        first consumed (`ext:<layer>:<j>`), so the names match across backends even where one
        backend records layers another does not."""
        if id(t) not in seen:
            name = f"ext:{consumer}:{j}"
            arrays[name] = keras.ops.convert_to_numpy(t)
            seen[id(t)] = name
            keep.append(t)
        return seen[id(t)]

    hooked = traced_layers(model)
    paths = {p for p, _ in hooked}

    def wrap(path, layer, original):
        def call(*args, **kwargs):
            counts[path] = counts.get(path, 0) + 1
            name = path if counts[path] == 1 else f"{path}#{counts[path]}"
            try:
                inbound = [source_of(t, name, j) for j, t in enumerate(_tensors(args, kwargs))]
            except Exception:  # symbolic: a cell inside JAX's lax.scan (LSTM) has no values to record
                return original(*args, **kwargs)
            out = original(*args, **kwargs)
            keys, values = [], []
            try:
                for k, t in enumerate(x for x in keras.tree.flatten(out) if keras.ops.is_tensor(x)):
                    values.append((f"{name}:{k}", t, keras.ops.convert_to_numpy(t)))
            except Exception:  # likewise
                return out
            for key, t, value in values:
                arrays[key] = value
                seen[id(t)] = key
                keep.append(t)
                keys.append(key)
            parent = path.rsplit("/", 1)[0] if "/" in path else None
            records.append({"name": name, "class": type(layer).__name__, "outputs": keys,
                            "inbound": inbound, "parent": parent if parent in paths else None})
            return out
        return call

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
