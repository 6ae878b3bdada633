"""Keras code that torch.compile(fullgraph=True) cannot trace, and equivalents it can, installed
only while the torch native loop's compiled step runs (mnistx/backends/_torch_native.py).

- keras.src.tree.torchtree_impl._dict_to_ordered_dict flattens one level of a structure with
  `is_leaf=lambda x: x is not structure`; dynamo cannot trace `is not` between two tuples ("Failed
  to trace builtin operator"), and every Layer.__call__ with positional arguments flattens a tuple,
  so no KerasHub model traced as one graph. The substitute returns the same structure (dicts sorted
  by key, one level at a time, as the original) and marks only the root as a non-leaf.
- keras.src.backend.torch.nn._can_use_flash_attention builds torch.backends.cuda.SDPAParams, a
  pybind11 object dynamo cannot construct. On a tensor that is not on a CUDA device it answers False
  (every dtype, mask and is_causal; tests/test_torch_graphs.py checks the original); the
  substitute answers False there without building it and calls the original otherwise.
- warnings.warn (Layer.__call__ warns when a mask reaches a layer without mask support: KerasHub's
  T5) cannot be in a graph; dynamo moves it out (torch._dynamo.config.reorderable_logging_functions).
  The compiled step then does not raise it again (torch 2.13); Keras raised it when the model was built.

Dynamo guards on these module attributes, so every call of a compiled step runs inside
`keras_traceable()` (the same functions each time, no retrace), and Keras's own jit_compile=True
path (bench's keras-tuned mode) never sees them.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections import defaultdict

import torch
from torch.utils import _pytree as torch_tree


def ordered_dicts(structure):
    """keras.src.tree.torchtree_impl._dict_to_ordered_dict, traceable by dynamo: a dict (or
    defaultdict) becomes a copy sorted by key; any other pytree node is rebuilt from its children,
    each treated the same way; a leaf is returned as it is."""
    if type(structure) is dict:
        return {k: structure[k] for k in sorted(structure.keys())}
    if type(structure) is defaultdict:
        return defaultdict(structure.default_factory, {k: structure[k] for k in sorted(structure.keys())})
    if type(structure) in (list, tuple):
        return type(structure)(ordered_dicts(c) for c in structure)
    if torch_tree._get_node_type(structure) not in torch_tree.SUPPORTED_NODES:
        return structure
    root = [True]

    def only_root_is_a_node(x):  # the original's `x is not structure`, without comparing tuples by identity
        if root[0]:
            root[0] = False
            return False
        return True

    children, treedef = torch_tree.tree_flatten(structure, is_leaf=only_root_is_a_node)
    if treedef.num_nodes == 1 and treedef.num_leaves == 1:
        return structure
    return torch_tree.tree_unflatten([ordered_dicts(c) for c in children], treedef)


@functools.cache
def _swaps() -> tuple[tuple[object, str, object], ...]:
    """(module, attribute, substitute) for the helpers this Keras has; made once, so each call of a
    compiled step sees the same substitute objects (dynamo's guards)."""
    from keras.src.backend.torch import nn as torch_nn
    from keras.src.tree import torchtree_impl

    swaps = []
    if hasattr(torchtree_impl, "_dict_to_ordered_dict"):
        swaps.append((torchtree_impl, "_dict_to_ordered_dict", ordered_dicts))
    if hasattr(torch_nn, "_can_use_flash_attention"):
        original = torch_nn._can_use_flash_attention

        def flash_attention_on_cuda_only(query, *args, **kwargs):
            """Keras's check without building SDPAParams off CUDA (there it answers False)."""
            if query.device.type != "cuda" and not kwargs.get("raise_error", False):
                return False
            return original(query, *args, **kwargs)

        swaps.append((torch_nn, "_can_use_flash_attention", flash_attention_on_cuda_only))
    return tuple(swaps)


@contextlib.contextmanager
def keras_traceable():
    """The substitutes above in place for the length of the block (and warnings.warn moved out of
    graphs), the originals back after."""
    swaps = _swaps()
    saved = [(module, name, getattr(module, name)) for module, name, _ in swaps]
    for module, name, substitute in swaps:
        setattr(module, name, substitute)
    try:
        reorderable = set(torch._dynamo.config.reorderable_logging_functions) | {warnings.warn}  # a user's kept
        with torch._dynamo.config.patch(reorderable_logging_functions=reorderable):
            yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)
