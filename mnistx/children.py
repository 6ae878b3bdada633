"""Parent and children, in one place: how a child is started and how its results come back.

    argv(kind, workdir)                                `python -m mnistx _child KIND DIR`: the one
                                                       hidden entry (the public CLI has no child flags)
    done = spawn.run_children(jobs, ...)               backend -> ChildResult (exit code, log tail)
    loaded, failed = collect(done, load)               load(backend) reads what that child wrote

A child reads its settings from DIR/config.json (probe: DIR/probe.json), written by its parent
with write(DIR, settings) and read back with read(DIR, Type): one typed dataclass per kind of
child, below (TYPES says which). A model spec is a string in the user's settings (`settings.model`)
and the parsed spec dict in `Prepared.model`; never both under one key. The child writes its result
files into DIR. KINDS says which function runs each kind of child.

A child that exited badly, or whose files cannot be read, becomes one line in `failed`:
"failed: <why it ended or what could not be read>: <the exception it printed>".
"""

from __future__ import annotations

import dataclasses
import os
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path

from mnistx import runs
from mnistx.spawn import CHILD_ENTRY
from mnistx.config import BenchConfig, ConvergeConfig, ParityConfig, Tier, TrainConfig
from mnistx.errors import MnistxError

ENTRY = CHILD_ENTRY
_KIND = None  # in a child: the kind run() started (start() passes it to the fault injection)
KINDS = {  # kind -> (module, function): what each child runs, in that backend's process
    "probe": ("mnistx.probe", "build_once"),  # build the model once: spec, reference weights
    "parity": ("mnistx.parity.worker", "compute_parity"),  # forward, trace, gradients, trajectory, checkpoints
    "parity-dp": ("mnistx.parity.dp_worker", "run_trajectory"),  # the trajectory on N devices
    "bench": ("mnistx.bench.worker", "time_modes"),  # every mode timed on one backend
    "bench-scaling": ("mnistx.bench.scaling_worker", "time_fits"),  # one mode on 1 or N devices
    "compare": ("mnistx.compare_worker", "train_column"),  # train + introspect one column
    "converge": ("mnistx.converge.worker", "train_seeds"),  # every seed of the full recipe on one backend
    "info": ("mnistx.info", "describe_child"),  # this backend's versions and devices (no DIR)
}


@dataclass(frozen=True)
class Prepared:
    """What prepare() hands every child of a job (mnistx/prepare.py Job.shared)."""
    model: dict  # the parsed spec, modelspec.ModelSpec.to_json()
    loss: dict  # {name, from_logits, compiled, why}
    inputs: str  # path of work/inputs.npz
    reference: str  # path of the reference .weights.h5 every backend loads
    info: dict  # what the probe found (models.describe + output shapes)
    label: str = ""  # bench: the model's row label

    @property
    def out_last(self) -> int:
        """The first output's last dimension (1 for a scalar output)."""
        from mnistx.inputs import out_last

        return out_last(self.info)


@dataclass(frozen=True)
class ProbeChild:  # kind "probe": build the model once (mnistx/probe.py)
    model: dict  # the parsed spec
    seed: int
    loss: str | None  # --loss, checked by name
    int_high: int | None
    seq_len: int | None
    image_size: int | None
    edge_cases: bool
    plant_layer: str | None  # refused here when it names no layer with weights
    init_seeds: tuple[int, ...]  # converge: one set of initial weights per seed
    download_mnist: bool  # the probe fetches MNIST through Keras into DIR/mnist.npz


@dataclass(frozen=True)
class ParityChild:  # kinds "parity" and "parity-dp" (mnistx/parity/worker.py, dp_worker.py)
    settings: ParityConfig
    job: Prepared
    backends: tuple[str, ...]  # every backend compared, in report order (the planted one last)
    checkpoint_tiers: dict[str, Tier]  # tf32.tier_key(tier) -> tier: float32's and TF32's
    trace_indices: tuple[int, ...] | None = None  # the second trace: the samples that differ most
    checkpoint_pass_of: str | None = None  # --sequential: load the checkpoints in this work folder


@dataclass(frozen=True)
class BenchChild:  # kinds "bench" and "bench-scaling" (mnistx/bench/worker.py, scaling_worker.py)
    settings: BenchConfig
    jobs: tuple[Prepared, ...]  # every model, prepared once; scaling times the first


@dataclass(frozen=True)
class CompareChild:  # kind "compare": train + introspect one column (mnistx/compare_worker.py)
    train: TrainConfig
    model: dict  # train.model parsed in the parent, modelspec.ModelSpec.to_json()
    data: str | None  # the data file the children read (None: Keras's MNIST download)
    out: str  # the compare folder: runs/<backend>/ go under it
    image_index: int
    inputs: str  # data | synthetic
    loss: str | None
    int_high: int | None
    from_run: str | None = None  # inference-only columns: the trained run they introspect


@dataclass(frozen=True)
class ConvergeChild:  # kind "converge": every seed on one backend (mnistx/converge/worker.py)
    settings: ConvergeConfig
    job: Prepared
    seeds: tuple[int, ...]
    init: dict[str, str]  # seed -> its initial .weights.h5
    planted_backend: str | None  # the self-test's backend (lr or epsilon changed), else None


TYPES = {"probe": ProbeChild, "parity": ParityChild, "parity-dp": ParityChild, "bench": BenchChild,
         "bench-scaling": BenchChild, "compare": CompareChild, "converge": ConvergeChild}


def _file(cls) -> str:
    return "probe.json" if cls is ProbeChild else "config.json"


def write(workdir, settings) -> Path:
    """Write a child's settings (one of the types above) to DIR/config.json (probe: probe.json)."""
    cls = type(settings)
    assert cls in TYPES.values(), cls
    return runs.write_json(Path(workdir) / _file(cls), {"type": cls.__name__, **dataclasses.asdict(settings)})


def read(workdir, cls):
    """The settings write() wrote, as `cls` again (tuples, tiers and nested settings rebuilt)."""
    path = Path(workdir) / _file(cls)
    raw = runs.read_json(path)
    if raw.pop("type", None) != cls.__name__:
        raise MnistxError(f"{path}: not a {cls.__name__} (written by another kind of job?)")
    try:
        return _decode(cls, raw)
    except (TypeError, ValueError) as exc:
        raise MnistxError(f"{path}: {exc}") from None


def start(workdir, cls) -> tuple[Path, object]:
    """In a child: honour $MNISTX_FAULT (faults.raise_injected_fault), then (DIR, its settings as cls)."""
    from mnistx import faults

    faults.raise_injected_fault(workdir, _KIND)
    return Path(workdir), read(workdir, cls)


def _decode(tp, v):
    """v (JSON: dicts, lists, scalars) as type tp: dataclasses, tuple[X, ...], dict[K, V], X | None."""
    if v is None:
        return None
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        unknown = set(v) - set(hints)
        if unknown:
            raise ValueError(f"{tp.__name__} has no field {', '.join(sorted(unknown))}")
        return tp(**{k: _decode(hints[k], x) for k, x in v.items()})
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        kept = [a for a in args if a is not type(None)]
        return _decode(kept[0], v) if len(kept) == 1 else v
    if origin is tuple:
        return tuple(_decode(args[0], x) for x in v) if args[-1] is Ellipsis else \
            tuple(_decode(a, x) for a, x in zip(args, v))
    if origin is dict:
        return {k: _decode(args[1], x) for k, x in v.items()}
    return v


def argv(kind: str, workdir=None) -> list[str]:
    """The command line that starts a child of `kind` on DIR (KERAS_BACKEND comes from its environment)."""
    from mnistx import spawn

    assert kind in KINDS, kind
    return spawn.mnistx_argv(ENTRY, kind, *([str(workdir)] if workdir is not None else []))


def run(args: list[str]) -> int:
    """In the child: `_child KIND [DIR]` -> the function KINDS names; exit code 0 when it returns.
    `_child --warm KIND LOG_DIR [MODULE ...]`: import first, then read the job's arguments from stdin."""
    import importlib

    global _KIND
    if args[:1] == ["--warm"] and args[1:2] and args[1] in KINDS:  # started early: mnistx/warmstart.py
        from mnistx import warmstart

        args = warmstart.serve(args[1:], KINDS)
        if args is None:  # ended by its parent before it got a job
            return 0
    if not args or args[0] not in KINDS:
        raise MnistxError(f"_child: expected one of {', '.join(KINDS)} (an internal entry, started by mnistx)")
    _KIND = args[0]  # start() honours a $MNISTX_FAULT item meant for this kind only
    module, name = KINDS[args[0]]
    getattr(importlib.import_module(module), name)(*args[1:2])
    return 0


def exit_now(code: int = 0) -> None:
    """End a child with `code` once cli.main has returned, without Python's teardown: its results
    are written (atomically, files closed), its `finally` blocks have run, and its output is flushed
    here. Tearing down Keras and its framework took 0.4 s (jax) to 1.3 s (torch after torch.compile;
    TensorFlow 0.8 s) per child, on the parent's critical path where children run one after another
    (the benchmark's). A job that failed or was interrupted ends here too, with its exit code."""
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or gone: nothing left to write there
            pass
    os._exit(code)


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
