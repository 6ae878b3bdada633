"""KerasHub's Llama attention at masked query rows, per backend: outputs and the gradient of one
projection for right padding, left padding and a fully masked row (docs/portability.md).

    python benchmarks/masked_rows.py          # parent: one child per backend, then the table

Each child builds benchmarks/atlas_models.py:llama from the same saved weights and writes its
outputs and d mean(out^2) / d value kernel of layer 0 for four sequences of 16 tokens.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BACKENDS = ("jax", "torch", "tensorflow")  # jax first: it saves the shared weights
CASES = {"right": [1] * 10 + [0] * 6, "left": [0] * 6 + [1] * 10, "fully masked": [0] * 16}


def child(out: Path) -> None:
    import keras

    sys.path.insert(0, str(HERE))
    import atlas_models

    from mnistx.backends import gradients
    from mnistx.backends._common import pack_inputs

    keras.utils.set_random_seed(3)
    model = atlas_models.llama()
    weights = out / "llama.weights.h5"
    model.load_weights(weights) if weights.exists() else model.save_weights(weights)
    ids = np.random.default_rng(0).integers(1, 128, (4, 16)).astype("int32")
    paths = [v.path for v in model.trainable_variables]
    value = next(i for i, p in enumerate(paths) if "layer_0/self_attention/value" in p)
    arrays = {}
    for name, row in CASES.items():
        mask = np.array([[1] * 16] * 3 + [row], "int32")  # three full rows and the case
        xs = [mask, np.where(mask == 1, ids, 0).astype("int32")]
        _, gw, _ = gradients(model, xs, lambda o: keras.ops.mean(keras.ops.square(o)))
        arrays[f"{name}/grad"] = gw[value]
        arrays[f"{name}/out"] = keras.ops.convert_to_numpy(model(pack_inputs(model, xs)))
    np.savez(out / f"{keras.backend.backend()}.npz", **arrays)


def main() -> None:
    out = Path(tempfile.mkdtemp(prefix="masked-rows-"))
    for b in BACKENDS:
        env = dict(os.environ, KERAS_BACKEND=b, TF_CPP_MIN_LOG_LEVEL="2")
        subprocess.run([sys.executable, __file__, "--child", str(out)], env=env, check=True)
    r = {b: np.load(out / f"{b}.npz") for b in BACKENDS}
    print("| case | outputs tf vs jax | outputs jax vs torch | gradient tf vs jax | gradient jax vs torch | max abs gradient (jax) |")
    print("|---|---|---|---|---|---|")
    for name in CASES:
        d = {k: {p: float(np.abs(r[x][f"{name}/{k}"] - r[y][f"{name}/{k}"]).max())
                 for p, (x, y) in {"tj": ("tensorflow", "jax"), "jt": ("jax", "torch")}.items()} for k in ("out", "grad")}
        print(f"| {name} | {d['out']['tj']:.1e} | {d['out']['jt']:.1e} | {d['grad']['tj']:.1e} | "
              f"{d['grad']['jt']:.1e} | {np.abs(r['jax'][f'{name}/grad']).max():.1e} |")


if __name__ == "__main__":
    child(Path(sys.argv[2])) if sys.argv[1:2] == ["--child"] else main()
