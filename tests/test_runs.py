"""Atomic writes: a failed write leaves the old file and no temp file behind."""

import json

import numpy as np
import pytest

from mnistx import runs
from mnistx.errors import MnistxError


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "result.json"
    runs.write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with runs.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_json_numpy_and_npy_roundtrip(tmp_path):
    runs.write_json(tmp_path / "m.json", {"x": np.float32(0.5), "v": np.arange(3)})
    assert runs.read_json(tmp_path / "m.json") == {"x": 0.5, "v": [0, 1, 2]}
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(np.load(runs.write_npy(tmp_path / "a.npy", a)), a)


def test_incomplete_run_dir(tmp_path):
    with pytest.raises(MnistxError, match="does not exist"):
        runs.check_run_dir(tmp_path / "nope")
    (tmp_path / "meta.json").write_text("{}")
    with pytest.raises(MnistxError, match="missing model.keras"):
        runs.check_run_dir(tmp_path)


def test_releasing_the_out_lock_removes_temp_files_a_dead_writer_left(tmp_path):
    """A child killed mid-write (or whose SIGTERM exception Python swallowed in a gc callback)
    leaves atomic_path's temp file; the parent removes it when the run's lock is released."""
    with runs.out_lock(tmp_path / "out") as out:
        (out / "work").mkdir()
        with runs.atomic_path(out / "work" / "ckpt-torch.keras") as tmp:
            tmp.write_bytes(b"")
        tmp.write_bytes(b"")  # atomic_path renamed its own; recreate what a dead writer leaves
        (out / "work" / ".hidden").write_text("mine")
        (out / "keep.json").write_text("{}")
    names = sorted(p.name for p in (tmp_path / "out").rglob("*"))
    assert names == [".hidden", ".mnistx.lock", "ckpt-torch.keras", "keep.json", "work"], names
