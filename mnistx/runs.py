"""Result and run-directory I/O: every file is written to a temp name, then renamed.

A run directory holds model.keras, model.weights.h5, history.json, metrics.json, meta.json,
test_probs.npy (the training backend's first output on the evaluation inputs, float32: (10000, 10)
softmax outputs for the worksheet's MLP) and eval.npz (those inputs x0.., their labels y, and the
first training samples sample_x0 / sample_y for the "samples" figure).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from mnistx.errors import MnistxError, one_line

RUN_FILES = ("model.keras", "model.weights.h5", "history.json", "metrics.json", "meta.json",
             "test_probs.npy", "eval.npz")


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


_TEMP = re.compile(r"^\.[^.]+-[a-z0-9_]{8}(\.[A-Za-z0-9]+)*$")  # atomic_path's names: .<stem>-XXXXXXXX<suffixes>


def remove_temp_files(folder) -> list[Path]:
    """Remove atomic_path temp files left under `folder` by writers that died mid-write: a child
    SIGKILLed after its grace period, or one whose SIGTERM exception Python swallowed (raised
    inside a gc callback: "Exception ignored in _xla_gc_callback", seen once in CI). Called as the
    --out lock is released, when every child of the run has ended. Returns what was removed."""
    removed = []
    for f in Path(folder).rglob(".*"):
        if f.is_file() and _TEMP.match(f.name) and f.name != LOCK_NAME:
            f.unlink(missing_ok=True)
            removed.append(f)
    return removed


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


def write_npz(path, compressed: bool = False, **arrays) -> Path:
    with atomic_path(path) as tmp:
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)
    return Path(path)


def save_figure(fig, path, dpi: int = 100) -> Path:
    """Save a matplotlib Figure as PNG atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return Path(path)


def save_model(model, run_dir) -> None:
    """model.keras (whole model) and model.weights.h5 (weights only), atomically."""
    from mnistx import backends

    with atomic_path(Path(run_dir) / "model.keras") as tmp:
        backends.save_model(model, tmp)
    with atomic_path(Path(run_dir) / "model.weights.h5") as tmp:
        model.save_weights(tmp)


LOCK_NAME = ".mnistx.lock"


def _open_lock(out_dir: Path):
    """out_dir (created if missing) and its lock file, or one line saying what to choose instead."""
    if out_dir.exists() and not out_dir.is_dir():
        raise MnistxError(f"--out '{out_dir}' is a file, not a folder; choose a folder you can write "
                          f"(it is created if missing)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        return open(out_dir / LOCK_NAME, "a+")
    except OSError as exc:
        raise MnistxError(f"cannot write into --out '{out_dir}' ({exc.strerror or exc}); choose a folder "
                          f"you can write") from None


@contextmanager
def out_lock(out_dir):
    """Hold an exclusive lock on `out_dir` for one run: a second run into it fails with one line.

    The lock is flock(2) on out_dir/.mnistx.lock, so the kernel releases it when the holder exits,
    however it ends (no stale locks after SIGKILL).
    """
    import fcntl

    out_dir = Path(out_dir)
    made = [d for d in (out_dir, *out_dir.parents) if not d.exists()]  # folders this run creates
    fh = _open_lock(out_dir)
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise MnistxError(f"'{out_dir}' is in use by another mnistx run ({holder}); wait for it to "
                          f"finish or choose another --out") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()}")
    fh.flush()
    try:
        yield out_dir
    except MnistxError as exc:
        if made and exc.exit_code == 2:  # refused input: the folder this run made goes (work/, logs)
            for p in out_dir.iterdir():
                if p.name != LOCK_NAME:
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        raise
    finally:
        remove_temp_files(out_dir)
        if made and [p.name for p in out_dir.iterdir()] == [LOCK_NAME]:  # a run that wrote nothing
            (out_dir / LOCK_NAME).unlink()  # leaves nothing behind (still locked: no one else has it)
            for d in made:
                d.rmdir()
        fh.close()


BULKY = (".npz", ".h5", ".keras")  # a job's inputs, weights and arrays: temporary once it reported


def prune_work(workdir) -> None:
    """Delete the bulky intermediates under a finished job's work folder (its logs, JSON and error
    files stay, for reading what happened)."""
    for p in Path(workdir).rglob("*"):  # nothing when the folder is not there
        if p.suffix in BULKY and p.is_file():
            p.unlink()


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
    if missing == ["eval.npz"]:  # runs before 2026-12-03 kept no evaluation inputs for registry models
        raise MnistxError(f"'{run_dir}' has no eval.npz (written by an older mnistx); train it again")
    if missing:
        raise MnistxError(f"'{run_dir}' is not a complete run directory (missing {', '.join(missing)})")
    for name in RUN_FILES:
        why = _damage(run_dir / name)
        if why:
            raise MnistxError(f"'{run_dir / name}' is damaged or not what `mnistx train` writes ({why}); "
                              f"train again or restore the run directory")
    from mnistx.modelspec import check_keras_file

    check_keras_file(run_dir / "model.keras")  # its config, read without Keras: Lambda layers refused
    return run_dir


HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _damage(path: Path) -> str | None:
    """Why a run file cannot be what mnistx wrote (checked without Keras), or None."""
    import zipfile

    try:
        if path.suffix == ".h5":
            with open(path, "rb") as f:
                return None if f.read(8) == HDF5_MAGIC else "not an HDF5 file"
        if path.suffix == ".keras":
            if not zipfile.is_zipfile(path):
                return "not a .keras zip archive"
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
                bad = z.testzip()
            if bad or not {"config.json", "model.weights.h5"} <= names:
                return f"corrupt member {bad}" if bad else "no config.json / model.weights.h5 inside"
            return None
        if path.suffix == ".json":
            json.loads(path.read_text())
            return None
        if path.suffix == ".npz":
            if not zipfile.is_zipfile(path):
                return "not an .npz archive"
            with zipfile.ZipFile(path) as z:
                bad, names = z.testzip(), z.namelist()
            return f"corrupt member {bad}" if bad else None if {"x0.npy", "y.npy"} <= set(names) else "no x0 / y inside"
        if path.suffix == ".npy":
            with open(path, "rb") as f:
                major, _ = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(f)
            if dtype.hasobject:
                return "holds Python objects (mnistx never loads pickles)"
            want = int(np.prod(shape)) * dtype.itemsize
            return None if path.stat().st_size >= want else "truncated"
    except Exception as exc:  # a damaged file can raise almost anything (numpy parses .npy headers with ast)
        return one_line(exc, 120) or type(exc).__name__
    return None


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
