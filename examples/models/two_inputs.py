"""A model with two named inputs: a 28x28 image through a small CNN and 6 tabular features
through a Dense layer, concatenated; one regression output (functional). Data for it is an .npz
with x_image, x_meta and y."""

import keras
from keras import layers


def build() -> keras.Model:
    image = keras.Input((28, 28, 1), name="image")
    meta = keras.Input((6,), name="meta")
    a = layers.Conv2D(8, 3, activation="relu", name="conv")(image)
    a = layers.MaxPooling2D(name="pool")(a)
    a = layers.Flatten(name="flat")(a)
    b = layers.Dense(16, activation="tanh", name="meta_dense")(meta)
    x = layers.Concatenate(name="join")([a, b])
    x = layers.Dense(32, activation="relu", name="hidden")(x)
    return keras.Model([image, meta], layers.Dense(1, name="value")(x), name="two_inputs")
