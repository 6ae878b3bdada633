"""End to end on real MNIST: the worksheet on this backend, and its run read by the others."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from mnistx import runs
from mnistx.config import BACKENDS

pytestmark = pytest.mark.e2e


def test_worksheet_accuracy_and_run_dir(worksheet_run, backend):
    run_dir, metrics = worksheet_run
    assert metrics["test_accuracy"] >= 0.965, metrics
    assert len(metrics["seconds_per_epoch"]) == 5
    for name in runs.RUN_FILES:
        assert (run_dir / name).stat().st_size > 0, name
    meta = runs.read_json(run_dir / "meta.json")
    assert meta["backend"] == backend and meta["versions"]["keras"] and meta["device"]
    history = runs.read_json(run_dir / "history.json")
    assert len(history["val_accuracy"]) == 5 and history["loss"][-1] < history["loss"][0]
    assert not list(run_dir.glob(".*"))  # no temp files left behind


def test_introspect_every_figure(worksheet_run, raw, tmp_path):
    from mnistx.introspect import FIGURES, introspect_run

    run_dir, metrics = worksheet_run
    s = introspect_run(run_dir, tmp_path)
    assert set(s["figures"]) == set(FIGURES)
    for path in s["figures"].values():
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert s["argmax_agree"] == 10000  # same backend, same weights
    assert s["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-4)


def test_the_worksheet_run_draws_every_panel(worksheet_run, raw):
    from mnistx import runs as r
    from mnistx.config import IntrospectConfig
    from mnistx.introspect import figures_for, load_run_model, read_run_data

    run_dir, _ = worksheet_run
    model = load_run_model(run_dir)
    probs = np.load(run_dir / "test_probs.npy")
    run = read_run_data(run_dir, r.read_json(run_dir / "meta.json"))
    assert run.xs[0].shape == (10_000, 28, 28) and np.array_equal(run.y, raw.y_test)  # all of MNIST's test set
    assert np.array_equal(np.round(run.sample_x[:10] * 255), raw.x_train[:10])  # the first training images, as the worksheet
    figs, skipped = figures_for(model, run, probs, r.read_json(run_dir / "history.json"), True, IntrospectConfig())
    assert skipped == {}  # a training backend has gradients: saliency too
    panels = {k: len(f.axes) for k, f in figs.items()}
    assert panels == {"samples": 10, "weights": 10, "confidence": 2, "misclassified": 10, "curves": 2,
                      "confusion": 2, "saliency": 10}


@pytest.mark.parametrize("other", [pytest.param(b, marks=pytest.mark.needs_backends(b))
                                   for b in BACKENDS if b != keras.backend.backend()])
def test_run_loads_in_other_backend_with_same_predictions(worksheet_run, backend, other, tmp_path):
    run_dir, _ = worksheet_run
    out = subprocess.run([sys.executable, "-m", "mnistx", "introspect", str(run_dir), "--backend", other,
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    s = json.loads((tmp_path / "introspect.json").read_text())
    assert s["backend"] == other and s["trained_on"] == backend
    assert s["argmax_agree"] == 10000
    assert s["max_abs_prob_diff"] < 1e-5
