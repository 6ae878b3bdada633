"""Inputs for any model, in the parent (numpy only): the ONE place that knows how inputs are named.

Sources, in order:
    --inputs synthetic     a seeded batch built from the model's input spec (shape, dtype; token
                           ids in [0, int_high), int_high from the first Embedding or --int-high)
    --data FILE.npz        `x` + `y`; or `x_train/y_train/x_test/y_test`; or one `x_<name>` per
                           model input (matched to the model's input names) + `y`
    MNIST                  otherwise (mnistx/data.py: --data, $MNISTX_DATA, Keras's download)

Labels are integer classes, one-hot rows or float targets. uint8 arrays fed to a float input are
scaled by 1/255, as the worksheet does. Every mismatch is one line naming the input and shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistx import data
from mnistx.errors import DataError


@dataclass
class Inputs:
    """eval_x / train_x: one array per model input (N, ...); eval_y / train_y: labels (N, ...)."""

    eval_x: list
    eval_y: np.ndarray
    train_x: list
    train_y: np.ndarray
    source: str

    def save(self, path) -> None:
        from mnistx import runs

        arrays = {f"eval_x{i}": a for i, a in enumerate(self.eval_x)}
        arrays.update({f"train_x{i}": a for i, a in enumerate(self.train_x)})
        runs.write_npz(path, eval_y=self.eval_y, train_y=self.train_y, **arrays)

    @classmethod
    def load(cls, path) -> "Inputs":
        with np.load(path, allow_pickle=False) as f:
            d = {k: f[k] for k in f.files}
        n = len([k for k in d if k.startswith("eval_x")])
        return cls([d[f"eval_x{i}"] for i in range(n)], d["eval_y"],
                   [d[f"train_x{i}"] for i in range(n)], d["train_y"], str(path))


def read_npz(path) -> dict:
    """Every array of a user's .npz (no pickles, all finite), or a one-line DataError saying why not."""
    arrays = data.read_npz(path)
    data.check_finite(arrays, str(path))
    return arrays


def split_arrays(arrays: dict, input_names: list[str], source: str) -> tuple[dict, np.ndarray, dict, np.ndarray]:
    """(eval inputs, eval labels, train inputs, train labels): inputs as name -> array."""
    def pick(suffix: str) -> dict:
        if len(input_names) == 1:
            key = f"x{suffix}"
            alt = f"x_{input_names[0]}{suffix}"
            if key in arrays or alt in arrays:
                return {input_names[0]: arrays[key if key in arrays else alt]}
            raise DataError(f"{source}: no '{key}' array (found {', '.join(sorted(arrays))})")
        missing = [n for n in input_names if f"x_{n}{suffix}" not in arrays]
        if missing:
            raise DataError(f"{source}: the model has inputs {input_names}; missing arrays "
                            f"{', '.join(f'x_{n}{suffix}' for n in missing)} (found {', '.join(sorted(arrays))})")
        return {n: arrays[f"x_{n}{suffix}"] for n in input_names}

    if "y_train" in arrays and "y_test" in arrays:
        return pick("_test"), arrays["y_test"], pick("_train"), arrays["y_train"]
    x = pick("")
    return x, arrays.get("y"), x, arrays.get("y")  # no labels: made from the output spec


def fit_inputs(named: dict, specs: list[dict], source: str) -> list[np.ndarray]:
    """Arrays in the model's input order, cast to its dtypes; one-line DataError on a mismatch."""
    out, n = [], None
    for spec in specs:
        a = np.asarray(named[spec["name"]])
        want = tuple(spec["shape"])
        if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise DataError(f"{source}: input '{spec['name']}' has dtype {a.dtype}; expected numbers")
        ok = a.ndim == len(want) + 1 and all(w is None or w == s for w, s in zip(want, a.shape[1:]))
        if not ok:
            shown = "(N, " + ", ".join("?" if w is None else str(w) for w in want) + ")"
            raise DataError(f"{source}: input '{spec['name']}' has shape {a.shape}; the model expects {shown}")
        if n is not None and len(a) != n:
            raise DataError(f"{source}: inputs have different lengths ({n} vs {len(a)} in '{spec['name']}')")
        n = len(a)
        if "int" in spec["dtype"]:
            if not np.issubdtype(a.dtype, np.integer):
                raise DataError(f"{source}: input '{spec['name']}' takes integer ids ({spec['dtype']}) "
                                f"but the data holds {a.dtype}")
            out.append(a.astype(spec["dtype"]))
        else:
            scaled = a.astype(np.float32) / np.float32(255.0) if a.dtype == np.uint8 else a
            out.append(np.asarray(scaled, dtype=spec["dtype"]))
    return out


def check_labels(y: np.ndarray, n: int, source: str) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype == object or not np.issubdtype(y.dtype, np.number):
        raise DataError(f"{source}: labels have dtype {y.dtype}; expected integer classes or numbers")
    if len(y) != n:
        raise DataError(f"{source}: {len(y)} labels for {n} inputs")
    if np.issubdtype(y.dtype, np.integer) and y.min(initial=0) < 0:
        raise DataError(f"{source}: integer labels must be classes >= 0 (min {y.min()})")
    return y if np.issubdtype(y.dtype, np.integer) else y.astype(np.float32)


def from_arrays(arrays: dict, specs: list[dict], source: str, make_labels=None) -> Inputs:
    """Fit a user's arrays to the model; `make_labels(n)` supplies labels when there are none."""
    ex, ey, tx, ty = split_arrays(arrays, [s["name"] for s in specs], source)
    ex, tx = fit_inputs(ex, specs, source), fit_inputs(tx, specs, source)
    if ey is None:
        ey = ty = make_labels(len(ex[0]))
        source += " (labels synthesized from the output spec)"
    return Inputs(ex, check_labels(ey, len(ex[0]), source), tx, check_labels(ty, len(tx[0]), source), source)


SEQ_LEN, IMAGE_SIZE = 16, 32  # defaults for the unknown (None) dimensions of synthetic inputs


def concrete_shape(spec: dict, seq_len: int = SEQ_LEN, image_size: int = IMAGE_SIZE,
                   max_len: int | None = None) -> tuple:
    """An input's shape without the batch, its None dimensions filled: height and width of an
    image input (rank 3) by image_size (channels by 3), every other by seq_len, capped at the
    longest sequence the model's position embeddings take (max_len)."""
    dims = list(spec["shape"])
    if spec.get("role") == "image" or (len(dims) == 3 and "float" in spec["dtype"]):
        return tuple(d if d is not None else (3 if i == 2 else image_size) for i, d in enumerate(dims))
    length = min(seq_len, max_len) if max_len else seq_len
    return tuple(length if d is None else d for d in dims)


def _mask(rng, n: int, shape: tuple, edge_cases: bool = False) -> np.ndarray:
    """Padding masks as real batches have them: each row a prefix of ones (length 1..L) then
    zeros; every fourth row unpadded; never a fully masked row. With edge_cases, also what real
    batches contain at their edges: every fourth row (from the third) left-padded (zeros, then
    ones), and row 3 fully masked."""
    length = shape[0]
    lengths = rng.integers(1, length + 1, n)
    lengths[::4] = length
    pos = np.arange(length)[None, :]
    rows = pos < lengths[:, None]
    if edge_cases:
        left = np.arange(n) % 4 == 2
        rows[left] = (pos >= length - lengths[:, None])[left]
        if n > 3:
            rows[3] = False
    return rows.reshape((n, length) + (1,) * (len(shape) - 1)) * np.ones((n, *shape), bool)


def synthetic(specs: list[dict], out_shape: list, n: int, seed: int, int_high: int | None,
              label_kind: str, seq_len: int = SEQ_LEN, image_size: int = IMAGE_SIZE,
              max_len: int | None = None, edge_cases: bool = False) -> Inputs:
    """A seeded batch from the input spec (with the probe's roles: ids from the range of the
    Embedding that takes them, masks as padding masks, images of image_size; see
    mnistx/input_roles.py); token ids under a mask's zeros are 0 (padding), for the ids input
    named like the mask (`padding_mask` -> `token_ids`, `encoder_padding_mask` ->
    `encoder_token_ids`). Labels: classes ('int'), 'onehot' or 'float' targets. edge_cases: the
    longest sequence the model takes (max_len), left-padded rows and a fully masked one (_mask)."""
    rng = np.random.default_rng(seed)
    xs, masks = [], {}
    if edge_cases and max_len:
        seq_len = max_len
    for spec in specs:
        shape = concrete_shape(spec, seq_len, image_size, max_len)
        role = spec.get("role") or ("ids" if "int" in spec["dtype"] else "float")
        if role == "mask":
            m = _mask(rng, n, shape, edge_cases)
            masks[spec["name"].replace("padding_mask", "token_ids")] = m
            xs.append(m.astype(spec["dtype"]))
        elif "int" in spec["dtype"]:
            high = spec.get("high") or int_high
            if not high:
                raise DataError(f"input '{spec['name']}' takes integer ids and no Embedding layer gives "
                                "their range; pass --int-high N")
            xs.append(rng.integers(0, high, (n, *shape)).astype(spec["dtype"]))
        else:
            xs.append(rng.random((n, *shape), dtype=np.float32).astype(spec["dtype"]))
    for i, spec in enumerate(specs):
        m = masks.get(spec["name"])
        if m is not None and m.shape == xs[i].shape and spec.get("role") != "mask":
            xs[i] = np.where(m, xs[i], 0).astype(xs[i].dtype)
    y = synthetic_labels(out_shape, n, rng, label_kind)
    edges = ", edge cases: left padding, a fully masked row, the longest sequence" if edge_cases else ""
    return Inputs(xs, y, xs, y, f"synthetic (seed {seed}, {n} samples{edges})")


def describe(xs: list, specs: list[dict]) -> list[str]:
    """One line per input: name, dtype, shape, and its range (ids), padded rows (masks) or values."""
    lines = []
    for x, spec in zip(xs, specs):
        head = f"{spec['name']}: {x.dtype} {tuple(x.shape)}"
        role = spec.get("role")
        if role == "mask" and x.ndim >= 2:
            rows = x.reshape(len(x), x.shape[1], -1)[:, :, 0].astype(bool)
            lengths = rows.sum(1)
            padded, left = int((lengths < x.shape[1]).sum()), int((~rows[:, 0] & rows[:, -1]).sum())
            lines.append(f"{head}, padding mask: {padded} of {len(x)} rows padded ({left} on the left, "
                         f"{int((lengths == 0).sum())} fully masked), lengths {int(lengths.min())}-{int(lengths.max())}")
        elif np.issubdtype(x.dtype, np.integer):
            src = f" (range of {spec['embedding']}: {spec['high']} ids)" if spec.get("embedding") else ""
            lines.append(f"{head}, ids in [{int(x.min())}, {int(x.max())}]{src}")
        else:
            lines.append(f"{head}, values in [{float(x.min()):.3g}, {float(x.max()):.3g}]")
    return lines


def synthetic_labels(out_shape: list, n: int, rng, kind: str) -> np.ndarray:
    """Random labels that fit the output: class ids ('int'), one-hot rows, or normal targets."""
    classes = int(out_shape[-1]) if out_shape else 1
    if kind == "int":
        return rng.integers(0, max(classes, 2), (n, *out_shape[:-1])).astype(np.int64)
    if kind == "onehot":
        return np.eye(classes, dtype=np.float32)[rng.integers(0, classes, n)]
    return rng.standard_normal((n, *out_shape)).astype(np.float32)


def label_kind(y: np.ndarray) -> str:
    """'int' (class ids), 'onehot' (rows of one 1 and zeros) or 'float' (regression targets)."""
    if np.issubdtype(y.dtype, np.integer):
        return "int"
    if y.ndim >= 2 and y.shape[-1] > 1 and np.isin(y, (0.0, 1.0)).all() and (y.sum(-1) == 1).all():
        return "onehot"
    return "float"


def out_last(info: dict) -> int:
    """The first output's last dimension from the probe's info (1 for a scalar output)."""
    return (info["output_shapes"][0] or [1])[-1]


def guess_loss(kind: str, probabilities: bool, out_last: int) -> dict:
    """Cross-entropy for classes (sparse for ints, categorical for one-hot), else MSE."""
    if kind == "int":
        name = "binary_crossentropy" if out_last == 1 else "sparse_categorical_crossentropy"
    elif kind == "onehot":
        name = "categorical_crossentropy"
    else:
        return {"name": "mean_squared_error", "from_logits": False}
    return {"name": name, "from_logits": not probabilities}
