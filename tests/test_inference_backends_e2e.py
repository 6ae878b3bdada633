"""The inference-only backends in `mnistx parity`: NumPy as the reference oracle (every other
backend's forward pass against Keras's NumPy backend on the same weights) and OpenVINO; what they
cannot do is listed, never failed. (One leg of the matrix: its children span every backend anyway.)"""

import json
import re

import pytest

from mnistx.cli import main
from mnistx.config import BACKENDS

pytestmark = [pytest.mark.e2e, pytest.mark.needs_backends()]
NEEDS_AUTODIFF = {"loss", "grad_weights", "grad_input", "saliency", "trajectory_loss", "trajectory_weights"}


@pytest.mark.needs_backends(*BACKENDS, "openvino")
def test_five_backends_with_the_numpy_reference_on_real_mnist(tmp_path, capsys):
    """OpenVINO runs pinned to f32: with its CPU plugin's bf16 default (this machine has AMX), its
    outputs were 1.2e-3 off and 4 of 500 top classes flipped, which fails the outputs tier."""
    assert main(["parity", "--backends", "numpy,openvino," + ",".join(BACKENDS), "--images", "1000",
                 "--steps", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    s = json.loads((tmp_path / "parity.json").read_text())
    assert s["compared"] == [*BACKENDS, "openvino", "numpy"]  # inference-only last, numpy last: "<b> vs numpy"
    assert {(n["backend"], n["check"]) for n in s["not_supported"]} == {
        (b, c) for b in ("numpy", "openvino") for c in NEEDS_AUTODIFF}
    why = {n["backend"]: n["reason"] for n in s["not_supported"]}
    assert "no automatic differentiation" in why["numpy"] and "inference" in why["openvino"]
    assert s["environments"]["openvino"]["versions"]["openvino_precision"] == "f32"
    o = s["oracle"]
    assert set(o["backends"]) == {*BACKENDS, "openvino"} and set(o["furthest"]) <= set(o["backends"])
    assert all(r["outputs"]["passed"] and r["activations"]["passed"] for r in o["backends"].values())
    assert ("furthest from the NumPy reference" if o["furthest"] else "bit for bit") in out
    ck = [c for c in s["checks"] if c["check"] == "checkpoint"]
    assert len(ck) == 2 * 25  # 5 savers x 5 loaders, .keras and .weights.h5: every backend reads and writes both
    md = (tmp_path / "parity.md").read_text()
    assert "n/a: not supported by numpy" in md and "n/a: not supported by openvino" in md
    assert "NumPy reference" in md and "numpy vs " not in md
    assert md.count("vs numpy") >= 3


def test_a_change_in_the_reference_copy_fails_every_backend_against_it(tmp_path):
    """--plant changes the last backend's copy, here numpy's: each training backend's outputs now
    differ from the reference (located in dense_1), while the training backends still agree."""
    code = main(["parity", "--backends", "jax,torch,numpy", "--images", "500", "--steps", "2",
                 "--plant", "1e-3", "--out", str(tmp_path)])
    assert code == 1
    s = json.loads((tmp_path / "parity.json").read_text())
    bad = {(c["check"], c["pair"]) for c in s["checks"] if not c["passed"]}
    for b in ("jax", "torch"):
        assert ("outputs", f"{b} vs numpy") in bad and ("activations", f"{b} vs numpy") in bad
        loc = s["first_divergence"][f"{b} vs numpy"]
        assert loc["layer"] == "dense_1" and loc["agree_up_to"] == "dense", loc  # the activation locator
        assert not s["oracle"]["backends"][b]["outputs"]["passed"]
    assert not [c for c in bad if c[1] == "jax vs torch"]


def test_numpy_reference_on_a_recurrent_model(tmp_path):
    """A deep model the project did not write (Bidirectional LSTM + GRU): every layer against NumPy."""
    assert main(["parity", "--model", "examples/models/recurrent.py:build", "--inputs", "synthetic",
                 "--backends", "tensorflow,numpy", "--images", "64", "--steps", "2", "--out", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "parity.json").read_text())
    rows = s["layers"]["tensorflow vs numpy"]
    assert [r["name"] for r in rows][:2] == ["bilstm", "dropout"] and rows[-1]["name"] == "logits"
    assert set(s["oracle"]["backends"]) == {"tensorflow"}  # one candidate: "furthest" would say nothing
    assert s["oracle"]["backends"]["tensorflow"]["activations"]["passed"]


@pytest.mark.needs_backends("openvino")
def test_bench_times_inference_only_backends_and_lists_their_modes(tmp_path):
    assert main(["bench", "--quick", "--backends", "openvino,numpy", "--out", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "bench.json").read_text())
    for b in ("openvino", "numpy"):
        mlp = s["backends"][b]["models"]["mlp"]
        assert set(mlp["modes"]) == {"keras-default", "keras-tuned", "native"}
        assert all("inference only" in r["not_supported"] or "no gradients" in r["not_supported"]
                   for r in mlp["modes"].values())
        assert {k: v["images_per_s"] > 0 for k, v in mlp["inference"].items()} == {"1": True, "512": True, "8192": True}
        assert s["backends"][b]["import"]["median"] > 0
    assert s["summary"] == [] and s["accuracy"]["passed"]
    md = (tmp_path / "bench.md").read_text()
    assert "- openvino (mlp): training not supported by openvino (" in md
    assert "- numpy (mlp): training not supported by numpy (" in md
    assert md.count("| openvino | mlp |") == 2  # the inference row and where the child's time went; no text rows
    assert re.search(r"\| openvino \| mlp \| [\d.]+ \| [\d.]+ \| [\d.]+ \| 0\.0 \| 0\.0 \| 0\.0 \| [\d.]+ \|", md), md
    assert "(mlp: ?)" not in md and "(none trained here)" in md  # never a question mark
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["bench-throughput.png"]


@pytest.mark.needs_backends("openvino")
def test_introspect_a_run_on_the_inference_only_backends(tmp_path, capsys):
    """A run trained here, loaded and predicted by numpy and openvino: the same top class on
    (almost) every test image, every figure but saliency, which is listed with the reason."""
    run = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--train-limit", "6000", "--out", str(run)]) == 0
    for b in ("numpy", "openvino"):
        assert main(["introspect", str(run), "--backend", b, "--out", str(tmp_path / b)]) == 0
        s = json.loads((tmp_path / b / "introspect.json").read_text())
        assert s["backend"] == b and s["argmax_agree"] >= s["test_images"] - 2, s
        assert s["max_abs_prob_diff"] < 1e-4 and "saliency" not in s["figures"]
        assert s["skipped"]["saliency"].startswith(f"not supported by {b}:")
        assert {"samples", "weights", "confidence", "misclassified", "curves", "confusion"} <= set(s["figures"])
