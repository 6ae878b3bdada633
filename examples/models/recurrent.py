"""A recurrent sequence classifier: Bidirectional LSTM then GRU over 20 steps of 8 features,
3 classes, with recurrent dropout off and dropout between the layers (Sequential)."""

import keras
from keras import layers


def build() -> keras.Model:
    return keras.Sequential([
        keras.Input((20, 8), name="series"),
        layers.Bidirectional(layers.LSTM(32, return_sequences=True), name="bilstm"),
        layers.Dropout(0.2),
        layers.GRU(32, name="gru"),
        layers.Dense(3, name="logits"),  # no softmax: trained with from_logits=True
    ], name="recurrent")
