"""Load, validate and prepare MNIST.

Sources, in order: an explicit path (`--data`), the `MNISTX_DATA` environment variable, else
`keras.datasets.mnist.load_data()` (Keras downloads and caches it). A path may be a Keras-layout
`.npz` (x_train, y_train, x_test, y_test) or a folder with the four original IDX files, plain or
`.gz`. Images are (N, 28, 28) uint8 0..255 on disk and float32 in [0, 1] once prepared.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistx.config import DATA_ENV
from mnistx.errors import DataError, one_line

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_IDX = {  # key -> (file stem, magic number)
    "x_train": ("train-images", 2051),
    "y_train": ("train-labels", 2049),
    "x_test": ("t10k-images", 2051),
    "y_test": ("t10k-labels", 2049),
}


@dataclass(frozen=True)
class MNIST:
    """Raw MNIST: images (N, 28, 28) uint8, labels (N,) uint8; `source` says where it came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


@dataclass(frozen=True)
class WorksheetSplit:
    """Training-ready arrays: x float32 (N, 28, 28) in [0, 1]; y one-hot float32 (N, 10);
    `labels_*` the integer labels. Validation is the LAST fraction of the training set."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels_test: np.ndarray
    source: str


def resolve_path(path: str | os.PathLike | None = None) -> Path | None:
    """The local source to read, or None for Keras's download."""
    chosen = path if path not in (None, "") else os.environ.get(DATA_ENV) or None
    return Path(chosen).expanduser() if chosen is not None else None


def resolve_for_children(path: str | os.PathLike | None = None) -> str | None:
    """The local source as an absolute path for child processes (None: Keras's download);
    a path that does not exist fails here, in the parent, before any child starts."""
    local = resolve_path(path)
    if local is not None and not local.exists():
        raise DataError(f"MNIST data not found at '{local}'; pass --data PATH or set {DATA_ENV}")
    return str(local.resolve()) if local is not None else None


def load(path: str | os.PathLike | None = None) -> MNIST:
    """Load and validate raw MNIST from `path`, `$MNISTX_DATA`, or Keras's download."""
    local = resolve_path(path)
    if local is None:
        check_download()  # a missing network fails in seconds, with what to do instead
        arrays, source = _download(), "keras.datasets.mnist"
    elif not local.exists():
        raise DataError(f"MNIST data not found at '{local}'; pass --data PATH to a Keras-layout .npz "
                        f"or an IDX folder, or set {DATA_ENV}")
    elif local.is_dir():
        arrays, source = _read_idx_folder(local), str(local)
    else:
        arrays, source = _read_npz(local), str(local)
    validate(arrays, source)
    return MNIST(*(arrays[k] for k in _KEYS), source=source)


def validate(arrays: dict, source: str) -> None:
    """Raise DataError unless `arrays` holds MNIST-shaped images in 0..255 and labels in 0..9."""
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
            raise DataError(f"{source}: x_{split} has shape {x.shape}, expected (N, 28, 28)")
        if not np.issubdtype(x.dtype, np.integer) or x.min(initial=0) < 0 or x.max(initial=0) > 255:
            raise DataError(f"{source}: x_{split} must be integer pixels in 0..255 (got {x.dtype})")
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"{source}: y_{split} has shape {y.shape}, expected ({len(x)},)")
        if len(x) == 0:
            raise DataError(f"{source}: the {split} split is empty")
        if not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{source}: y_{split} must be integer labels 0..9 (got dtype {y.dtype})")
        if y.min() < 0 or y.max() >= NUM_CLASSES:
            raise DataError(f"{source}: y_{split} has labels outside 0..9 "
                            f"(min {y.min()}, max {y.max()}, dtype {y.dtype})")


def worksheet_split(raw: MNIST, validation_split: float = 0.2, train_limit: int | None = None) -> WorksheetSplit:
    """Normalize to float32 [0, 1], one-hot the labels, hold out the last `validation_split`."""
    if not 0.0 <= validation_split < 1.0:
        raise DataError(f"validation_split must be in [0, 1), got {validation_split}")
    x, y = raw.x_train, raw.y_train
    if train_limit is not None:
        if train_limit < 2:
            raise DataError(f"train_limit must be at least 2, got {train_limit}")
        x, y = x[:train_limit], y[:train_limit]
    n_val = int(round(len(x) * validation_split))
    cut = len(x) - n_val
    return WorksheetSplit(
        x_train=normalize(x[:cut]), y_train=one_hot(y[:cut]),
        x_val=normalize(x[cut:]), y_val=one_hot(y[cut:]),
        x_test=normalize(raw.x_test), y_test=one_hot(raw.y_test),
        labels_test=raw.y_test.astype(np.int64), source=raw.source)


def normalize(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 (N, 28, 28) -> float32 0..1, as the worksheet's `x / 255.0`."""
    return (images.astype(np.float32) / np.float32(255.0)).astype(np.float32)


def one_hot(labels: np.ndarray) -> np.ndarray:
    """(N,) ints 0..9 -> (N, 10) float32, as `keras.utils.to_categorical`."""
    return np.eye(NUM_CLASSES, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]


MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"  # keras.datasets.mnist's


def keras_cache() -> Path:
    """Where keras.datasets.mnist.load_data() caches the file ($KERAS_HOME or ~/.keras, then datasets/)."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "datasets" / "mnist.npz"


def check_download(timeout_s: float = 5.0) -> str:
    """Before any child starts: Keras's cached mnist.npz, or its URL answering within `timeout_s`.
    Returns what will be used; a one-line DataError when neither is there."""
    cached = keras_cache()
    if cached.is_file():
        return f"Keras's cache ({cached})"
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(MNIST_URL, method="HEAD"), timeout=timeout_s):
            return f"Keras's download ({MNIST_URL})"
    except Exception as exc:  # DNS, proxy, TLS, timeout: all mean the same to a user
        why = getattr(exc, "reason", None) or exc
        raise DataError(f"MNIST is not in Keras's cache ({cached}) and {MNIST_URL} cannot be reached "
                        f"({one_line(why, 80)}); pass --data PATH to a local mnist.npz or IDX folder, "
                        f"or set {DATA_ENV}") from None


def _download() -> dict:
    import keras  # only here: reading local files needs no backend

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # network, cache or checksum trouble
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"could not download MNIST through Keras ({reason}); pass --data PATH to a "
                        f"local mnist.npz or IDX folder, or set {DATA_ENV}") from None
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def _read_npz(path: Path) -> dict:
    arrays = read_npz(path)
    missing = [k for k in _KEYS if k not in arrays]
    if missing:
        raise DataError(f"{path}: missing keys {missing}; MNIST (the worksheet's model) takes a Keras-layout "
                        f".npz with {list(_KEYS)} (found {sorted(arrays)}); x/y files are for --model of your own")
    return {k: arrays[k] for k in _KEYS}


def read_npz(path) -> dict:
    """Every array of an .npz (no pickles), or a one-line DataError saying what the file is instead."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file '{path}' not found")
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if head[:6] == b"\x93NUMPY":
        raise DataError(f"{path}: a single .npy array, not an .npz archive of named arrays; save with "
                        f"numpy.savez(path, x=..., y=...)")
    if head[:4] != b"PK\x03\x04":
        raise DataError(f"{path}: not a NumPy .npz archive: it starts with {head[:8]!r}; expected numeric "
                        f"arrays saved with numpy.savez")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(f"{path}: an .npz holding Python objects (pickles), which mnistx does not load; "
                            f"expected numeric arrays saved with numpy.savez") from None
        raise DataError(f"{path}: not a readable .npz archive ({one_line(exc, 120)})") from None
    except Exception as exc:  # a damaged archive can raise almost anything (numpy parses headers with ast)
        raise DataError(f"{path}: not a readable .npz archive ({type(exc).__name__}: "
                        f"{one_line(exc, 120)}); re-download it or point --data at another copy") from None


def check_finite(arrays: dict, source: str) -> None:
    """Refuse NaN or inf in any float array: one line naming the key and how many values."""
    for key, a in arrays.items():
        if np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.complexfloating):
            nan, inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
            if nan or inf:
                raise DataError(f"{source}: '{key}' holds {nan} NaN and {inf} inf of {a.size} values; "
                                f"training needs finite numbers: drop or fill those samples")


def _read_idx_folder(folder: Path) -> dict:
    arrays = {}
    for key, (stem, magic) in _IDX.items():
        kind = "idx3" if magic == 2051 else "idx1"
        names = [f"{stem}-{kind}-ubyte", f"{stem}.{kind}-ubyte"]
        found = [folder / (n + gz) for n in names for gz in ("", ".gz") if (folder / (n + gz)).is_file()]
        if not found:
            raise DataError(f"{folder}: no {names[0]}[.gz] file; an IDX folder holds the four "
                            "original MNIST files (train-images, train-labels, t10k-images, t10k-labels)")
        arrays[key] = read_idx(found[0], magic)
    return arrays


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read one IDX file (plain or .gz): 2051 = images (N, 28, 28) uint8, 2049 = labels (N,)."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    ndim = 3 if magic == 2051 else 1
    header = 4 + 4 * ndim
    if len(data) < header or int.from_bytes(data[:4], "big") != magic:
        raise DataError(f"{path}: not an IDX file with magic number {magic}")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise DataError(f"{path}: truncated or padded ({len(data)} bytes, header says {expected})")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)
