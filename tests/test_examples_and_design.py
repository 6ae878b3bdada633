"""The Keras 3 worksheet example on this backend, and the design rules the package keeps."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.e2e
def test_worksheet_example_runs_on_this_backend(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "worksheet.py"), "--epochs", "1",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    acc = float(re.search(r"Test Accuracy: ([0-9.]+)", out.stdout).group(1))
    assert 0.94 <= acc <= 0.99, out.stdout  # one worksheet epoch lands near 0.955
    for name in ("samples", "weights", "confidence", "misclassified"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_only_the_adapter_imports_a_framework():
    frameworks = {"tensorflow", "jax", "jaxlib", "torch", "openvino"}
    offenders = []
    for path in (ROOT / "mnistx").rglob("*.py"):
        if "backends" in path.relative_to(ROOT / "mnistx").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in frameworks]
    assert offenders == []


def test_parents_import_no_keras():
    code = ("import sys, mnistx.cli, mnistx.cli_jobs, mnistx.parity.runner, mnistx.bench.runner, "
            "mnistx.compare, mnistx.report.html, mnistx.report.markdown, mnistx.info, mnistx.api, "
            "mnistx.testing, mnistx.pytest_plugin, mnistx.prepare, mnistx.inputs, mnistx.modelspec, "
            "mnistx.cli_tools, mnistx.ci_init, mnistx.devices, mnistx.parity.data_parallel, mnistx.bench.scaling, "
            "mnistx.atlas, mnistx.atlas_report, mnistx.parity.locator, mnistx.cli_converge, mnistx.converge.runner, "
            "mnistx.converge.report, mnistx.converge.stats; "
            "print([m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


def test_modules_stay_small():
    sizes = {p.name: len(p.read_text().splitlines()) for p in (ROOT / "mnistx").rglob("*.py")}
    assert max(sizes.values()) <= 300, sizes


def _import_graph() -> dict:
    """mnistx module -> the mnistx modules it imports (top level or inside functions)."""
    import ast

    def name(p):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    mods = {name(p): p for p in (ROOT / "mnistx").rglob("*.py")}
    graph = {}
    for m, p in mods.items():
        deps = set()
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, ast.ImportFrom) and n.level == 0 and (n.module or "").startswith("mnistx"):
                deps |= {f"{n.module}.{a.name}" if f"{n.module}.{a.name}" in mods else n.module for a in n.names}
            elif isinstance(n, ast.Import):
                deps |= {a.name for a in n.names if a.name.startswith("mnistx")}
        graph[m] = {d for d in deps if d in mods and d != m}
    return graph


def test_no_import_circles():
    """No module imports (even lazily, inside a function) one that imports it back: a lazy import
    hid bench/runner <-> bench/scaling and parity/runner -> data_parallel -> runner."""
    graph = _import_graph()

    def reaches(a, b, seen=()):
        return b in graph[a] or any(reaches(c, b, (*seen, a)) for c in graph[a] if c not in seen)

    assert graph["mnistx.parity.runner"] and graph["mnistx.cli"]  # the graph is read at all
    circles = sorted(m for m in graph if reaches(m, m))
    assert circles == [], circles


def test_a_plain_pytest_says_which_files_other_legs_run():
    """pytest on one backend names the files it leaves to the other legs (ONLY_IN): in the header,
    and after the results under -q (which prints no header)."""
    import keras

    me = keras.backend.backend()
    for quiet in ([], ["-q"]):
        out = subprocess.run([sys.executable, "-m", "pytest", "--co", *quiet, "-p", "no:cacheprovider",
                              str(Path(__file__).parent / "test_children.py")],
                             capture_output=True, text=True, timeout=120)
        said = out.stdout + out.stderr
        assert f"this is the {me} leg; files that run in another leg only" in said, (quiet, said[-2000:])
        assert ("test_torch_graphs.py (torch)" in said) == (me != "torch")
