"""Children started early (mnistx/warmstart.py): they import, wait, and run the job they are handed
exactly as a child started for it would; a check that fails, or a job that does not need one,
ends them; one that died importing is reported like any failed child."""

import json
import time
from pathlib import Path

import pytest

from mnistx import children, modelspec, spawn, warmstart
from mnistx.errors import MnistxError


def _wait_ready(log: Path, timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while warmstart.READY not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < end, f"no '{warmstart.READY}' in {log} after {timeout_s} s"
        time.sleep(0.2)


def test_a_warm_child_imports_first_then_runs_the_job_it_is_handed(tmp_path):
    said = []
    warm = warmstart.start(warmstart.Plan("info", ("numpy",)), tmp_path / "logs", said.append)
    _wait_ready(warm["numpy"].log)
    assert warm["numpy"].proc.poll() is None  # imported, and waiting: it has not run anything yet
    assert "mnistx.info" in warm["numpy"].log.read_text()
    done = spawn.run_children({"numpy": children.argv("info")}, tmp_path / "logs", 120, progress=said.append,
                              warm=warm)
    assert done["numpy"].ok, done["numpy"].tail()
    lines = Path(done["numpy"].log).read_text().splitlines()
    ready = next(i for i, line in enumerate(lines) if line.startswith(warmstart.READY))
    described = json.loads(next(line for line in lines[ready:] if line.startswith("{")))
    assert described["backend"] == "numpy"
    assert any("[numpy] started" in m and "imported early" in m for m in said), said


def test_warm_children_without_a_job_are_ended(tmp_path):
    warm = warmstart.start(warmstart.Plan("info", ("numpy", "jax")), tmp_path / "logs", lambda m: None)
    procs = {b: w.proc for b, w in warm.items()}
    _wait_ready(warm["numpy"].log)
    done = spawn.run_children({"numpy": children.argv("info")}, tmp_path / "logs", 120, progress=lambda m: None,
                              warm=warm)
    assert done["numpy"].ok and set(done) == {"numpy"}
    assert procs["jax"].poll() is not None  # handed nothing: ended by run_children, no orphan


def test_a_warm_child_that_died_importing_is_reported_like_any_failed_child(tmp_path, monkeypatch):
    (tmp_path / "boom_on_import.py").write_text("raise RuntimeError('planted: this module cannot be imported')\n")
    monkeypatch.chdir(tmp_path)  # a child's path ends with the working folder (spawn.import_path)
    warm = warmstart.start(warmstart.Plan("info", ("numpy",), ("boom_on_import",)), tmp_path / "logs",
                           lambda m: None)
    warm["numpy"].proc.wait(timeout=120)
    done = spawn.run_children({"numpy": children.argv("info")}, tmp_path / "logs", 120, progress=lambda m: None,
                              warm=warm)
    assert not done["numpy"].ok
    assert "planted: this module cannot be imported" in done["numpy"].error()


BAD_MODEL = """
import keras


def build():
    raise ValueError("planted: this model cannot be built")
"""


@pytest.mark.needs_backends("jax")
def test_a_failed_check_ends_the_children_started_for_the_job(tmp_path, monkeypatch):
    from mnistx import prepare as P

    procs, real = [], warmstart.start

    def start(*args):
        warm = real(*args)
        procs.extend(w.proc for w in warm.values())
        return warm

    monkeypatch.setattr(warmstart, "start", start)
    (tmp_path / "bad.py").write_text(BAD_MODEL)
    plan = warmstart.Plan("parity", ("numpy", "jax"))
    with pytest.raises(MnistxError, match="planted: this model cannot be built"):
        P.prepare(f"{tmp_path / 'bad.py'}:build", tmp_path / "work", ("jax",), inputs="synthetic",
                  progress=lambda m: None, warm=plan)
    assert len(procs) == 2 and all(p.poll() is not None for p in procs)  # ended, no orphans
    assert not (tmp_path / "work" / "inputs.npz").exists()


def test_which_children_start_early_and_what_they_import(tmp_path):
    assert warmstart.plan("parity", ("jax", "torch"), "mlp", parallel=False) is None  # one after another
    assert warmstart.plan("parity", ("jax",), "mlp", parallel=True) is None  # nothing beside the probe to fill
    assert warmstart.plan("compare", ("jax", "torch"), "mlp", True).imports == ()  # no TensorFlow: nothing loads it
    hub_file = tmp_path / "decoder.py"
    hub_file.write_text("import keras\nfrom keras_hub.models import GPT2Backbone\n\n\ndef build():\n    pass\n")
    assert warmstart.model_imports(modelspec.parse(f"{hub_file}:build")) == ("keras_hub",)
    plain = tmp_path / "plain.py"
    plain.write_text("import keras\n\n\ndef build():\n    pass\n")
    assert warmstart.model_imports(modelspec.parse(f"{plain}:build")) == ()
    assert warmstart.model_imports(modelspec.ModelSpec("hub", "gpt2_base_en")) == ("keras_hub",)
    assert warmstart.model_imports(modelspec.parse("mlp")) == ()


def test_compare_starts_its_next_stages_children_once_a_core_is_free(tmp_path, monkeypatch):
    """compare's training tail: with 2 cores and 3 columns, the inference-only columns' and parity's
    children start when the second column ends (a core is idle from then on), once, below the column
    still training (+NICE_TAIL); one after another (--sequential), never."""
    from mnistx import compare, devices
    from mnistx.config import CompareConfig

    started = []
    monkeypatch.setattr(devices, "cores", lambda: 2)
    monkeypatch.setattr(spawn, "installed", lambda b: True)
    monkeypatch.setattr(warmstart, "start", lambda plan, log_dir, progress: started.append(plan) or {})
    five = ("tensorflow", "jax", "torch", "numpy", "openvino")
    later = compare._NextStages(CompareConfig(backends=five), tmp_path, five[:3], five[3:], lambda m: None)
    later.one_done(None)
    assert started == []  # two columns still train, one per core
    later.one_done(None)
    assert [(p.kind, p.backends) for p in started] == [("compare", five[3:]), ("parity", five)]
    assert all(p.nice == warmstart.NICE_TAIL > warmstart.NICE and p.busy == 1 for p in started)  # 1 column trains
    later.one_done(None)
    assert len(started) == 2
    one_by_one = compare._NextStages(CompareConfig(backends=five, parallel=False), tmp_path, five[:3], five[3:],
                                     lambda m: None)
    for _ in range(3):
        one_by_one.one_done(None)
    assert len(started) == 2


WIDEN = """
import os, threading
from mnistx import warmstart
os.sched_setaffinity(0, {0})
pool = threading.Thread(target=lambda: (ready.wait(), print(sorted(os.sched_getaffinity(0)))))
ready = threading.Event()
pool.start()  # a framework's thread, started while the child imported on CPU 0 only
warmstart.widen()
print(sorted(os.sched_getaffinity(0)))
ready.set()
pool.join()
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_a_warm_child_handed_its_job_gets_every_cpu_back_on_every_thread():
    import os
    import subprocess
    import sys

    allowed = sorted(os.sched_getaffinity(0))
    env = dict(os.environ, **{warmstart.CPUS_ENV: ",".join(map(str, allowed))})
    out = subprocess.run([sys.executable, "-c", WIDEN], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == [str(allowed)] * 2
    held, free = warmstart.free_cpus(1)  # the CPUs a warm child imports on: those the busy work leaves
    assert held == allowed and free == allowed[1:]


SWALLOWS = """
import gc, pathlib, time

def _slow_gc_callback(phase, info):  # as JAX registers one; an exception raised in it is ignored
    time.sleep(0.05)

gc.callbacks.append(_slow_gc_callback)
pathlib.Path("in_gc_callbacks").write_text("now")
end = time.monotonic() + 4
while time.monotonic() < end:  # an import that spends its time in gc callbacks
    gc.collect()
gc.callbacks.remove(_slow_gc_callback)
"""


def test_sigterm_ends_a_warm_child_even_where_python_ignores_the_exception(tmp_path, monkeypatch):
    """A SIGTERM that lands in a gc callback mid-import raised an exception Python ignores ("Exception
    ignored in"), and the warm child went on to wait on stdin for good. Before its job, SIGTERM ends it
    outright; once handed its job, the job's own handler is back (checked by the interrupt test in
    tests/faults/test_processes.py)."""
    import signal

    (tmp_path / "slow_gc_import.py").write_text(SWALLOWS)
    monkeypatch.chdir(tmp_path)  # a child's path ends with the working folder (spawn.import_path)
    warm = warmstart.start(warmstart.Plan("info", ("numpy",), ("slow_gc_import",)), tmp_path / "logs",
                           lambda m: None)
    proc = warm["numpy"].proc
    end = time.monotonic() + 120
    while not (tmp_path / "in_gc_callbacks").exists():
        assert time.monotonic() < end and proc.poll() is None, warm["numpy"].log.read_text()[-2000:]
        time.sleep(0.05)
    time.sleep(0.5)  # inside the planted import's gc callbacks
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 128 + signal.SIGTERM
    spawn.end_warm(warm)

