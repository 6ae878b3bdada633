"""Failing children on purpose, for the fault tests: $MNISTX_FAULT names the backends (and kinds of
child) that fail, and how. children.start() calls raise_injected_fault in every child."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

FAULT_ENV = "MNISTX_FAULT"  # testing aid: "jax" or "jax:MODE,torch:MODE@KIND" makes those children fail on purpose


def faults(kind: str | None = None) -> dict[str, str]:
    """backend -> fault mode, from $MNISTX_FAULT items BACKEND[:MODE][@KIND]; an item with @KIND
    (a children.KINDS name, e.g. parity-dp) counts only in a child of that kind."""
    out = {}
    for item in os.environ.get(FAULT_ENV, "").split(","):
        item, _, only = item.strip().partition("@")
        backend, _, mode = item.partition(":")
        if backend and (not only or only == kind):
            out[backend] = mode or "error"
    return out


def raise_injected_fault(workdir=None, kind: str | None = None) -> None:
    """In a child (of `kind`): if $MNISTX_FAULT names this backend, fail the way it says (a testing aid).

    error: one-line error, exit 3; sigkill: the child kills itself (SIGKILL); hang: sleeps until the
    parent's timeout ends it; exit0: exits 0 without a result; corrupt: writes an unreadable
    <workdir>/<backend>.json (where every worker writes its result) and exits 0.
    """
    import signal

    from mnistx.errors import MnistxError

    backend = os.environ.get("KERAS_BACKEND", "")
    mode = faults(kind).get(backend) if backend else None
    if mode is None:
        return
    print(f"[{backend}] fault injected by ${FAULT_ENV}: {mode}", flush=True)
    if mode == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "hang":
        time.sleep(24 * 3600)
    if mode in ("exit0", "corrupt"):
        if mode == "corrupt" and workdir is not None:
            (Path(workdir) / f"{backend}.json").write_bytes(b'{"truncated": \x00\xff')
        sys.exit(0)
    raise MnistxError(f"fault injected for {backend} by ${FAULT_ENV} (a testing aid)", exit_code=3)
