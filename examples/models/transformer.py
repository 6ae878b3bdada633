"""A Transformer encoder block for sequence classification: token + position Embedding,
MultiHeadAttention, LayerNormalization, a feed-forward block, dropout. Token ids in 0..999,
sequences of 32, 4 classes (functional)."""

import keras
from keras import layers

VOCAB, LENGTH, DIM = 1000, 32, 64


@keras.saving.register_keras_serializable(package="mnistx_examples")
class PositionEmbedding(layers.Layer):
    """Token embedding plus a learned position embedding."""

    def __init__(self, vocab, length, dim, **kw):
        super().__init__(**kw)
        self.vocab, self.length, self.dim = vocab, length, dim
        self.tokens = layers.Embedding(vocab, dim)
        self.positions = layers.Embedding(length, dim)

    def call(self, ids):
        pos = keras.ops.arange(0, keras.ops.shape(ids)[-1])
        return self.tokens(ids) + self.positions(pos)

    def build(self, ids_shape):  # with compute_output_shape, call() no longer builds the children
        self.tokens.build(ids_shape)
        self.positions.build((self.length,))

    def compute_output_shape(self, ids_shape):
        # Without it, Keras infers the shape by running call() on placeholders; on the NumPy backend
        # those are np.empty arrays, so the token ids are garbage and the lookup fails (IndexError).
        return (*ids_shape, self.dim)

    def get_config(self):
        return {**super().get_config(), "vocab": self.vocab, "length": self.length, "dim": self.dim}


def build() -> keras.Model:
    ids = keras.Input((LENGTH,), dtype="int32", name="tokens")
    x = PositionEmbedding(VOCAB, LENGTH, DIM, name="embed")(ids)
    att = layers.MultiHeadAttention(num_heads=4, key_dim=16, dropout=0.1, name="attention")(x, x)
    x = layers.LayerNormalization(epsilon=1e-6, name="norm1")(x + layers.Dropout(0.1)(att))
    ff = layers.Dense(128, activation="gelu", name="ff1")(x)
    ff = layers.Dense(DIM, name="ff2")(ff)
    x = layers.LayerNormalization(epsilon=1e-6, name="norm2")(x + layers.Dropout(0.1)(ff))
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    out = layers.Dense(4, activation="softmax", name="classes")(x)
    return keras.Model(ids, out, name="transformer_block")
