"""pytest plugin (entry point `pytest11`): run a test suite once per Keras backend.

    pytest --keras-backends=tensorflow,jax,torch [pytest args...]

runs the same pytest command once per backend, each in a child process with KERAS_BACKEND set
(a process's backend is fixed at its first `import keras`), prints one summary line per backend
and closes with `keras-backends: N passed, N failed, N skipped`. Exit code 0 only when every
backend passed. Without the option the plugin does nothing but offer the `keras_backend`
fixture. The ini option `keras_home` (e.g. `backends/{backend}`) sets KERAS_HOME per backend.

`--keras-backends-jobs=N` runs up to N backends' suites side by side: each one's output goes to
a log and is printed whole when it ends (never interleaved); meanwhile one progress line every
PROGRESS_S seconds says how far each has got.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mnistx.config import ALL_BACKENDS as KNOWN  # pure Python: the plugin loads no framework

CHILD_ENV = "MNISTX_PYTEST_CHILD"
PROGRESS_S = 10.0  # side by side: the longest the console stays quiet


def pytest_addoption(parser):
    group = parser.getgroup("mnistx", "Keras backends (mnistx)")
    group.addoption("--keras-backends", metavar="A,B,C", default=None,
                    help="run this test suite once per Keras backend, each in a child process")
    group.addoption("--keras-backends-jobs", metavar="N", type=int, default=1,
                    help="with --keras-backends: run up to N backends' suites side by side (default: 1, "
                         "one after another; each suite's output is printed whole when it ends)")
    parser.addini("keras_home", "KERAS_HOME per backend for --keras-backends; {backend} is replaced "
                  "(e.g. backends/{backend})", default="")


def _child_args(args: list[str]) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("--keras-backends", "--keras-backends-jobs"):
            skip = True
            continue
        if not a.startswith(("--keras-backends=", "--keras-backends-jobs=")):
            out.append(a)
    return out


def _counts(junit: Path) -> dict:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if junit.exists():
        try:
            for suite in ET.parse(junit).getroot().iter("testsuite"):
                for k in counts:
                    counts[k] += int(suite.get(k, 0))
        except ET.ParseError:
            pass
    return counts


class Leg:
    """One backend's pytest child; `log` is None when its output passes straight through."""

    def __init__(self, backend: str, args: list[str], rootdir: Path, keras_home: str, to_log: bool):
        tmp = Path(tempfile.mkdtemp(prefix="mnistx-pytest-"))
        self.backend, self.junit, self.tmp = backend, tmp / f"{backend}.xml", tmp
        self.log = tmp / f"{backend}.log" if to_log else None
        env = dict(os.environ, KERAS_BACKEND=backend, **{CHILD_ENV: backend})
        if keras_home:
            env["KERAS_HOME"] = str((rootdir / keras_home.format(backend=backend)).resolve())
        if not to_log:
            print(f"=== KERAS_BACKEND={backend} ===", flush=True)
        self.start = time.perf_counter()
        out = open(self.log, "w") if to_log else None
        if to_log and not any(a.startswith("--basetemp") for a in args):
            args = [*args, f"--basetemp={tmp / 'tmp'}"]  # side by side: never share pytest's numbered tmp dirs
        self.proc = subprocess.Popen([sys.executable, "-m", "pytest", f"--junitxml={self.junit}", *args], env=env,
                                     cwd=os.getcwd(), stdout=out, stderr=subprocess.STDOUT if out else None)
        if out:
            out.close()

    def progress(self) -> str:
        """How many tests pytest -q has reported (its dots, F, E, s, x), and its latest `[ NN%]`."""
        text = self.log.read_text(errors="replace") if self.log else ""
        lines = [m.group(1) for m in re.finditer(r"^([.FEsxX]+)[ \t]*(?:\[\s*\d+%\])?$", text, re.M)]
        pct = re.findall(r"\[\s*(\d+)%\]", text[-4000:])
        done = sum(len(x) for x in lines)
        return f"{done} tests" + (f" ({pct[-1]}%)" if pct else "")

    def result(self) -> dict:
        if self.log:
            print(f"=== KERAS_BACKEND={self.backend} ===\n{self.log.read_text(errors='replace')}", end="", flush=True)
        c = _counts(self.junit)
        failed = c["failures"] + c["errors"]
        if self.proc.returncode == 0 and not failed:  # its log and tmp_path folders: gone once it passed
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"[keras-backends] {self.backend}: log and test folders kept in {self.tmp}", flush=True)
        return {"backend": self.backend, "code": self.proc.returncode, "seconds": time.perf_counter() - self.start,
                "passed": c["tests"] - failed - c["skipped"], "failed": failed, "skipped": c["skipped"]}


def run_legs(backends: list[str], args: list[str], rootdir: Path, keras_home: str, jobs: int) -> list[dict]:
    """Every backend's suite, up to `jobs` at a time; results in the order of `backends`."""
    waiting, running, done = list(backends), [], {}
    t0, last = time.perf_counter(), time.perf_counter()
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                running.append(Leg(waiting.pop(0), args, rootdir, keras_home, to_log=jobs > 1))
            for leg in [r for r in running if r.proc.poll() is not None]:
                running.remove(leg)
                done[leg.backend] = leg.result()
            if running and jobs > 1 and time.perf_counter() - last >= PROGRESS_S:
                last = time.perf_counter()
                states = [f"{r.backend} {r.progress()}" for r in running] + [f"{b} waiting" for b in waiting]
                print(f"[keras-backends {int(last - t0) // 60}:{int(last - t0) % 60:02d}] " + " · ".join(states),
                      flush=True)
            time.sleep(0.5 if running else 0)
    finally:  # Ctrl-C or an error here: no suite keeps running on its own
        for leg in running:
            leg.proc.terminate()
    return [done[b] for b in backends]


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    value = config.getoption("--keras-backends")
    if not value or os.environ.get(CHILD_ENV):
        return None  # inert: plain pytest
    backends = [b.strip() for b in value.split(",") if b.strip()]
    bad = [b for b in backends if b not in KNOWN]
    if bad or not backends:
        print(f"mnistx: error: --keras-backends: unknown backend(s) {', '.join(bad) or '(none)'}; "
              f"choose from {', '.join(KNOWN)}", file=sys.stderr)
        return 2
    jobs = config.getoption("--keras-backends-jobs")
    if jobs < 1:
        print(f"mnistx: error: --keras-backends-jobs must be at least 1, not {jobs}", file=sys.stderr)
        return 2
    args = _child_args(list(config.invocation_params.args))
    rootdir = Path(str(config.rootpath))
    results = run_legs(backends, args, rootdir, config.getini("keras_home"), jobs)
    print("\n=== keras-backends ===")
    for r in results:
        status = "ok" if r["code"] == 0 else f"FAILED (pytest exit {r['code']})"
        print(f"{r['backend']:11s} {r['passed']:4d} passed {r['failed']:3d} failed {r['skipped']:3d} "
              f"skipped  {r['seconds']:6.0f} s  {status}")
    total = {k: sum(r[k] for r in results) for k in ("passed", "failed", "skipped")}
    print(f"keras-backends: {total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped",
          flush=True)
    return 0 if all(r["code"] == 0 for r in results) else 1


@pytest.fixture(scope="session")
def keras_backend() -> str:
    """The Keras backend this test process runs (imports Keras)."""
    import keras

    return keras.backend.backend()
