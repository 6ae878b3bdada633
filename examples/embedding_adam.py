"""One Keras Adam step on an Embedding whose batch repeats a token id, against the same step in
NumPy (the gradient summed over the repeats, then Keras's Adam formula).

    for b in tensorflow jax torch; do KERAS_BACKEND=$b python examples/embedding_adam.py; done

On TensorFlow the Embedding's gradient is a tf.IndexedSlices with one slice per occurrence, and
Keras's Adam adds each slice's square to the second moment (sum of g_i^2) where the dense
gradient of JAX and PyTorch gives (sum of g_i)^2: the repeated row moves differently. See
docs/portability.md ("Embedding + Adam on TensorFlow").
"""

import keras
import numpy as np

LR, B1, B2, EPS = 0.1, 0.9, 0.999, 1e-7

rng = np.random.default_rng(0)
w0 = rng.standard_normal((10, 4)).astype("float32")
ids = np.array([[1, 1, 1, 2]], "int32")  # token 1 three times, token 2 once
y = rng.standard_normal((1, 4, 4)).astype("float32")

model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(10, 4)])
model.set_weights([w0])
model.compile(keras.optimizers.Adam(LR, beta_1=B1, beta_2=B2, epsilon=EPS), "mse")
model.train_on_batch(ids, y)
w1 = model.get_weights()[0]

# NumPy: d mse / d rows, one row per occurrence; summed per token (dense) or squared per occurrence
g_each = (2 * (w0[ids] - y) / y.size).reshape(-1, 4)
g, g2_each = np.zeros_like(w0), np.zeros_like(w0)
np.add.at(g, ids.ravel(), g_each)
np.add.at(g2_each, ids.ravel(), g_each ** 2)
alpha = LR * np.sqrt(1 - B2) / (1 - B1)


def adam(second_moment):
    return w0 - alpha * (1 - B1) * g / (np.sqrt((1 - B2) * second_moment) + EPS)


dense, per_occurrence = adam(g * g), adam(g2_each)
print(f"{keras.backend.backend():10s} token 1 (3 repeats): |keras - dense Adam| {np.abs(w1 - dense)[1].max():.1e}, "
      f"|keras - per-occurrence squares| {np.abs(w1 - per_occurrence)[1].max():.1e}; "
      f"token 2 (once): {np.abs(w1 - dense)[2].max():.1e}")
