"""keras.applications.EfficientNetB0, untrained (weights=None): Rescaling and Normalization
preprocessing, depthwise convolutions, BatchNorm, squeeze-and-excitation, swish, dropout.
32x32x3 inputs, 10 classes (about 4.0M weights)."""

import keras


def build() -> keras.Model:
    return keras.applications.EfficientNetB0(input_shape=(32, 32, 3), weights=None, classes=10)
