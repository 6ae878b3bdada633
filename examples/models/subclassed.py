"""A subclassed model: residual blocks of Dense + BatchNormalization + Dropout, written as a
keras.Model subclass with its own call() (registered, with get_config, so .keras files load)."""

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="mnistx_examples")
class ResidualMLP(keras.Model):
    def __init__(self, width=64, blocks=2, classes=10, **kw):
        super().__init__(**kw)
        self.width, self.blocks_n, self.classes = width, blocks, classes
        self.flatten = layers.Flatten()
        self.stem = layers.Dense(width, activation="relu")
        self.dense = [layers.Dense(width) for _ in range(blocks)]
        self.norms = [layers.BatchNormalization() for _ in range(blocks)]
        self.drop = layers.Dropout(0.1)
        self.head = layers.Dense(classes, activation="softmax")

    def call(self, x, training=False):
        h = self.stem(self.flatten(x))
        for dense, norm in zip(self.dense, self.norms):
            h = h + keras.ops.relu(norm(dense(h), training=training))
        return self.head(self.drop(h, training=training))

    def get_config(self):
        return {**super().get_config(), "width": self.width, "blocks": self.blocks_n, "classes": self.classes}


def build() -> keras.Model:
    model = ResidualMLP(name="residual_mlp")
    model(keras.ops.zeros((1, 28, 28)))  # a subclassed model creates its weights on first call
    return model
