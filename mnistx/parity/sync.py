"""File-based rendezvous between sibling children: wait for files, or a sibling's failure marker."""

from __future__ import annotations

import time
from pathlib import Path


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
