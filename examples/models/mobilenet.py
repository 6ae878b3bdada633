"""keras.applications.MobileNetV2, untrained (weights=None): BatchNorm, depthwise convolutions,
ReLU6, residual adds. 32x32x3 inputs, 10 classes, alpha 0.35 (about 410k weights)."""

import keras


def build() -> keras.Model:
    return keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=10)
