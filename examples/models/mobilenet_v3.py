"""keras.applications.MobileNetV3Small, untrained (weights=None): Rescaling preprocessing,
depthwise convolutions, BatchNorm, squeeze-and-excitation blocks, hard-swish, dropout in the
head. 32x32x3 inputs, 10 classes, alpha 0.75."""

import keras


def build() -> keras.Model:
    return keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), alpha=0.75, weights=None,
                                               classes=10, include_preprocessing=True)
