"""Result and run-directory I/O: every file is written to a temp name, then renamed.

A run directory holds model.keras, model.weights.h5, history.json, metrics.json, meta.json and
test_probs.npy ((10000, 10) float32 softmax outputs of the training backend).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from mnistx.errors import MnistxError

RUN_FILES = ("model.keras", "model.weights.h5", "history.json", "metrics.json", "meta.json",
             "test_probs.npy")


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temp path beside `path` with the same suffixes; rename it onto `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name.split('.')[0]}-", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers (Keras, h5py) want to create the file themselves
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json(path, obj) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def write_npy(path, array: np.ndarray) -> Path:
    with atomic_path(path) as tmp:
        np.save(tmp, array)
    return Path(path)


def write_npz(path, **arrays) -> Path:
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)
    return Path(path)


def save_figure(fig, path, dpi: int = 100) -> Path:
    """Save a matplotlib Figure as PNG atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return Path(path)


def save_model(model, run_dir) -> None:
    """model.keras (whole model) and model.weights.h5 (weights only), atomically."""
    with atomic_path(Path(run_dir) / "model.keras") as tmp:
        model.save(tmp)
    with atomic_path(Path(run_dir) / "model.weights.h5") as tmp:
        model.save_weights(tmp)


def fresh_dir(path) -> Path:
    """An empty folder at `path`: results of an earlier run must never pass for this run's."""
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def read_json(path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise MnistxError(f"{path} not found") from None
    except (OSError, ValueError) as exc:
        raise MnistxError(f"{path}: not readable JSON ({exc})") from None


def check_run_dir(run_dir) -> Path:
    """Raise a one-line error unless `run_dir` is a complete run directory."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MnistxError(f"run directory '{run_dir}' does not exist; make one with `mnistx train`")
    missing = [f for f in RUN_FILES if not (run_dir / f).is_file()]
    if missing:
        raise MnistxError(f"'{run_dir}' is not a complete run directory (missing {', '.join(missing)})")
    return run_dir


def default_run_dir(backend: str, model: str, root: str = "runs") -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{model}-{backend}-{stamp}"


def environment() -> dict:
    """Host facts for meta.json: python, platform, cores, argv, UTC time."""
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "command": " ".join(sys.argv),
            "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def _jsonable(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")
