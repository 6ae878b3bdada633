"""pytest plugin (entry point `pytest11`): run a test suite once per Keras backend.

    pytest --keras-backends=tensorflow,jax,torch [pytest args...]

runs the same pytest command once per backend, each in a child process with KERAS_BACKEND set
(a process's backend is fixed at its first `import keras`), prints one summary line per backend
and closes with `keras-backends: N passed, N failed, N skipped`. Exit code 0 only when every
backend passed. Without the option the plugin does nothing but offer the `keras_backend`
fixture. The ini option `keras_home` (e.g. `backends/{backend}`) sets KERAS_HOME per backend.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

CHILD_ENV = "MNISTX_PYTEST_CHILD"
KNOWN = ("tensorflow", "jax", "torch", "numpy", "openvino")


def pytest_addoption(parser):
    group = parser.getgroup("mnistx", "Keras backends (mnistx)")
    group.addoption("--keras-backends", metavar="A,B,C", default=None,
                    help="run this test suite once per Keras backend, each in a child process")
    parser.addini("keras_home", "KERAS_HOME per backend for --keras-backends; {backend} is replaced "
                  "(e.g. backends/{backend})", default="")


def _child_args(args: list[str]) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "--keras-backends":
            skip = True
            continue
        if not a.startswith("--keras-backends="):
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


def run_backend(backend: str, args: list[str], rootdir: Path, keras_home: str) -> dict:
    """One child pytest with KERAS_BACKEND=backend; its output passes through."""
    junit = Path(tempfile.mkdtemp(prefix="mnistx-pytest-")) / f"{backend}.xml"
    env = dict(os.environ, KERAS_BACKEND=backend, **{CHILD_ENV: backend})
    if keras_home:
        env["KERAS_HOME"] = str((rootdir / keras_home.format(backend=backend)).resolve())
    print(f"=== KERAS_BACKEND={backend} ===", flush=True)
    start = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", "pytest", f"--junitxml={junit}", *args], env=env,
                           cwd=os.getcwd())
    c = _counts(junit)
    failed = c["failures"] + c["errors"]
    return {"backend": backend, "code": code, "seconds": time.perf_counter() - start,
            "passed": c["tests"] - failed - c["skipped"], "failed": failed, "skipped": c["skipped"]}


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
    args = _child_args(list(config.invocation_params.args))
    rootdir = Path(str(config.rootpath))
    results = [run_backend(b, args, rootdir, config.getini("keras_home")) for b in backends]
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
