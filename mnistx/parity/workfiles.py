"""The parity work folder's conventions: each child writes <backend>.npz (arrays) and <backend>.json
(info); a failed child leaves <backend>.failed. Siblings wait for each other's files here (a file
rendezvous, not a device sync), and the parent reads a child's result with load_result."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def failed_marker(workdir: Path, backend: str) -> Path:
    return Path(workdir) / f"{backend}.failed"


def wait_for(paths, workdir: Path, producers, timeout_s: float, poll_s: float = 0.05) -> bool:
    """True once every path exists; False if a producer's failure marker appears or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(Path(p).exists() for p in paths):
            return True
        if any(failed_marker(workdir, b).exists() for b in producers):
            return False
        time.sleep(poll_s)
    return False


def load_result(workdir: Path, backend: str) -> tuple[dict, dict]:
    """A child's arrays and info, its arrays keyed by variable path and layer name (checks.by_name)."""
    from mnistx import runs
    from mnistx.parity.checks import by_name

    with np.load(Path(workdir) / f"{backend}.npz") as f:
        arrays = {k: f[k] for k in f.files}
    return by_name(arrays, runs.read_json(Path(workdir) / f"{backend}.json"))
