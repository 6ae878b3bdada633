"""Sweep Keras's steps_per_execution x jit_compile on this backend: how keras-tuned was chosen.

    KERAS_BACKEND=tensorflow python benchmarks/sweep_steps_per_execution.py

Prints one line per setting: two timed worksheet epochs (48k images, batch 32) after a warm-up.
A steps_per_execution that does not divide the 1,500 steps of an epoch retraces for the last,
partial execution in the first epoch (seen as a slow first number).
"""

import sys
import time

import keras

from mnistx import data, models


def main() -> int:
    p = data.worksheet_split(data.load(), 0.2)
    backend = keras.backend.backend()
    jits = [True] if backend == "jax" else [True, False]  # eager JAX is 60x slower: not a contender
    spes = [1] if backend == "torch" else [1, 50, 200, 500, 1500]  # torch refuses > 1
    for spe in spes:
        for jit in jits:
            keras.utils.set_random_seed(1)
            m = models.compile_worksheet(models.build("mlp"), jit_compile=jit, steps_per_execution=spe)
            m.fit(p.x_train[: 32 * spe * 2], p.y_train[: 32 * spe * 2], verbose=0, shuffle=False)
            ts = []
            for _ in range(2):
                t = time.perf_counter()
                m.fit(p.x_train, p.y_train, batch_size=32, verbose=0, shuffle=False)
                ts.append(time.perf_counter() - t)
            print(f"{backend} spe {spe} jit {jit} epoch {ts[0]:.2f} {ts[1]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
