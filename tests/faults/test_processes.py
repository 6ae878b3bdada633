"""Faults in running jobs: Ctrl-C and SIGTERM, a child killed, hung, silent or writing garbage,
two runs into one --out, a full disk. Each test states what must be left on disk.
Children span backends, so these run once (in the jax run of the matrix)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnistx import faults, runs, spawn
from mnistx.errors import MnistxError

pytestmark = [pytest.mark.e2e]
PARITY = ["parity", "--images", "32", "--steps", "2", "--activation-images", "8"]


def mnistx(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(spawn.mnistx_argv(*args), capture_output=True, text=True, timeout=600, **kw)


def alive_children(marker: str) -> list[int]:
    """pids of processes whose command line mentions `marker` (the run's folder)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and marker in cmd and int(proc.name) != os.getpid():
            pids.append(int(proc.name))
    return pids


def assert_nothing_torn(out: Path) -> None:
    """No temp file left behind; every JSON file parses; every PNG is whole."""
    for f in out.rglob("*"):
        if not f.is_file() or f.name == runs.LOCK_NAME:
            continue
        assert not f.name.startswith("."), f"temp file left: {f}"
        if f.suffix == ".json":
            json.loads(f.read_text())
        if f.suffix == ".png":
            assert f.read_bytes()[-8:] == b"IEND\xaeB`\x82", f"torn PNG: {f}"


def start_and_wait(args, out: Path, until: str, env=None) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen(spawn.mnistx_argv(*args, "--out", out), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)
    lines, deadline = [], time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if until in line:
            return proc, lines
    proc.kill()
    pytest.fail(f"never saw {until!r}: {''.join(lines)[-2000:]}")


@pytest.mark.needs_backends("jax", "torch")
@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_ends_children_and_a_rerun_works(tmp_path, sig, code):
    out = tmp_path / "p"
    # torch's child hangs (MNISTX_FAULT), so the run is certainly still going when the signal comes: on a
    # loaded machine the small run used to finish during the lock check below (exit 0, not 130)
    proc, _ = start_and_wait([*PARITY, "--backends", "jax,torch"], out, "load done",
                             env=dict(os.environ, MNISTX_FAULT="torch:hang"))
    assert alive_children(str(out / "work")), "children should be running now"
    second = mnistx(*PARITY, "--backends", "jax,torch", "--out", out)  # the lock: refused, one line
    assert second.returncode == 2 and "in use by another mnistx run" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1].startswith("mnistx: interrupted by"), err
    deadline = time.monotonic() + 3  # the process table can lag the parent's exit: poll, not sleep
    while alive_children(str(out / "work")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive_children(str(out / "work")) == [], "a child outlived its parent"
    assert_nothing_torn(out)
    if sig == signal.SIGTERM:  # the rerun into the same folder (once: it costs a full run)
        again = mnistx(*PARITY, "--backends", "jax,torch", "--out", out)
        assert again.returncode == 0, again.stderr[-2000:]
        assert json.loads((out / "parity.json").read_text())["passed"]
        assert_nothing_torn(out)


@pytest.mark.needs_backends()
def test_first_backend_killed_the_others_finish(tmp_path):
    """SIGKILL of the first backend's child (MNISTX_FAULT=tensorflow:sigkill) mid-run."""
    out = tmp_path / "p"
    r = mnistx(*PARITY, "--backends", "tensorflow,jax,torch", "--out", out,
               env=dict(os.environ, MNISTX_FAULT="tensorflow:sigkill"))
    assert r.returncode == 1, r.stderr[-2000:]
    s = json.loads((out / "parity.json").read_text())
    assert "killed by SIGKILL" in s["not_compared"]["tensorflow"]
    assert s["compared"] == ["jax", "torch"] and all(c["passed"] for c in s["checks"])
    assert "killed by SIGKILL" in (out / "parity.md").read_text()
    assert_nothing_torn(out)


def test_each_child_fault_is_named(tmp_path):
    """run_children on cheap children that fail each way $MNISTX_FAULT offers."""
    argv = [sys.executable, "-c", "import sys; from mnistx import faults; faults.raise_injected_fault(sys.argv[1]); "
            "open(sys.argv[1] + '/ok', 'w')", str(tmp_path)]
    jobs = {b: argv for b in ("tensorflow", "jax", "torch")}
    said = []
    res = spawn.run_children(jobs, tmp_path / "logs", timeout_s=4, progress=said.append,
                             env_extra={faults.FAULT_ENV: "tensorflow:hang,jax:sigkill,torch:corrupt"})
    assert res["tensorflow"].timed_out and res["tensorflow"].reason() == "timed out after 4 s"
    assert res["jax"].reason() == "killed by SIGKILL"
    assert res["torch"].ok and not (tmp_path / "ok").exists()  # exits 0, but its result is garbage:
    with pytest.raises(MnistxError, match="not readable JSON"):
        runs.read_json(tmp_path / "torch.json")
    res = spawn.run_children(jobs, tmp_path / "logs", timeout_s=30, progress=said.append,
                             env_extra={faults.FAULT_ENV: "tensorflow:exit0,jax:error"})
    assert res["tensorflow"].ok and not (tmp_path / "tensorflow.json").exists()
    assert res["jax"].reason() == "exit code 1" and "fault injected" in res["jax"].tail()
    assert res["torch"].ok and (tmp_path / "ok").exists()
    assert any("FAILED: killed by SIGKILL" in s for s in said)


def test_disk_full_keeps_the_previous_run(tmp_path):
    """A file-size limit (RLIMIT_FSIZE, like a full disk) while re-training into a run directory:
    one line, exit 1, the previous run's files byte for byte, no temp files."""
    run = tmp_path / "run"
    args = ("train", "--epochs", "1", "--train-limit", "2000", "--out", run)
    first = mnistx(*args)
    assert first.returncode == 0, first.stderr[-2000:]
    before = {f.name: f.read_bytes() for f in run.iterdir() if f.name != runs.LOCK_NAME}

    # The limit is set in a fresh interpreter that then execs mnistx (a preexec_fn would run Python
    # between fork and exec of this multithreaded process, which can deadlock).
    small_disk = ("import os, resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000)); "
                  "os.execv(sys.executable, [sys.executable, '-m', 'mnistx', *sys.argv[1:]])")  # model.keras: ~1.3 MB
    r = subprocess.run([sys.executable, "-c", small_disk, *map(str, args), "--seed", "7"], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 1, r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr and lines[-1].startswith("mnistx: error: ") and "File too large" in lines[-1]
    assert {f.name: f.read_bytes() for f in run.iterdir() if f.name != runs.LOCK_NAME} == before
