"""benchmarks/gpu.sh's CPU path, so nothing in the GPU run is untested when no GPU is lent."""

import json
import subprocess
from pathlib import Path

import keras
import pytest

from mnistx.config import BACKENDS

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
PAIR = [keras.backend.backend(), next(b for b in BACKENDS if b != keras.backend.backend())]


@pytest.mark.needs_backends()
def test_gpu_script_cpu_path(tmp_path):
    out = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu.sh"), "--device", "cpu", "--quick",
                          "--backends", ",".join(PAIR), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-1500:] + out.stderr[-1500:]
    r = json.loads((tmp_path / "gpu.json").read_text())
    assert r["device"] == "cpu" and r["backends_missing"] == {}
    assert {s["backend"] for s in r["summary"]} == set(PAIR)
    assert r["parity"]["parity-tf32-off"]["passed"]
    assert (tmp_path / "gpu.md").read_text().startswith("# mnistx on CPU (cpu)")
    bench = json.loads((tmp_path / "bench" / "bench.json").read_text())
    assert all(res["gpu"] is False for res in bench["backends"].values())


def test_gpu_script_refuses_gpu_without_one(tmp_path, monkeypatch, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_run", ROOT / "benchmarks" / "gpu_run.py")
    gpu_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_run)
    monkeypatch.setattr(gpu_run, "nvidia_smi", lambda: None)  # as on any machine without a GPU
    assert gpu_run.main(["--device", "gpu", "--out", str(tmp_path)]) == 2
    assert "no GPU" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing half-written
