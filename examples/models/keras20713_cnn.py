"""The CNN of keras-team/keras#20713 ("Huge difference in training with Pytorch backend": 98-99%
test accuracy on TensorFlow and JAX, under 90% on PyTorch), for `mnistx converge`:

    mnistx converge --model examples/models/keras20713_cnn.py:build --batch-size 128

Conv2D 32 and 64 (3x3, relu), each followed by 2x2 max pooling, Flatten, Dense 10 softmax, as in
the issue (named conv_1, pool_1, ...). The issue's input is (28, 28, 1); this one takes MNIST's
(28, 28) and adds the channel with a Reshape, which computes the same thing.
"""

import keras
from keras import layers


def build() -> keras.Model:
    inputs = keras.Input(shape=(28, 28), name="input_layer")
    x = layers.Reshape((28, 28, 1), name="channel")(inputs)
    x = layers.Conv2D(32, kernel_size=(3, 3), activation="relu", name="conv_1")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2), name="pool_1")(x)
    x = layers.Conv2D(64, kernel_size=(3, 3), activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2), name="pool_2")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(10, activation="softmax", name="dense")(x)
    return keras.Model(inputs, outputs, name="keras20713_cnn")
