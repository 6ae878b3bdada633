"""What a parent does with its children's results, in one place.

    done = spawn.run_children(jobs, ...)               backend -> ChildResult (exit code, log tail)
    loaded, failed = collect(done, load)               load(backend) reads what that child wrote

A child that exited badly, or whose files cannot be read, becomes one line in `failed`:
"failed: <why it ended or what could not be read>: <the exception it printed>".
"""

from __future__ import annotations

from mnistx.errors import MnistxError


def collect(done: dict, load, names=None) -> tuple[dict, dict]:
    """(backend -> load(backend), backend -> failure line) over `names` (default: every child in
    `done`), in that order. load raises OSError, ValueError or MnistxError when a file is
    missing or unreadable."""
    loaded, failed = {}, {}
    for b in done if names is None else names:
        res = done[b]
        try:
            if not res.ok:
                raise OSError(res.reason())
            loaded[b] = load(b)
        except (OSError, ValueError, MnistxError) as exc:
            why = res.error()
            failed[b] = f"failed: {exc}" + (f": {why}" if why else "")
    return loaded, failed
