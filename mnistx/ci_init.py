"""`mnistx ci init`: write a per-backend CI matrix (GitHub Actions and/or nox) into a user's project.

Pure text generation (no Keras): the workflow and the noxfile run the project's own test command
once per backend (`--keras-backends=<one>` when it is pytest, KERAS_BACKEND always set) and, with a
model spec, a parity job on all backends. Files are written whole (temp file, then rename) and
never over an existing file unless forced.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from mnistx import __version__
from mnistx.errors import MnistxError
from mnistx.runs import write_text

WORKFLOW = Path(".github/workflows/keras-backends.yml")
NOXFILE = Path("noxfile.py")
PACKAGES = {"tensorflow": "tensorflow-cpu", "jax": "jax[cpu]", "torch": "torch"}
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


@dataclass
class CiInit:
    """What to write. install: pip arguments for the project (guessed from its files when empty)."""

    root: Path = Path(".")
    backends: tuple[str, ...] = ("tensorflow", "jax", "torch")
    pythons: tuple[str, ...] = ("3.11", "3.13")
    test_command: str = "python -m pytest -q"
    install: str = ""
    mnistx_pip: str = ""  # empty: how this mnistx was installed (installed_from)
    model: str | None = None
    github: bool = True
    nox: bool = True
    force: bool = False
    notes: list[str] = field(default_factory=list)


def installed_from() -> tuple[str, str]:
    """(pip argument, how it was found) for installing this very mnistx in CI, from its
    direct_url.json (PEP 610): a VCS URL at its commit, an archive URL, a local folder's git remote
    at its commit, else the registry version. No network."""
    import json
    import subprocess
    from importlib import metadata

    texts = [d.read_text("direct_url.json") for d in metadata.distributions(name="mnistx")]
    d = next((json.loads(t) for t in texts if t), None)  # a source tree's egg-info has none
    if not d:
        return f"mnistx=={__version__}", "installed from a package index"
    url, vcs = d.get("url", ""), d.get("vcs_info")
    if vcs:
        at = vcs.get("commit_id") or vcs.get("requested_revision")
        return f"git+{url}" + (f"@{at}" if at else ""), f"installed from {vcs.get('vcs', 'git')} {url}"
    if not url.startswith("file://"):
        return url, "installed from an archive URL"
    folder = url[len("file://"):]

    def git(*a):
        r = subprocess.run(["git", "-C", folder, *a], capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 else ""

    try:
        remote, commit = git("config", "--get", "remote.origin.url"), git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        remote = commit = ""
    if remote and commit and ("://" in remote or remote.startswith("git@")):
        return f"git+{remote}@{commit}", f"installed from the folder {folder}, a clone of {remote}"
    return folder, (f"installed from the local folder {folder}, which CI cannot reach: pass --mnistx-pip "
                    f"(a git URL or a published version)")


def guess_install(root: Path) -> str:
    """pip arguments installing the project: requirements*.txt and/or the project itself."""
    args = [f"-r {r.name}" for r in sorted(root.glob("requirements*.txt"))]
    if (root / "pyproject.toml").is_file() or (root / "setup.py").is_file():
        args.append("-e .")
    return " ".join(args)


def check(cfg: CiInit) -> CiInit:
    """Validate in the parent: folder, backends, Python versions, test command. Returns cfg with install set."""
    from mnistx.spawn import check_backends

    if not cfg.root.is_dir():
        raise MnistxError(f"--dir {cfg.root}: no such folder")
    if not check_backends(cfg.backends, "ci init"):  # unknown names: the same one line as every other command
        raise MnistxError("--backends: name at least one backend")
    bad = [p for p in cfg.pythons if not p.replace(".", "").isdigit() or p.count(".") != 1]
    if bad or not cfg.pythons:
        raise MnistxError(f"--python: expected versions like 3.11,3.13, got {', '.join(bad) or '(none)'}")
    try:
        if not shlex.split(cfg.test_command):
            raise ValueError("empty")
    except ValueError as e:
        raise MnistxError(f"--test-command {cfg.test_command!r} is not a shell command ({e})") from None
    if not cfg.github and not cfg.nox:
        cfg.github = cfg.nox = True
    if not cfg.mnistx_pip:
        cfg.mnistx_pip, how = installed_from()
        cfg.notes.append(f"mnistx install: pip install {cfg.mnistx_pip} ({how}; --mnistx-pip to change)")
    if not cfg.install:
        cfg.install = guess_install(cfg.root)
        cfg.notes.append(f"project install: pip install {cfg.install or '(nothing found: pass --install)'}")
    targets = ([WORKFLOW] if cfg.github else []) + ([NOXFILE] if cfg.nox else [])
    exist = [str(t) for t in targets if (cfg.root / t).exists()]
    if exist and not cfg.force:
        raise MnistxError(f"{', '.join(exist)} already exist(s) in {cfg.root}; pass --force to replace")
    return cfg


def _is_pytest(command: str) -> bool:
    words = shlex.split(command)
    return "pytest" in words[:3] or words[-1:] == ["pytest"]


def test_command_for(cfg: CiInit, backend: str) -> str:
    """The project's test command for one backend (pytest gets the plugin's option)."""
    return f"{cfg.test_command} --keras-backends={backend}" if _is_pytest(cfg.test_command) else cfg.test_command


def render_github(cfg: CiInit) -> str:
    """A GitHub Actions workflow: tests per backend x Python; a parity job when a model is given."""
    pythons = ", ".join(f'"{p}"' for p in cfg.pythons)
    test = test_command_for(cfg, "${{ matrix.backend }}")
    text = f"""# Written by `mnistx ci init` (mnistx {__version__}): this project's tests once per Keras backend.
# Each job installs one backend (CPU build) beside the project; KERAS_BACKEND is set per job.
# mnistx is installed with `pip install {cfg.mnistx_pip}` (how this mnistx was installed);
# to change it, edit that argument below or rerun `mnistx ci init --mnistx-pip SPEC --force`.
name: keras-backends

on:
  push:
    branches: [main]
  pull_request:
  workflow_dispatch:

permissions:
  contents: read

env:
  # PyPI's torch is the multi-GB CUDA build; the CPU wheels live on PyTorch's own index.
  TORCH_CPU_INDEX: {TORCH_CPU_INDEX}
  PYTHONUNBUFFERED: "1"

jobs:
  tests:
    name: tests (${{{{ matrix.backend }}}}, Python ${{{{ matrix.python }}}})
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        backend: [{", ".join(cfg.backends)}]
        python: [{pythons}]
    env:
      KERAS_BACKEND: ${{{{ matrix.backend }}}}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{{{ matrix.python }}}}
      - name: Install the project, mnistx and ${{{{ matrix.backend }}}}
        run: |
          python -m pip install --upgrade pip
          case "${{{{ matrix.backend }}}}" in
            tensorflow) backend="{PACKAGES['tensorflow']}"; extra="" ;;
            jax) backend="{PACKAGES['jax']}"; extra="" ;;
            torch) backend="{PACKAGES['torch']}"; extra="--extra-index-url $TORCH_CPU_INDEX" ;;
          esac
          # shellcheck disable=SC2086
          python -m pip install {" ".join(['$extra "$backend"', cfg.mnistx_pip, cfg.install]).strip()}
      - name: Tests on ${{{{ matrix.backend }}}}
        run: {test}
"""
    if cfg.model:
        text += f"""
  parity:
    name: parity across {", ".join(cfg.backends)}
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "{cfg.pythons[0]}"
      - name: Install the project, mnistx and every backend
        run: |
          python -m pip install --upgrade pip
          python -m pip install {" ".join(['--extra-index-url "$TORCH_CPU_INDEX"', *(f'"{PACKAGES[b]}"' for b in cfg.backends), cfg.mnistx_pip, cfg.install]).strip()}
      - name: mnistx parity
        run: mnistx parity --model {shlex.quote(cfg.model)} --inputs synthetic --backends {",".join(cfg.backends)} --out parity
      - name: Upload the parity report
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: parity-report
          path: parity/parity.*
          if-no-files-found: warn
"""
    return text


def render_noxfile(cfg: CiInit) -> str:
    """A noxfile: tests-<backend> per backend (and parity with a model), same installs as the workflow."""
    parity = ""
    if cfg.model:
        parity = f'''

@nox.session
def parity(session: nox.Session) -> None:
    """mnistx parity on every backend (report in parity/)."""
    _install(session, BACKENDS)
    session.run("mnistx", "parity", "--model", {cfg.model!r}, "--inputs", "synthetic",
                "--backends", ",".join(BACKENDS), "--out", "parity", *session.posargs)
'''
    return f'''"""Written by `mnistx ci init` (mnistx {__version__}): this project's tests once per Keras backend.

    nox -l                 # the sessions
    nox -s tests-jax       # the tests on JAX, in a virtualenv with JAX's CPU build only
    nox -t tests           # every backend, one session each
    nox --no-venv -s tests-jax   # the same in the current environment (nothing installed)

MNISTX_PIP overrides how mnistx is installed; MNISTX_TORCH_INDEX (default PyTorch's CPU index,
empty for none) keeps pip from pulling torch's CUDA build.
"""

from __future__ import annotations

import os
import shlex

import nox

BACKENDS = {tuple(cfg.backends)!r}
PACKAGES = {{"tensorflow": "{PACKAGES['tensorflow']}", "jax": "{PACKAGES['jax']}", "torch": "{PACKAGES['torch']}"}}
PROJECT = shlex.split({cfg.install!r})
TEST_COMMAND = shlex.split({cfg.test_command!r})
PYTEST = {_is_pytest(cfg.test_command)!r}

nox.options.sessions = [f"tests-{{b}}" for b in BACKENDS]


def _install(session: nox.Session, backends) -> None:
    if session.venv_backend == "none":
        return  # nox --no-venv: run in the environment that is already there
    index = os.environ.get("MNISTX_TORCH_INDEX", "{TORCH_CPU_INDEX}")
    extra = ["--extra-index-url", index] if index and "torch" in backends else []
    session.install(*extra, *[PACKAGES[b] for b in backends], *shlex.split(os.environ.get("MNISTX_PIP", {cfg.mnistx_pip!r})),
                    *PROJECT)


def _tests(backend: str):
    @nox.session(name=f"tests-{{backend}}", tags=["tests"])
    def tests(session: nox.Session) -> None:
        """The project's tests on one backend."""
        _install(session, [backend])
        option = [f"--keras-backends={{backend}}"] if PYTEST else []
        session.run(*TEST_COMMAND, *option, *session.posargs, env={{"KERAS_BACKEND": backend}})

    return tests


for _backend in BACKENDS:
    globals()[f"tests_{{_backend}}"] = _tests(_backend)
{parity}'''


def write(cfg: CiInit) -> list[Path]:
    """Write the chosen files (atomically); returns their paths."""
    written = []
    for wanted, rel, render in ((cfg.github, WORKFLOW, render_github), (cfg.nox, NOXFILE, render_noxfile)):
        if wanted:
            path = cfg.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text(path, render(cfg))
            written.append(path)
    return written
