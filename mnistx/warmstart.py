"""Children started early: each imports Keras, its framework and its worker while the parent still
checks the job, then waits on stdin for the job itself.

The probe child builds the model on one core, and on two cores the other one sat idle for those
5-6 s; starting Python and importing Keras, a framework and KerasHub takes a parity child 3-5 s of
CPU. A warm child does that work during the probe:

    plan = Plan("parity", backends, imports=model_imports(spec))
    job = prepare(..., warm=plan)      prepare starts them once the work folder exists; a failed
                                       check ends them (spawn.end_warm; they did nothing)
    spawn.run_children(jobs, ..., warm=job.warm)   adopts each: its job's argv goes to its stdin

A warm child reads nothing of the job before the parent's checks pass: it has only imported
modules. It runs niced (+NICE), all of a job's children alike, so the probe keeps its core.
compare also starts its next stages' children (the inference-only columns, parity) once a core is
free in its training stage: +NICE_TAIL and held to the free CPUs (Plan.busy), since niced alone
they still took a share of the last column's core (PyTorch's column: 59 s instead of 44).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

READY = "warm child: imported, waiting for its job"
NICE = 10  # below the probe and the parent, equal among the job's children
CPUS_ENV = "MNISTX_WARM_CPUS"  # the CPUs a warm child gets back when handed its job
NICE_TAIL = 19  # below children started with NICE (compare's columns), which may still be training


@dataclass(frozen=True)
class Plan:
    """Which children to start early: `kind` (a children.KINDS name) on each of `backends`, all
    side by side (their share of the cores, as spawn.run_children gives them); `imports`: modules
    their job will import, imported while they wait (only those installed)."""
    kind: str
    backends: tuple[str, ...]
    imports: tuple[str, ...] = ()
    log_dir: Path | None = None  # default: the job's work folder / "logs"
    compile_cache: bool = True  # as run_children's compile_cache
    nice: int = NICE  # NICE_TAIL: started beside a stage that still runs, they must not slow it
    busy: int = 0  # CPUs kept for the work already running: compare's columns still training.
    # 0 beside the probe: held off CPU 0, three warm children imported on one core while the
    # probe left part of its own idle (parity of a small GPT-2: 21.6 s against 19.8 s unheld)
    meanwhile: str = "while the model is checked"  # for the progress line


@dataclass
class WarmChild:
    proc: subprocess.Popen
    log: Path
    fh: object = field(repr=False)

    def go(self, argv: list[str]) -> None:
        """Hand the child its job: `argv` is the full command line (spawn.mnistx_argv(CHILD_ENTRY, ...)),
        of which the child runs what follows CHILD_ENTRY. A child that already ended (an import failed)
        cannot take it: run_children reports its exit code and log as for any child."""
        from mnistx.spawn import CHILD_ENTRY

        args = argv[argv.index(CHILD_ENTRY) + 1:]
        try:
            self.proc.stdin.write((json.dumps(args) + "\n").encode())
            self.proc.stdin.close()
        except OSError:  # BrokenPipeError: it ended
            pass


def plan(kind: str, backends, model: str, parallel: bool, log_dir: Path | None = None,
         nice: int = NICE) -> Plan | None:
    """The Plan for a job whose children run side by side, else None: one after another, a child
    that waits its turn would hold its memory for nothing. Imports: KerasHub where the model needs
    it (model_imports; KerasHub imports TensorFlow where installed). No child kind imports
    TensorFlow otherwise: seeding (set_random_seed) and saving .keras files (save_model) skip it."""
    from mnistx import modelspec

    if not parallel or len(backends) < 2:
        return None
    return Plan(kind, tuple(backends), model_imports(modelspec.parse(model)), log_dir, nice=nice)


def model_imports(spec) -> tuple[str, ...]:
    """Heavy packages a model spec will import in the child: keras_hub for a hub: preset, or for a
    file or module whose source imports it (read with ast, never run)."""
    import ast

    if spec.kind == "hub":
        return ("keras_hub",)
    path = spec.target if spec.kind == "file" else None
    if spec.kind == "module":
        found = importlib.util.find_spec(spec.target)
        path = found.origin if found and found.origin and found.origin.endswith(".py") else None
    if not path:
        return ()
    try:
        tree = ast.parse(Path(path).read_text())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return ()
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level}
    return ("keras_hub",) if any(m.split(".")[0] == "keras_hub" for m in names) else ()


def free_cpus(busy: int) -> tuple[list[int], list[int]]:
    """(the CPUs this process may use, those left once `busy` processes have one each): warm
    children import on the second, so the work already running keeps its cores. Where the OS has
    no CPU affinity (macOS), both are empty and only nice applies."""
    if not hasattr(os, "sched_getaffinity"):
        return [], []
    allowed = sorted(os.sched_getaffinity(0))
    return allowed, allowed[busy:]


def start(plan: Plan, log_dir: Path, progress) -> dict[str, WarmChild]:
    """Start plan.kind on every backend, niced (plan.nice) and held to the CPUs the busy work leaves
    (free_cpus; every allowed CPU again once handed its job); backend -> WarmChild (log:
    log_dir/<backend>.log)."""
    from mnistx import spawn

    log_dir.mkdir(parents=True, exist_ok=True)
    argv = spawn.mnistx_argv(spawn.CHILD_ENTRY, "--warm", plan.kind, log_dir, *plan.imports)  # ps: whose job
    allowed, free = free_cpus(plan.busy)

    held = free and free != allowed

    def lower():  # in the child, before it runs Python
        os.nice(plan.nice)
        if held:
            os.sched_setaffinity(0, free)

    out = {}
    for b in plan.backends:
        log = log_dir / f"{b}.log"
        fh = open(log, "w")
        env = {**spawn.job_env(b, len(plan.backends), plan.compile_cache), CPUS_ENV: ",".join(map(str, allowed))}
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.PIPE,
                                start_new_session=True, env=env, preexec_fn=lower)
        out[b] = WarmChild(proc, log, fh)
    where = f" on CPU {','.join(map(str, free))}" if held else ""
    progress(f"  {', '.join(plan.backends)}: {plan.kind} children importing Keras{where} {plan.meanwhile}")
    return out


def widen() -> None:
    """In a warm child handed its job: every thread (the frameworks' pools started while importing)
    back on every CPU its parent may use ($MNISTX_WARM_CPUS)."""
    cpus = [int(c) for c in os.environ.get(CPUS_ENV, "").split(",") if c]
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:  # a thread that ended meanwhile
            pass


def serve(args: list[str], kinds: dict) -> list[str] | None:
    """In the child (`_child --warm KIND LOG_DIR [MODULE ...]`; LOG_DIR only names the job in `ps`):
    import KIND's worker (kinds: children.KINDS) and each MODULE that is installed, then wait for
    the job's arguments (one JSON line on stdin); None on end of input."""
    import signal

    # Until its job arrives a warm child has nothing to clean up, so SIGTERM ends it at once. The
    # job's handler raises instead (cli._on_sigterm), and an exception raised where Python ignores
    # it (a gc callback: JAX registers one) was swallowed mid-import: the child then waited on
    # stdin for good, seen after `pkill -f mnistx` and reproduced by tests/test_warmstart.py.
    job_handler = signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(128 + signum))
    worker = kinds[args[0]][0]
    importlib.import_module(worker)
    done = [name for name in args[2:] if importlib.util.find_spec(name) is not None]
    for name in done:
        importlib.import_module(name)
    print(f"{READY}: {', '.join([worker, *done])}", flush=True)  # not a relayed line
    line = sys.stdin.readline()
    if not line.strip():
        return None
    signal.signal(signal.SIGTERM, job_handler)
    widen()
    return json.loads(line)
