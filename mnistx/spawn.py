"""Run mnistx jobs in child processes, one backend each (a process's backend is fixed at its
first `import keras`). Nothing here imports keras or a backend framework."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from mnistx.config import ALL_BACKENDS, BACKENDS

_DIST = {"tensorflow": ("tensorflow-cpu", "tensorflow"), "jax": ("jax",), "torch": ("torch",), "numpy": ("numpy",),
         "openvino": ("openvino",)}


def installed(backend: str) -> bool:
    """True when the backend's framework (a module of the backend's name) can be imported,
    checked without importing it."""
    return importlib.util.find_spec(backend) is not None


def version(backend: str) -> str | None:
    for dist in _DIST[backend]:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def install_hint(backend: str) -> str:
    return f"pip install -r backends/{backend}/requirements-cpu.txt"


def check_backends(names, job: str | None = None) -> tuple[str, ...]:
    """Known backend names, as a tuple; with `job` (a command that trains), training backends only."""
    from mnistx.errors import MnistxError

    bad = [n for n in names if n not in ALL_BACKENDS]
    if bad:
        raise MnistxError(f"unknown backend(s) {', '.join(bad)}; choose from {', '.join(ALL_BACKENDS)}")
    twice = sorted({n for n in names if list(names).count(n) > 1})
    if twice:
        raise MnistxError(f"backend(s) named twice: {', '.join(twice)}; each backend runs once per job")
    cannot = [n for n in names if n not in BACKENDS]
    if job and cannot:
        raise MnistxError(f"{', '.join(cannot)}: inference only, so `mnistx {job}` cannot use it; it takes part "
                          f"in `mnistx parity` (forward and checkpoint checks); choose from {', '.join(BACKENDS)}")
    return tuple(names)


def import_path() -> str:
    """PYTHONPATH for a child: this mnistx's own folder first (unless it is a site-packages
    folder, already on the path), the working folder last, then the parent's own entries. With
    PYTHONSAFEPATH set, `python -m mnistx` no longer puts the working folder first, so a folder
    that holds a `mnistx/` directory cannot shadow the package (torchrun's workers inherit both)."""
    import site

    root = str(Path(__file__).resolve().parents[1])
    sites = {str(Path(p).resolve()) for p in [*site.getsitepackages(), site.getusersitepackages()]}
    parts = [] if root in sites else [root]
    parts += [os.getcwd(), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return os.pathsep.join(dict.fromkeys(parts))


def child_env(backend: str, extra: dict | None = None) -> dict:
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONUNBUFFERED="1", PYTHONSAFEPATH="1",
               PYTHONPATH=import_path())
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter
    env.update(extra or {})
    return env


def job_env(backend: str, side_by_side: int, compile_cache: bool = True, env_extra: dict | None = None,
            env_each: dict[str, dict] | None = None) -> dict:
    """A job child's environment: its share of the cores (devices.thread_env), JAX's compilation
    cache for a jax child (devices.compile_cache_env; not for a benchmark, which times compiling),
    then env_extra for every child and env_each per backend."""
    from mnistx.devices import compile_cache_env, thread_env

    return child_env(backend, {**thread_env(side_by_side), **(compile_cache_env() if compile_cache and backend == "jax"
                                                               else {}),
                               **(env_extra or {}), **(env_each or {}).get(backend, {})})


CHILD_ENTRY = "_child"  # `python -m mnistx _child KIND [DIR]`: children.ENTRY, the one hidden entry


def mnistx_argv(*args) -> list[str]:
    return [sys.executable, "-m", "mnistx", *map(str, args)]


@dataclass
class ChildResult:
    backend: str
    returncode: int | None  # None: never started (not installed)
    seconds: float
    log: str  # path of the child's combined stdout/stderr
    timed_out: bool = False
    limit_s: float | None = None  # the timeout it ran under (the reason names it, not the elapsed time)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(Path(self.log).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def error(self, limit: int = 300) -> str:
        """The error the child died of, from its log, on one line: its `mnistx: error:` line, else
        the exception of its last traceback (Keras's "Exception encountered when calling ..."
        with the paragraph that says what), else its last line."""
        try:
            lines = Path(self.log).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        from mnistx.errors import error_line

        return error_line(lines, limit)

    def reason(self) -> str:
        if self.returncode is None:
            return f"not installed ({install_hint(self.backend)})"
        if self.timed_out:
            return f"timed out after {self.limit_s if self.limit_s is not None else self.seconds:.0f} s"
        if self.returncode < 0:
            import signal

            try:
                name = signal.Signals(-self.returncode).name
            except ValueError:
                name = f"signal {-self.returncode}"
            return f"killed by {name}"
        return f"exit code {self.returncode}"


# Child log lines relayed to the parent's console: the children's own stage lines ("[jax] ...") and
# Keras's verbose=2 epoch lines ("Epoch 2/5", "1500/1500 - 4s - ... loss: ..."). Framework noise stays in the log.
RELAY = re.compile(r"^\[[a-z]+\] |^Epoch \d+/\d+$|^\d+/\d+ - \d+s ")
HEARTBEAT_S = 8.0  # a child quiet this long gets a "still running" line (10 s is the promise: polling adds up to ~0.6 s)


class _Relay:
    """Follows one child's log: complete new lines that match RELAY, and a heartbeat."""

    def __init__(self, backend: str, log: Path, heartbeat_s: float):
        self.backend, self.log, self.heartbeat_s = backend, log, heartbeat_s
        self.offset, self.partial, self.said = 0, b"", time.perf_counter()

    def poll(self, progress, elapsed: float) -> None:
        try:
            with open(self.log, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            chunk = b""
        self.offset += len(chunk)
        *lines, self.partial = (self.partial + chunk).split(b"\n")
        for raw in lines:
            line = raw.decode(errors="replace").strip().split("\r")[-1].strip()
            if RELAY.search(line):
                progress(f"  {line}" if line.startswith("[") else f"  [{self.backend}] {line}")
                self.said = time.perf_counter()
        if time.perf_counter() - self.said >= self.heartbeat_s:
            progress(f"  [{self.backend}] running, {elapsed:.0f} s")
            self.said = time.perf_counter()


def run_children(jobs: dict[str, list[str]], log_dir, timeout_s: float, parallel: bool = True,
                 progress=print, env_extra: dict | None = None, on_done=None,
                 heartbeat_s: float = HEARTBEAT_S,
                 env_each: dict[str, dict] | None = None, compile_cache: bool = True,
                 warm: dict | None = None) -> dict[str, ChildResult]:
    """Run argv per backend (`jobs`: backend -> argv) with output to log_dir/<backend>.log.

    Children run side by side when `parallel`, else one after another; each is killed after
    timeout_s; `on_done(result)` is called as each ends. Their stage and epoch lines are relayed
    to `progress` as they appear, and a child that says nothing for heartbeat_s gets a "running"
    line: the console is never silent longer than that. Never raises for a failed child: its
    ChildResult says what happened. Environment: job_env. `warm`: backend -> a child started
    early (mnistx/warmstart.py), handed its job instead of starting one; those not used are ended.
    """
    side_by_side = len(jobs) if parallel else 1
    warm = dict(warm or {})
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    results, waiting = {}, list(jobs)
    running: dict[str, tuple[subprocess.Popen, float, object]] = {}
    relays: dict[str, _Relay] = {}
    last_poll = time.perf_counter()
    try:
        while waiting or running:
            while waiting and (parallel or not running):
                backend = waiting.pop(0)
                early = warm.pop(backend, None)
                if early is not None:
                    early.go(jobs[backend])
                    proc, log, fh = early.proc, early.log, early.fh
                else:
                    log = log_dir / f"{backend}.log"
                    fh = open(log, "w")
                    proc = subprocess.Popen(jobs[backend], stdout=fh, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            env=job_env(backend, side_by_side, compile_cache, env_extra, env_each))
                running[backend] = (proc, time.perf_counter(), fh, log)
                relays[backend] = _Relay(backend, log, heartbeat_s)
                progress(f"  [{backend}] started (log: {log}{'; imported early' if early else ''})")
            time.sleep(0.1)
            for backend, (proc, start, fh, log) in list(running.items()):
                elapsed = time.perf_counter() - start
                if time.perf_counter() - last_poll >= 0.5 or proc.poll() is not None:
                    relays[backend].poll(progress, elapsed)
                timed_out = proc.poll() is None and elapsed > timeout_s
                if timed_out:
                    _signal(proc, signal.SIGKILL)
                    proc.wait()
                if proc.poll() is not None:
                    fh.close()
                    del running[backend]
                    res = ChildResult(backend, proc.returncode, elapsed, str(log), timed_out, timeout_s)
                    results[backend] = res
                    if on_done:
                        on_done(res)
                    progress(f"  [{backend}] {'done' if res.ok else 'FAILED: ' + res.reason()} "
                             f"in {elapsed:.1f} s")
            if time.perf_counter() - last_poll >= 0.5:
                last_poll = time.perf_counter()
    except BaseException:  # Ctrl-C, SIGTERM (raised by the CLI's handler), or a bug: no orphans
        end_children([proc for proc, *_ in running.values()])
        for _, _, fh, _ in running.values():
            fh.close()
        raise
    finally:
        end_warm(warm)
    return results


def _signal(proc: subprocess.Popen, sig) -> None:
    """Signal a child and everything it started (its own session: torchrun's workers too)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        proc.send_signal(sig)


def end_children(procs, grace_s: float = 5.0) -> None:
    """SIGTERM each running child (and its own children), give them grace_s to clean up (temp
    files), then SIGKILL."""
    procs = [p for p in procs if p.poll() is None]
    for p in procs:
        _signal(p, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal(p, signal.SIGKILL)
            p.wait()


def end_warm(warm: dict) -> None:
    """End warm children (warmstart.WarmChild) that got no job; each has only imported modules."""
    end_children([w.proc for w in warm.values()], grace_s=2.0)
    for w in warm.values():
        w.fh.close()
    warm.clear()


def run_in_backend(backend: str, argv: list[str]) -> int:
    """Re-run an mnistx command in a child with KERAS_BACKEND=backend; output passes through."""
    return subprocess.call(mnistx_argv(*argv), env=child_env(backend))
