"""The model registry: pure Keras 3, no backend framework imported here.

Every model takes (N, 28, 28) float32 images in [0, 1] and returns (N, 10) softmax probabilities.
"""

from __future__ import annotations

import keras
from keras import layers

from mnistx.errors import MnistxError, one_line


def mlp() -> keras.Model:
    """The worksheet's network: Flatten, Dense 128 relu, Dense 64 relu, Dense 10 softmax."""
    return keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="mlp")


def cnn() -> keras.Model:
    """keras.io's mnist_convnet: two conv/pool blocks, dropout, softmax (34,826 weights)."""
    return keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Reshape((28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ], name="cnn")


REGISTRY = {"mlp": mlp, "cnn": cnn}


def build(name: str) -> keras.Model:
    """A fresh, built model from the registry (weights from the current Keras seed)."""
    if name not in REGISTRY:
        raise MnistxError(f"unknown model '{name}'; choose one of: {', '.join(REGISTRY)}")
    return REGISTRY[name]()


def build_spec(spec) -> keras.Model:
    """A fresh keras.Model from a ModelSpec (or its JSON dict); one-line MnistxError if not."""
    from mnistx.modelspec import ModelSpec

    spec = ModelSpec.from_json(spec) if isinstance(spec, dict) else spec
    if spec.kind == "registry":
        return build(spec.target)
    if spec.kind == "hub":
        from mnistx import hub

        return hub.load(spec.target)
    if spec.kind == "keras":
        try:
            return auto_jit(keras.saving.load_model(spec.target, safe_mode=True))
        except Exception as exc:  # Keras raises ValueError/TypeError for unsafe or unknown objects
            raise MnistxError(f"Keras could not load '{spec.target}': {one_line(exc)}") from None
    fn = _builder(spec)
    try:
        model = fn()
    except Exception as exc:  # the user's code: say where it failed, in one line
        raise MnistxError(f"{spec.text}() raised {type(exc).__name__}: {one_line(exc)}") from None
    if not isinstance(model, keras.Model):
        raise MnistxError(f"{spec.text}() returned {type(model).__name__}, not a keras.Model")
    if not model.built:
        raise MnistxError(f"{spec.text}() returned a model that is not built; start it with "
                          "keras.Input(...) or call model.build(input_shape) before returning it")
    return model


def auto_jit(model: keras.Model) -> keras.Model:
    """A loaded model keeps the jit_compile its saver resolved (True on JAX); resolve it again for
    this backend, as compile(jit_compile="auto") would (torch: eager, not torch.compile per shape)."""
    if getattr(model, "compiled", False):
        model.jit_compile = model._resolve_auto_jit_compile()
    return model


def _builder(spec):
    import importlib
    import importlib.util
    import sys
    from pathlib import Path

    try:
        if spec.kind == "module":
            module = importlib.import_module(spec.target)
        else:
            path = Path(spec.target)
            sys.path.insert(0, str(path.parent))  # so the file can import its neighbours
            name = f"mnistx_user_{path.stem}"
            loader = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module
            loader.loader.exec_module(module)
    except Exception as exc:
        raise MnistxError(f"importing {spec.target} failed: {type(exc).__name__}: {one_line(exc)}") from None
    fn = getattr(module, spec.function, None)
    if not callable(fn):
        raise MnistxError(f"{spec.target} has no callable '{spec.function}'")
    return fn


def is_graph_model(model: keras.Model) -> bool:
    """Functional or Sequential: layers form a graph Keras knows (else: subclassed)."""
    return isinstance(model, (keras.Sequential, keras.src.models.functional.Functional))


def input_specs(model: keras.Model) -> list[dict]:
    """[{name, shape (without batch), dtype}] per model input, in call order."""
    if getattr(model, "inputs", None):
        return [{"name": t.name, "shape": list(t.shape[1:]), "dtype": str(t.dtype)} for t in model.inputs]
    shape = getattr(model, "_build_shapes_dict", None) or {}
    first = next(iter(shape.values()), None)
    if first is None:
        raise MnistxError(f"model '{model.name}' does not say its input shape; give it keras.Input(...)")
    return [{"name": "x", "shape": list(first[1:]), "dtype": "float32"}]


def all_layers(model: keras.Model) -> list:
    """Every layer inside the model, nested models flattened (depth first)."""
    return list(model._flatten_layers(include_self=False, recursive=True))


def embedding_input_dim(model: keras.Model) -> int | None:
    for layer in all_layers(model):
        if isinstance(layer, layers.Embedding):
            return int(layer.input_dim)
    return None


def describe(model: keras.Model, int_high: int | None = None) -> dict:
    """What the parent needs: inputs (with their roles: mnistx/input_roles.py), output shapes,
    size, kind, compile loss, layer kinds, the longest sequence its position embeddings take."""
    from mnistx import input_roles

    outs = model.outputs if getattr(model, "outputs", None) else None
    specs = input_specs(model)
    specs = [{**s, **r} for s, r in zip(specs, input_roles.roles(model, specs, int_high or embedding_input_dim(model)))]
    kinds = sorted({type(layer).__name__ for layer in all_layers(model)})
    loss = getattr(model, "loss", None) if getattr(model, "compiled", False) else None
    return {"name": model.name, "class": type(model).__name__, "graph": is_graph_model(model),
            "inputs": specs, "max_length": input_roles.max_length(model),
            "outputs": [list(t.shape[1:]) for t in outs] if outs else None,
            "params": int(model.count_params()), "layer_kinds": kinds,
            "n_layers": len(all_layers(model)), "embedding_input_dim": embedding_input_dim(model),
            "compiled_loss": None if loss is None else (loss if isinstance(loss, str) else
                                                        getattr(loss, "name", type(loss).__name__))}


def compile_worksheet(model: keras.Model, learning_rate: float = 1e-3, **kw) -> keras.Model:
    """The worksheet's compile: adam, categorical_crossentropy, accuracy."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"], **kw)
    return model


def first_weighted_layer(model: keras.Model) -> keras.layers.Layer:
    """The first Dense or Conv2D layer (the worksheet's `model.layers[1]` for the MLP)."""
    for layer in model.layers:
        if isinstance(layer, (layers.Dense, layers.Conv2D)):
            return layer
    raise MnistxError(f"model '{model.name}' has no Dense or Conv2D layer to show")
