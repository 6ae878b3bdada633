"""The model registry: pure Keras 3, no backend framework imported here.

Every model takes (N, 28, 28) float32 images in [0, 1] and returns (N, 10) softmax probabilities.
"""

from __future__ import annotations

import keras
from keras import layers

from mnistx.errors import MnistxError


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


def layer_outputs_model(model: keras.Model) -> keras.Model:
    """A model that returns every layer's output (list, in layer order) for the same input."""
    return keras.Model(model.inputs[0], [layer.output for layer in model.layers])


def logits(model: keras.Model, penultimate: "keras.KerasTensor") -> "keras.KerasTensor":
    """Pre-softmax values of the last Dense layer, from the previous layer's output (N, 10)."""
    last = model.layers[-1]
    return keras.ops.matmul(penultimate, last.kernel) + last.bias
