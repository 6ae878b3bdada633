"""nox sessions: the per-backend CI matrix and the main job, locally, from the pinned CPU specs.

    nox -l                  # list the sessions
    nox -s tests-jax        # the suite on JAX only, in a virtualenv with only JAX's pinned spec
    nox -t tests            # all three per-backend sessions (what the GitHub matrix runs)
    nox -s compare          # `mnistx compare --epochs 1` on every backend -> out/nox-compare/
    nox -s tests-jax -- -k parity   # anything after -- goes to pytest

Each tests-<backend> session installs only that backend, so tests whose children span
backends are skipped there with the reason (the all-backends run, README's test command and
.ci/run, covers them). Set MNISTX_DATA to a local MNIST .npz to skip Keras's download.
Without a local CPU wheel of torch, set MNISTX_TORCH_INDEX=https://download.pytorch.org/whl/cpu
or pip pulls the multi-GB CUDA build.
"""

from __future__ import annotations

import os

import nox

BACKENDS = ("tensorflow", "jax", "torch")
TEST_COMMAND = ("python", "-m", "pytest", "-q", "-p", "no:cacheprovider")

nox.options.sessions = [f"tests-{b}" for b in BACKENDS]
nox.options.reuse_venv = "yes"  # the pinned stacks are large; `nox --reuse-venv=no` rebuilds


def _install(session: nox.Session, *requirements: str) -> None:
    index = os.environ.get("MNISTX_TORCH_INDEX")
    extra = ("--extra-index-url", index) if index else ()
    session.install(*extra, *[a for r in requirements for a in ("-r", r)], "-e", ".")


def _tests_session(backend: str):
    @nox.session(name=f"tests-{backend}", tags=["tests"])
    def tests(session: nox.Session) -> None:
        """The suite on one backend, in a virtualenv holding only that backend's pinned spec."""
        _install(session, f"backends/{backend}/requirements-cpu.txt", "backends/requirements-test.txt")
        session.run(*TEST_COMMAND, f"--keras-backends={backend}", *session.posargs)

    return tests


for _backend in BACKENDS:
    globals()[f"tests_{_backend}"] = _tests_session(_backend)


@nox.session
def compare(session: nox.Session) -> None:
    """The main job, 1 epoch, every backend in one environment (report: out/nox-compare/report.html)."""
    _install(session, "backends/requirements-cpu.txt")
    session.run("mnistx", "compare", "--epochs", "1", "--out", "out/nox-compare", *session.posargs)
