"""What each model input is for, found by following the graph (child side, pure Keras).

For every input the probe child says its role, so that synthetic inputs are what the model expects:
    ids       integer token ids; `high` is the input_dim of the Embedding that consumes it (followed
              through nested models and composite layers: BERT's segment_ids -> segment_embedding,
              2 ids; a task model's token_ids -> its backbone's token_embedding)
    mask      a padding mask (its name says `mask`, or it is boolean): ones then zeros per row
    image     a float input of rank 3 (height, width, channels)
    float     any other float input (features, audio frames)
and `max_length`: the longest sequence the model's position embeddings take (None: no limit seen).
"""

from __future__ import annotations

import keras


def _consumers(model: keras.Model, tensor) -> list:
    """(operation, node) pairs of a functional model whose call takes `tensor`."""
    found = []
    for op in getattr(model, "operations", []):
        for node in getattr(op, "_inbound_nodes", []):
            if any(t is tensor for t in node.input_tensors):
                found.append((op, node))
    return found


def _first_embedding(layer) -> keras.layers.Embedding | None:
    if isinstance(layer, keras.layers.Embedding):
        return layer
    for sub in layer._flatten_layers(include_self=False, recursive=True):
        if isinstance(sub, keras.layers.Embedding):
            return sub
    return None


def consuming_embedding(model: keras.Model, tensor, depth: int = 0) -> keras.layers.Embedding | None:
    """The Embedding that takes `tensor` (an input of `model`), following nested models by the
    input's position in the call; None where no Embedding consumes it."""
    if depth > 8:
        return None
    for op, node in _consumers(model, tensor):
        if isinstance(op, keras.Model) and getattr(op, "inputs", None):
            pos = [i for i, t in enumerate(node.input_tensors) if t is tensor]
            inner = [t for t in op.inputs if t.name == tensor.name] or \
                    [op.inputs[p] for p in pos if p < len(op.inputs)]
            for t in inner:
                found = consuming_embedding(op, t, depth + 1)
                if found is not None:
                    return found
        elif isinstance(op, keras.layers.Layer):
            found = _first_embedding(op)
            if found is not None:
                return found
    return None


def max_length(model: keras.Model) -> int | None:
    """The smallest `sequence_length` of the model's position-embedding layers (None: none)."""
    lengths = [int(layer.sequence_length) for layer in model._flatten_layers(include_self=False, recursive=True)
               if isinstance(getattr(layer, "sequence_length", None), int)]
    return min(lengths) if lengths else None


def roles(model: keras.Model, specs: list[dict], fallback_high: int | None = None) -> list[dict]:
    """[{role, high}] per model input, for `specs` (models.input_specs, model.inputs order)."""
    tensors = list(getattr(model, "inputs", None) or []) or [None] * len(specs)
    out = []
    for spec, t in zip(specs, tensors):
        name, dtype, rank = spec["name"].lower(), spec["dtype"], len(spec["shape"])
        if "mask" in name or dtype == "bool":
            out.append({"role": "mask", "high": 2})
        elif "int" in dtype:
            emb = consuming_embedding(model, t) if t is not None else None
            out.append({"role": "ids", "high": int(emb.input_dim) if emb is not None else fallback_high,
                        "embedding": emb.path if emb is not None else None})
        else:
            out.append({"role": "image" if rank == 3 else "float", "high": None})
    return out
