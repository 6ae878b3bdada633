"""Does the torch native loop's CUDA-graph path train like the eager loop? (child of gpu_run.py)

    KERAS_BACKEND=torch python benchmarks/graph_check.py OUT.json [--steps 200] [--data mnist.npz]

Trains the worksheet MLP from the same seeded weights on the same MNIST batches twice -- eager
loop, then the default loop (cuda-graph on a GPU, torch.compile or eager elsewhere) -- and writes
the path taken, any capture error, the losses and the largest weight difference to OUT.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--data")
    args = ap.parse_args(argv)

    import keras
    import numpy as np

    from mnistx import data, models, runs
    from mnistx.backends import torch as tb

    raw = data.load(args.data)
    x, y = data.normalize(raw.x_train[: args.steps * 32]), raw.y_train[: args.steps * 32].astype(np.int64)
    keras.utils.set_random_seed(42)
    model = models.build("mlp")
    init = [w.copy() for w in model.get_weights()]
    out = {}
    for name, graphs in (("eager", False), ("default", None)):
        model.set_weights(init)
        t = tb.NativeTrainer(model, keras.losses.SparseCategoricalCrossentropy(), 1e-3, 32,
                             compile=graphs is None, graphs=graphs)
        start = time.perf_counter()
        losses = [t.train_step([x[i:i + 32]], y[i:i + 32]) for i in range(0, len(y), 32)]
        out[name] = {"path": t.path, "graph_error": t.graph_error, "losses": losses,
                     "seconds": time.perf_counter() - start, "weights": [w.copy() for w in model.get_weights()]}
    diff = max(float(np.abs(a - b).max()) for a, b in zip(out["eager"]["weights"], out["default"]["weights"]))
    result = {"steps": len(out["eager"]["losses"]), "path": out["default"]["path"],
              "graph_error": out["default"]["graph_error"], "max_weight_diff": diff,
              "max_loss_diff": float(np.max(np.abs(np.subtract(out["eager"]["losses"], out["default"]["losses"])))),
              "final_loss": {k: v["losses"][-1] for k, v in out.items()},
              "seconds": {k: v["seconds"] for k, v in out.items()}, "device": tb.device()}
    runs.write_json(args.out, result)
    print(f"graph_check: {result['path']} vs eager over {result['steps']} steps: max weight diff "
          f"{diff:.2e}, max loss diff {result['max_loss_diff']:.2e}"
          + (f" (capture failed: {result['graph_error']})" if result["graph_error"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
