"""Same seed, different numbers: what `keras.utils.set_random_seed(42)` gives on this backend.

    for b in tensorflow jax torch; do KERAS_BACKEND=$b python examples/rng_streams.py; done

Prints the first initial weights of the worksheet MLP and of keras.random.uniform. Each backend
has its own random-number generator, so the same seed gives different weights: to compare
backends, make the weights once and load the same file everywhere (what `mnistx parity` does).
"""

import keras

keras.utils.set_random_seed(42)
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(128, activation="relu"), keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
kernel = model.get_weights()[0]
keras.utils.set_random_seed(42)
u = keras.ops.convert_to_numpy(keras.random.uniform((4,)))
print(f"{keras.backend.backend():10s} first kernel weights {[round(float(v), 5) for v in kernel.ravel()[:4]]}  "
      f"sum {kernel.sum():+.4f}  uniform(4) {[round(float(v), 5) for v in u]}")
