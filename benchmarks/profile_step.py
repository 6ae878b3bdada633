"""Where the time goes in one training step of the worksheet MLP (or cnn), in one mode.

    KERAS_BACKEND=torch python benchmarks/profile_step.py --mode native --ops

cProfile over one epoch of N steady steps: the top Python functions by own time (tottime).
--ops adds the framework profiler's top ops by own CPU time over the same steps (torch.profiler;
other backends have no such table here). Used for benchmarks/results/profile-*.txt and
docs/performance.md.
"""

import argparse
import cProfile
import io
import pstats
import sys

import keras

from mnistx import backends, data, models
from mnistx.bench import modes as M


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=M.MODES, default="keras-default")
    ap.add_argument("--model", default="mlp", choices=("mlp", "cnn"))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--ops", action="store_true", help="also the framework profiler's top ops (torch)")
    ap.add_argument("--data", help="MNIST path (default: $MNISTX_DATA, else Keras's download)")
    args = ap.parse_args(argv)
    d = data.worksheet_split(data.load(args.data), 0.2)
    x, y = [d.x_train[: 32 * args.steps]], d.y_train[: 32 * args.steps]
    keras.utils.set_random_seed(0)
    model = models.build(args.model)
    m = M.make(args.mode, model, model.get_weights(), 32, M.Task(keras.losses.CategoricalCrossentropy(), True))
    m.first_call(x, y)
    m.reset()
    m.epoch(x, y)  # warm: every graph built before anything is profiled
    m.reset()
    prof = cProfile.Profile()
    prof.enable()
    seconds = m.epoch(x, y)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(args.top)
    print(f"{keras.backend.backend()} {args.model} {args.mode} ({m.settings}): {args.steps} steps in "
          f"{seconds:.3f} s = {1e3 * seconds / args.steps:.3f} ms/step (under cProfile, which adds overhead)")
    print(buf.getvalue())
    if args.ops:
        m.reset()
        table = backends.op_profile(lambda: m.epoch(x, y), 1, args.top + 10)
        print(f"framework profiler, one epoch of {args.steps} steps, top ops by own CPU time:\n"
              + (table or f"(none: {keras.backend.backend()} has no per-op table here)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
