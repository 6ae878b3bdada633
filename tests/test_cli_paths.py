"""Paths a user takes that had no test: `mnistx info` (table, --json, a backend whose import
fails), `--backend` when Keras is already loaded in the process (the re-run in a child), the CNN
through train and introspect on this backend, and set_tf32."""

import json
import subprocess
import sys
from pathlib import Path
from unittest.mock import ANY

import keras
import pytest

from mnistx import backends, spawn
from mnistx.cli import main
from mnistx.config import ALL_BACKENDS, BACKENDS

ME = keras.backend.backend()
OTHER = next(b for b in BACKENDS if b != ME)


@pytest.mark.only_in("jax")  # info probes every backend in children, whichever leg runs it
def test_info_json_describes_every_installed_backend():
    r = subprocess.run(spawn.mnistx_argv("info", "--json"), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = {row["backend"]: row for row in json.loads(r.stdout)}
    assert set(rows) == set(ALL_BACKENDS) and [b for b in rows if rows[b]["trains"]] == list(BACKENDS)
    for b, row in rows.items():
        if spawn.installed(b):
            assert row["versions"]["keras"] == keras.__version__ and row["device"].startswith(("cpu", "gpu")), row
            assert row["version"] == spawn.version(b) and row["unsupported"] == ({} if row["trains"] else
                                                                                  {"gradients": ANY, "training": ANY})
    table = subprocess.run(spawn.mnistx_argv("info"), capture_output=True, text=True, timeout=300).stdout
    kinds = {line.split()[0]: line.split()[3] for line in table.strip().splitlines()[1:]}
    assert kinds == {**{b: "yes" for b in BACKENDS}, "numpy": "no", "openvino": "no"}, table


@pytest.mark.needs_backends()
def test_info_names_a_backend_whose_import_fails(tmp_path):
    """A broken install (here: a `jax` package that raises on import, first on the path) is named
    with its error, and info exits 1 -- CI can use `mnistx info` as an install check."""
    fake = tmp_path / "jax"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('this jax is broken on purpose')\n")
    env = spawn.child_env(ME, {"PYTHONPATH": str(tmp_path)})
    env.pop("KERAS_BACKEND")
    r = subprocess.run(spawn.mnistx_argv("info", "--json"), capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 1, r.stderr
    rows = {row["backend"]: row for row in json.loads(r.stdout)}
    assert "import failed" in rows["jax"]["error"] and "broken on purpose" in rows["jax"]["error"]
    assert "error" not in rows["torch"] and "error" not in rows["tensorflow"]


@pytest.mark.needs_backends()
def test_backend_flag_reruns_in_a_child_when_keras_is_loaded(tmp_path):
    assert "keras" in sys.modules  # this process is fixed to ME
    run = tmp_path / "run"
    assert main(["train", "--backend", OTHER, "--epochs", "1", "--train-limit", "2000", "--out", str(run)]) == 0
    assert json.loads((run / "meta.json").read_text())["backend"] == OTHER


def test_cnn_trains_and_introspects_here(tmp_path, raw):
    from mnistx import train
    from mnistx.config import IntrospectConfig, TrainConfig
    from mnistx.introspect import introspect_run

    cfg = TrainConfig(model="cnn", epochs=1, train_limit=3000)
    metrics = train.train(cfg, tmp_path / "run", raw=raw, verbose=0)
    assert metrics["test_accuracy"] > 0.8  # 2,400 images, one epoch: far above chance (0.1)
    s = introspect_run(tmp_path / "run", tmp_path / "fig", IntrospectConfig())
    assert s["argmax_agree"] == s["test_images"] == 10_000 and s["max_abs_prob_diff"] < 1e-5
    assert len(s["figures"]) >= 6 and all(Path(f).is_file() for f in s["figures"].values())


@pytest.mark.parametrize("enabled", [True, False])
def test_set_tf32_sets_the_framework_flag(enabled):
    assert backends.set_tf32(enabled) is enabled
    if ME == "tensorflow":
        import tensorflow as tf

        assert tf.config.experimental.tensor_float_32_execution_enabled() is enabled
    elif ME == "jax":
        import jax

        assert jax.config.jax_default_matmul_precision == ("tensorfloat32" if enabled else "highest")
    else:
        import torch

        assert torch.backends.cuda.matmul.allow_tf32 is enabled and torch.backends.cudnn.allow_tf32 is enabled
    backends.set_tf32(False)
