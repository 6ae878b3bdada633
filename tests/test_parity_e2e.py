"""`mnistx parity` end to end across every backend on the worksheet MLP and real MNIST."""

import json

import keras
import pytest

from mnistx.cli import main
from mnistx.config import BACKENDS, ParityConfig
from mnistx.parity.runner import run_parity

pytestmark = [pytest.mark.e2e, pytest.mark.needs_backends()]
ORDER = (keras.backend.backend(), *[b for b in BACKENDS if b != keras.backend.backend()])


def test_all_backends_agree_on_real_mnist(tmp_path):
    s = run_parity(ParityConfig(backends=ORDER, n_images=2000, steps=10), tmp_path, progress=lambda m: None)
    assert s["compared"] and sorted(s["compared"]) == sorted(BACKENDS), s["not_compared"]
    assert s["passed"], [c for c in s["checks"] if not c["passed"]]
    ck = [c for c in s["checks"] if c["check"] == "checkpoint"]
    assert len(ck) == 2 * 9  # 3x3 saver -> loader, two formats
    for name in ("parity.json", "parity.md", "heatmap.png", "divergence.png", "saliency.png", "layers.png"):
        assert (tmp_path / name).stat().st_size > 0
    saved = json.loads((tmp_path / "parity.json").read_text())
    assert saved["tolerances"]["weights"] == [0.0, 0.0] and saved["optimizer"].startswith("Adam")
    assert [r["name"] for r in saved["layers"][f"{ORDER[0]} vs {ORDER[1]}"]] == ["flatten", "dense", "dense_1", "dense_2"]


def test_planted_weight_and_crashed_child_are_reported(tmp_path, monkeypatch, capsys):
    """A 1e-3 change in one weight of the last backend (dense_1's kernel[0, 0]: hidden unit 0, which
    fires on real digits) fails the weights tier and, because it changes what the model computes,
    the forward, activation, gradient and trajectory tiers too, and is located;
    a child that crashes is reported with its reason while the others are still compared."""
    monkeypatch.setenv("MNISTX_FAULT", ORDER[1])
    code = main(["parity", "--backends", ",".join(ORDER), "--images", "500", "--steps", "3",
                 "--plant", "1e-3", "--out", str(tmp_path)])
    assert code == 1
    out = capsys.readouterr().out
    s = json.loads((tmp_path / "parity.json").read_text())
    assert s["compared"] == [ORDER[0], ORDER[2]]
    assert "failed: exit code 3" in s["not_compared"][ORDER[1]] and "fault injected" in s["not_compared"][ORDER[1]]
    failed = {c["check"] for c in s["checks"] if not c["passed"]}
    assert {"weights", "outputs", "activations", "grad_weights", "trajectory_weights"} <= failed, failed
    assert s["planted"]["layer"] == "dense_1" and "was planted" in (tmp_path / "parity.md").read_text()
    loc = s["first_divergence"][f"{ORDER[0]} vs {ORDER[2]}"]
    assert loc["layer"] == "dense_1" and loc["agree_up_to"] == "dense", loc  # the activation locator's answer
    assert "FAIL weights" in out and "parity FAIL" in out


@pytest.mark.only_in("tensorflow")
def test_sequential_children_cross_load_every_checkpoint(tmp_path, capsys):
    """--sequential used to time out: the first child waited for a checkpoint only a later child
    writes ("jax timed out after 60 s", nothing compared). Each child now loads those saved before
    it ran, and a checkpoint pass loads the rest: every saver -> loader pair, as side by side."""
    code = main(["parity", "--sequential", "--images", "64", "--steps", "2", "--timeout", "120",
                 "--backends", ",".join(ORDER), "--out", str(tmp_path)])
    s = json.loads((tmp_path / "parity.json").read_text())
    assert code == 0 and s["passed"] and s["not_compared"] == {}, s["not_compared"]
    pairs = sorted(c["pair"] for c in s["checks"] if c["check"] == "checkpoint")
    assert pairs == sorted(f"{a} -> {b}" for a in ORDER for b in ORDER for _ in range(2))
    assert "loading the checkpoints saved after" in capsys.readouterr().out
