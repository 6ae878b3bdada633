"""Parent and children, in one place: how a child is started and how its results come back.

    argv(kind, workdir)                                `python -m mnistx _child KIND DIR`: the one
                                                       hidden entry (the public CLI has no child flags)
    done = spawn.run_children(jobs, ...)               backend -> ChildResult (exit code, log tail)
    loaded, failed = collect(done, load)               load(backend) reads what that child wrote

A child reads DIR/config.json (probe: DIR/probe.json) written by its parent, and writes its
result files into DIR. KINDS says which function runs each kind of child.

A child that exited badly, or whose files cannot be read, becomes one line in `failed`:
"failed: <why it ended or what could not be read>: <the exception it printed>".
"""

from __future__ import annotations

from mnistx.errors import MnistxError

ENTRY = "_child"
KINDS = {  # kind -> (module, function): what each child runs, in that backend's process
    "probe": ("mnistx.probe", "run"),  # build the model once: spec, reference weights
    "parity": ("mnistx.parity.worker", "run"),  # forward, trace, gradients, trajectory, checkpoints
    "parity-dp": ("mnistx.parity.data_parallel", "run"),  # the trajectory on N devices
    "bench": ("mnistx.bench.worker", "run"),  # every mode timed on one backend
    "bench-scaling": ("mnistx.bench.scaling", "run"),  # one mode on 1 or N devices
    "compare": ("mnistx.compare", "worker"),  # train + introspect one column
    "converge": ("mnistx.converge.worker", "run"),  # every seed of the full recipe on one backend
    "info": ("mnistx.info", "describe_child"),  # this backend's versions and devices (no DIR)
}


def argv(kind: str, workdir=None) -> list[str]:
    """The command line that starts a child of `kind` on DIR (KERAS_BACKEND comes from its environment)."""
    from mnistx import spawn

    assert kind in KINDS, kind
    return spawn.mnistx_argv(ENTRY, kind, *([str(workdir)] if workdir is not None else []))


def run(args: list[str]) -> int:
    """In the child: `_child KIND [DIR]` -> the function KINDS names; exit code 0 when it returns."""
    import importlib

    if not args or args[0] not in KINDS:
        raise MnistxError(f"_child: expected one of {', '.join(KINDS)} (an internal entry, started by mnistx)")
    module, name = KINDS[args[0]]
    getattr(importlib.import_module(module), name)(*args[1:2])
    return 0


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
