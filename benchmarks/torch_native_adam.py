"""The torch native loop with and without its compiled Adam update, on the worksheet MLP.

    KERAS_BACKEND=torch python benchmarks/torch_native_adam.py --epochs 3 --rounds 2

forward-only: forward + loss compiled (AOTAutograd compiles the backward with it), KerasAdam
eager -- the loop before the benchmark-trust issue; whole-step: the KerasAdam update compiled too
(mnistx.backends.torch.NativeTrainer today). Same weights, same batches: the final losses must
agree. Epoch seconds (48,000 images, batch 32): median, min, max over rounds x epochs, the two
variants interleaved so load drifts hit both.
"""

import argparse
import sys
import time

import keras
import numpy as np

from mnistx import data, models
from mnistx.backends import torch as tb


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--data", help="MNIST path (default: $MNISTX_DATA, else Keras's download)")
    args = ap.parse_args(argv)
    d = data.worksheet_split(data.load(args.data), 0.2)
    x, y = [d.x_train], d.y_train
    keras.utils.set_random_seed(0)
    model = models.build("mlp")
    init = model.get_weights()
    times, finals = {}, {}
    for _ in range(args.rounds):
        for variant in ("forward-only", "whole-step"):
            model.set_weights(init)
            tr = tb.NativeTrainer(model, keras.losses.CategoricalCrossentropy(), 1e-3, 32)
            if variant == "forward-only":
                tr._opt_step = tr.opt.step  # the update eager, as before
            tr.train_step([x[0][:32]], y[:32])
            tr.train_epoch([x[0][:3200]], y[:3200])  # warm: every graph built
            for _ in range(args.epochs):
                model.set_weights(init)
                tr.reset()
                start = time.perf_counter()
                finals[variant] = tr.train_epoch(x, y)  # returns a host float: synced
                times.setdefault(variant, []).append(time.perf_counter() - start)
            print(f"{variant}: {[round(t, 3) for t in times[variant][-args.epochs:]]} s/epoch", flush=True)
    print(f"torch {tb.versions()['torch']}, keras {keras.__version__}, {tb.threads()} threads, "
          f"{len(y)} images/epoch at batch 32")
    for variant, ts in times.items():
        print(f"{variant}: median {np.median(ts):.3f} s/epoch (min {min(ts):.3f}, max {max(ts):.3f}, n={len(ts)}); "
              f"mean loss of the last epoch {finals[variant]:.6f}")
    print(f"forward-only / whole-step: {np.median(times['forward-only']) / np.median(times['whole-step']):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
