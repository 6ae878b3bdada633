"""Where the time goes in one training step: cProfile over N steady steps of one mode.

    KERAS_BACKEND=torch python benchmarks/profile_step.py --mode keras-default --steps 300

Prints the top functions by own time (tottime) and the share of the step they take. Used to
explain the benchmark goals that are out of reach (see docs/portability.md).
"""

import argparse
import cProfile
import io
import pstats
import sys

import keras

from mnistx import data, models
from mnistx.bench import modes as M


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=M.MODES, default="keras-default")
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--data", help="MNIST path (default: $MNISTX_DATA, else Keras's download)")
    args = ap.parse_args(argv)
    d = data.prepare(data.load(args.data), 0.2)
    x, y = d.x_train[: 32 * args.steps], d.y_train[: 32 * args.steps]
    keras.utils.set_random_seed(0)
    model = models.build(args.model)
    m = M.make(args.mode, model, model.get_weights(), 32)
    m.prepare(x, y)
    m.reset()
    prof = cProfile.Profile()
    prof.enable()
    seconds = m.epoch(x, y)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(args.top)
    print(f"{keras.backend.backend()} {args.model} {args.mode}: {args.steps} steps in {seconds:.3f} s "
          f"= {1e3 * seconds / args.steps:.3f} ms/step (under cProfile, which adds overhead)")
    print(buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
