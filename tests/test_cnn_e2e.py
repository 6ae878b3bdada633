"""The worksheet's CNN (Conv2D, MaxPooling, Dropout) through parity on every backend: forward,
every layer, gradients, trajectory (Dropout off, as parity does) and checkpoints. Children span
backends, so it runs once (in the TensorFlow leg)."""

import pytest

from mnistx.config import BACKENDS, ParityConfig
from mnistx.parity.runner import run_parity

pytestmark = [pytest.mark.e2e, pytest.mark.needs_backends()]


def test_cnn_parity_across_every_backend(tmp_path):
    s = run_parity(ParityConfig(model="cnn", backends=BACKENDS, n_images=64, steps=3, n_activation_images=8),
                   tmp_path, progress=lambda m: None)
    failing = [(c["check"], c["pair"], c["max_abs_diff"]) for c in s["checks"] if not c["passed"]]
    assert s["passed"] and failing == [], failing
    assert s["compared"] == list(BACKENDS)
    names = {c["check"] for c in s["checks"]}
    assert {"outputs", "activations", "grad_weights", "trajectory_weights", "checkpoint"} <= names
    assert any("conv" in r["name"] for r in next(iter(s["layers"].values()))), "the conv layers were traced"
