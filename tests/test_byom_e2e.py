"""Bring your own model, end to end: parity on six models the project did not write (spread
over the per-backend runs: each runs all three backends as children), the divergence locator on
a planted weight and on a planted computation, and bad input as one line before any work."""

import json
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from mnistx.cli import main
from mnistx.config import BACKENDS

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
ME = keras.backend.backend()

# model -> extra CLI args; each runs in one backend's matrix run (all three backends as children)
EXAMPLES = {
    "tensorflow": {"mobilenet": ["--inputs", "synthetic", "--images", "32"], "subclassed": ["--images", "500"]},
    "jax": {"mobilenet_v3": ["--inputs", "synthetic", "--images", "32"],
            "transformer": ["--inputs", "synthetic", "--images", "64"]},
    "torch": {"recurrent": ["--inputs", "synthetic", "--images", "64", "--loss", "sparse_categorical_crossentropy"],
              "two_inputs": ["--inputs", "synthetic", "--images", "64"]},
}


@pytest.mark.parametrize("name", list(EXAMPLES[ME]))
@pytest.mark.needs_backends()
def test_example_model_parity(name, tmp_path):
    args = ["parity", "--model", f"examples/models/{name}.py:build", "--steps", "3",
            "--activation-images", "16", "--out", str(tmp_path), *EXAMPLES[ME][name]]
    assert main(args) == 0, (tmp_path / "parity.md").read_text()
    s = json.loads((tmp_path / "parity.json").read_text())
    assert sorted(s["compared"]) == sorted(BACKENDS)
    checks = {c["check"] for c in s["checks"]}
    assert {"outputs", "activations", "grad_weights", "trajectory_loss", "checkpoint"} <= checks
    assert len(next(iter(s["layers"].values()))) >= 4  # per-layer records, nested/subclassed too


@pytest.mark.only_in("torch")
@pytest.mark.needs_backends()
def test_planted_weight_in_a_deep_model_is_located(tmp_path):
    args = ["parity", "--model", "examples/models/mobilenet.py:build", "--inputs", "synthetic",
            "--images", "32", "--activation-images", "8", "--steps", "2", "--plant", "1e-2",
            "--plant-layer", "block_5_project", "--out", str(tmp_path)]
    assert main(args) == 1
    s = json.loads((tmp_path / "parity.json").read_text())
    for pair in ("tensorflow vs torch", "jax vs torch"):
        # 1e-2 in one kernel element moves no activation of these 8 samples beyond its tier, so this is
        # the weight locator's answer, and it says so (the activation locator: the MLP and BERT tests)
        loc = s["first_divergence"][pair]
        assert loc["layer"] == "block_5_project" and loc["variable"] == "block_5_project/kernel", loc
        assert "every layer's output still agrees" in loc["text"] and "agree_up_to" not in loc
    assert "tensorflow vs jax" not in s["first_divergence"]


@pytest.mark.only_in("tensorflow")
@pytest.mark.needs_backends()
def test_planted_computation_is_located(tmp_path):
    """A custom layer that adds 1e-3 on torch only: located to that layer, the rest agree."""
    args = ["parity", "--model", "tests/fixtures/byom/skewed.py:build", "--inputs", "synthetic",
            "--images", "64", "--steps", "2", "--out", str(tmp_path)]
    assert main(args) == 1
    s = json.loads((tmp_path / "parity.json").read_text())
    loc = s["first_divergence"]["tensorflow vs torch"]
    assert loc["layer"] == "skewed" and loc["agree_up_to"] == "bn1"
    assert loc["max_abs_diff"] == pytest.approx(1e-3, rel=1e-3)
    assert all(c["passed"] for c in s["checks"] if c["pair"] == "tensorflow vs jax")
    assert "backends agree up to bn1, differ from skewed" in (tmp_path / "parity.md").read_text()


def _one_line(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("mnistx: error:") and "\n" not in err, err
    return err


@pytest.mark.parametrize("args, message", [
    (["--model", "nosuch"], "unknown model 'nosuch'"),
    (["--model", "examples/models/mobilenet.py:nope"], "defines no function 'nope'"),
    (["--model", "/no/such.keras"], "not found"),
    (["--inputs", "synthetic", "--tier", "outputs=abc"], "expected NAME=ATOL"),
    (["--model", "mlp", "--tier", "nosuch=1e-5"], "unknown tolerance tier"),
])
def test_bad_model_input_is_one_line_before_any_child(args, message, tmp_path, capsys):
    assert main(["parity", *args, "--out", str(tmp_path / "out")]) == 2
    assert message in _one_line(capsys)
    assert not (tmp_path / "out").exists()  # nothing started, nothing written


def test_data_that_does_not_fit_the_model(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", x_image=np.zeros((4, 28, 28), np.float32), x_meta=np.zeros((4, 6), np.float32),
             y=np.zeros((4, 1), np.float32))
    code = main(["parity", "--model", "examples/models/two_inputs.py:build", "--data", str(tmp_path / "d.npz"),
                 "--backends", "jax,torch", "--out", str(tmp_path / "out")])
    assert code == 2
    err = _one_line(capsys)
    assert "input 'image' has shape (4, 28, 28); the model expects (N, 28, 28, 1)" in err


def test_unknown_loss_is_one_line_and_no_report(tmp_path, capsys):
    code = main(["parity", "--model", "examples/models/two_inputs.py:build", "--inputs", "synthetic",
                 "--loss", "nosuchloss", "--backends", "jax,torch", "--out", str(tmp_path / "o")])
    assert code == 2 and "unknown loss 'nosuchloss'" in _one_line(capsys)
    assert not (tmp_path / "o" / "parity.json").exists()  # the probe's work folder only


def test_lambda_layer_keras_file_is_refused(tmp_path, capsys):
    i = keras.Input((3,))
    keras.Model(i, keras.layers.Lambda(lambda t: t * 2, name="double")(i)).save(tmp_path / "lam.keras")
    assert main(["parity", "--model", str(tmp_path / "lam.keras"), "--out", str(tmp_path / "o")]) == 2
    assert "Lambda layer(s) double: Keras's safe_mode refuses" in _one_line(capsys)


@pytest.mark.needs_backends("jax", "torch")
def test_model_that_raises_is_one_line(tmp_path, capsys):
    (tmp_path / "broken.py").write_text("def build():\n    raise RuntimeError('no GPU budget')\n")
    assert main(["parity", "--model", f"{tmp_path}/broken.py:build", "--backends", "jax,torch",
                 "--out", str(tmp_path / "o")]) == 2
    assert "build() raised RuntimeError: no GPU budget" in _one_line(capsys)


@pytest.mark.only_in("jax")
@pytest.mark.needs_backends("jax", "torch")
def test_pytest_plugin_runs_a_project_once_per_backend():
    import os

    from mnistx.pytest_plugin import CHILD_ENV

    demo = ROOT / "tests" / "fixtures" / "demo_project"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--keras-backends=jax,torch"]
    env = {k: v for k, v in os.environ.items() if k != CHILD_ENV}  # this suite itself runs as a child
    import glob
    import tempfile

    legs = lambda: set(glob.glob(os.path.join(tempfile.gettempdir(), "mnistx-pytest-*")))  # noqa: E731
    before = legs()
    ok = subprocess.run(cmd, cwd=demo, capture_output=True, text=True, timeout=300, env=env)
    assert ok.returncode == 0, ok.stdout[-2000:]
    assert legs() - before == set()  # a passing leg deletes its log and tmp_path folder (it left ~1.7 GB)
    assert ok.stdout.strip().splitlines()[-1] == "keras-backends: 4 passed, 0 failed, 0 skipped"
    bad = subprocess.run(cmd, cwd=demo, capture_output=True, text=True, timeout=300,
                         env={**env, "DEMO_FAIL_ON": "torch"})
    assert bad.returncode == 1
    assert "torch          1 passed   1 failed" in bad.stdout and "keras-backends: 3 passed, 1 failed" in bad.stdout
    unknown = subprocess.run([*cmd[:-1], "--keras-backends=jax,nosuch"], cwd=demo, capture_output=True,
                             text=True, timeout=120, env=env)
    assert unknown.returncode == 2 and "unknown backend(s) nosuch" in unknown.stderr


@pytest.mark.only_in("jax")
@pytest.mark.needs_backends("jax", "torch")
def test_pytest_plugin_runs_backends_side_by_side(tmp_path):
    """--keras-backends-jobs=2: both suites at once (each waits for the other to check in, which
    one after another cannot pass), each one's output printed whole, the same summary."""
    import os

    from mnistx.pytest_plugin import CHILD_ENV

    demo = ROOT / "tests" / "fixtures" / "demo_project"
    env = {k: v for k, v in os.environ.items() if k != CHILD_ENV}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--keras-backends=jax,torch"]
    (tmp_path / "both").mkdir()
    both = subprocess.run([*cmd, "--keras-backends-jobs=2"], cwd=demo, capture_output=True, text=True, timeout=300,
                          env={**env, "DEMO_MEET": f"{tmp_path / 'both'}:jax,torch"})
    assert both.returncode == 0, both.stdout[-3000:]
    assert both.stdout.strip().splitlines()[-1] == "keras-backends: 4 passed, 0 failed, 0 skipped"
    blocks = both.stdout.split("=== KERAS_BACKEND=")[1:]
    assert sorted(b.split(" ===")[0] for b in blocks) == ["jax", "torch"]
    assert all(re.search(r"^2 passed", b, re.M) for b in blocks)  # each suite's summary in its own block
    (tmp_path / "one").mkdir()
    one = subprocess.run(cmd, cwd=demo, capture_output=True, text=True, timeout=300,
                         env={**env, "DEMO_MEET": f"{tmp_path / 'one'}:jax,torch", "DEMO_MEET_S": "5"})
    assert one.returncode == 1 and "did not run side by side" in one.stdout
    bad = subprocess.run([*cmd, "--keras-backends-jobs=0"], cwd=demo, capture_output=True, text=True, timeout=120,
                         env=env)
    assert bad.returncode == 2 and "--keras-backends-jobs must be at least 1" in bad.stderr


@pytest.mark.only_in("jax")
@pytest.mark.needs_backends("jax", "torch")
def test_python_api_and_assert_backends_agree(tmp_path, rng):
    import mnistx
    from mnistx.testing import assert_backends_agree

    data = {"image": rng.random((48, 28, 28, 1)).astype(np.float32), "meta": rng.random((48, 6)).astype(np.float32)}
    r = mnistx.check_parity("examples/models/two_inputs.py:build", (data, rng.random((48, 1)).astype(np.float32)),
                            backends=("jax", "torch"), steps=2, out=tmp_path / "api")
    assert r.passed and "| outputs |" in r.table() and r.to_json()["loss"]["name"] == "mean_squared_error"
    assert_backends_agree(str(ROOT / "tests/fixtures/demo_project/model.py") + ":build",
                          rng.random((32, 12)).astype(np.float32), backends=("jax", "torch"), steps=2,
                          out=tmp_path / "agree")
    with pytest.raises(AssertionError, match="differ from skewed"):
        assert_backends_agree("tests/fixtures/byom/skewed.py:build", backends=("jax", "torch"),
                              steps=1, images=16, out=tmp_path / "skew")


def test_train_and_introspect_any_model(tmp_path, capsys):
    """A subclassed classifier on MNIST gets every figure; a two-input regression model gets the
    ones that make sense, and the rest are listed as skipped with the reason."""
    run = tmp_path / "sub"
    assert main(["train", "--model", "examples/models/subclassed.py:build", "--epochs", "1",
                 "--train-limit", "3000", "--out", str(run)]) == 0
    assert main(["introspect", str(run), "--out", str(tmp_path / "f1")]) == 0
    out = capsys.readouterr().out
    assert "argmax agrees with the training backend on 2000/2000" in out
    intro = json.loads((tmp_path / "f1" / "introspect.json").read_text())
    assert set(intro["figures"]) == {"curves", "samples", "weights", "confusion", "confidence", "misclassified",
                                     "saliency"} and intro["skipped"] == {}
    assert 0.5 < intro["test_accuracy"] <= 1.0
    reg = tmp_path / "reg"
    assert main(["train", "--model", "examples/models/two_inputs.py:build", "--inputs", "synthetic",
                 "--epochs", "1", "--train-limit", "512", "--out", str(reg)]) == 0
    assert main(["introspect", str(reg), "--out", str(tmp_path / "f2")]) == 0
    intro = json.loads((tmp_path / "f2" / "introspect.json").read_text())
    assert set(intro["figures"]) == {"curves", "samples", "weights"}
    assert "not a classifier" in intro["skipped"]["confusion"] and intro["test_accuracy"] is None
    assert intro["max_abs_prob_diff"] == 0.0  # same backend, same weights: bit-identical
