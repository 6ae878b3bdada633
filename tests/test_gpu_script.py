"""benchmarks/gpu.sh's CPU path, so nothing in the GPU run is untested when no GPU is lent: the
stages, the budget that skips what would not fit, and the compact results folder."""

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import keras
import pytest

from mnistx.config import BACKENDS

ROOT = Path(__file__).resolve().parent.parent
PAIR = [keras.backend.backend(), next(b for b in BACKENDS if b != keras.backend.backend())]


def _load(name):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.only_in("torch")  # its children span every backend (and torch's graph check)
@pytest.mark.e2e
@pytest.mark.needs_backends()
def test_gpu_script_cpu_path(tmp_path):
    backends = list(BACKENDS)
    out = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu.sh"), "--device", "cpu", "--quick",
                          "--backends", ",".join(backends), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=1800, env={**os.environ, "PYTHON": sys.executable})
    assert out.returncode == 0, out.stdout[-1500:] + out.stderr[-1500:]
    r = json.loads((tmp_path / "gpu.json").read_text())
    assert r["device"] == "cpu" and r["backends_missing"] == {} and r["skipped"] == {}
    assert {s["backend"] for s in r["summary"]} == set(backends)
    assert r["parity"]["parity-tf32-off"]["passed"]
    g = r["graph_check"]  # on CPU: the default loop is torch.compile (or eager), and it tracks eager
    assert g["path"] in ("compiled-step", "torch.compile", "eager") and g["max_weight_diff"] < 1e-4, g
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["bench.json", "bench.md", "gpu.json", "gpu.md", "parity.md", "plots.html", "work.tar.gz"]
    assert all(p.stat().st_size < 16 * 2**20 for p in tmp_path.iterdir())
    assert (tmp_path / "gpu.md").read_text().startswith("# mnistx on CPU (cpu)")
    assert (tmp_path / "plots.html").read_text().count("data:image/png;base64,") >= 3
    bench = json.loads((tmp_path / "bench.json").read_text())
    assert all(res["gpu"] is False for res in bench["backends"].values())
    with tarfile.open(tmp_path / "work.tar.gz") as tar:
        assert any(n.endswith("graph-check.log") for n in tar.getnames())


@pytest.mark.needs_backends()
def test_budget_skips_what_does_not_fit_and_says_so(tmp_path, capsys):
    gpu_run = _load("gpu_run")
    assert gpu_run.main(["--device", "cpu", "--quick", "--budget", "5", "--backends", ",".join(PAIR),
                         "--out", str(tmp_path)]) == 0
    r = json.loads((tmp_path / "gpu.json").read_text())
    want = {"bench", "parity-tf32-off"} | ({"graph check"} if "torch" in PAIR else set())
    assert set(r["skipped"]) == want and r["summary"] == [] and r["parity"] == {}
    assert "needs ~" in r["skipped"]["bench"] and "of the 5 s budget" in (tmp_path / "gpu.md").read_text()


def test_package_leaves_out_what_is_over_the_limit(tmp_path):
    pack = _load("gpu_package")
    work = tmp_path / "work"
    work.mkdir()
    (work / "big.bin").write_bytes(os.urandom(17 * 2**20))  # incompressible: the tarball stays too big
    result = {}
    sizes = pack.package(tmp_path / "out", work, result, "# run\n", None, {}, progress=lambda m: None)
    assert "work.tar.gz" in result["left_out"] and "work.tar.gz" not in sizes
    assert "left out of the results folder: work.tar.gz" in (tmp_path / "out" / "gpu.md").read_text()
    assert sorted(sizes) == ["gpu.json", "gpu.md"]


def test_gpu_script_refuses_gpu_without_one_and_a_busy_out(tmp_path, monkeypatch, capsys):
    gpu_run = _load("gpu_run")
    monkeypatch.setattr(gpu_run, "nvidia_smi", lambda: None)  # as on any machine without a GPU
    assert gpu_run.main(["--device", "gpu", "--out", str(tmp_path)]) == 2
    assert "no GPU" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing half-written
    (tmp_path / "mine.txt").write_text("keep")
    assert gpu_run.main(["--device", "cpu", "--out", str(tmp_path)]) == 2
    assert "holds other files" in capsys.readouterr().err and (tmp_path / "mine.txt").exists()
    assert gpu_run.main(["--device", "cpu", "--budget", "0", "--out", str(tmp_path / "x")]) == 2
