"""`--devices 2` end to end on this CPU: each framework's own engine (JAX DataParallel over 2 forced
host devices, MirroredStrategy over 2 logical CPUs, DDP over 2 torchrun processes) against one
device and across backends, and the scaling table. (One leg of the matrix: the children span
every backend anyway.)"""

import json

import pytest

from mnistx.cli import main
from mnistx.config import BACKENDS

pytestmark = [pytest.mark.e2e, pytest.mark.needs_backends(*BACKENDS)]
TRAJ = {"trajectory_loss", "trajectory_weights", "trajectory_state"}


def _dp_checks(s):
    return {(c["pair"], c["check"]): c for c in s["checks"] if "×" in c["pair"]}


def test_data_parallel_parity_passes_on_every_engine_on_real_mnist(tmp_path, capsys):
    assert main(["parity", "--devices", "2", "--images", "200", "--steps", "5", "--out", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "parity.json").read_text())
    dp = _dp_checks(s)
    pairs = {p for p, _ in dp}
    assert pairs == {f"{b} vs {b}×2" for b in BACKENDS} | {"tensorflow×2 vs jax×2", "tensorflow×2 vs torch×2",
                                                             "jax×2 vs torch×2"}
    assert {c for _, c in dp} == {"trajectory_loss", "trajectory_weights"} and all(c["passed"] for c in dp.values())
    engines = s["data_parallel"]["engines"]
    assert "DataParallel" in engines["jax"]["engine"] and "MirroredStrategy" in engines["tensorflow"]["engine"]
    assert "DistributedDataParallel (gloo, 2 processes)" in engines["torch"]["engine"]
    assert all(len(e["devices"]) == 2 and e["per_device_batch"] == 16 for e in engines.values())
    assert "## Data-parallel on 2 devices" in (tmp_path / "parity.md").read_text()


def test_a_data_parallel_child_that_fails_fails_the_verdict(tmp_path, capsys, monkeypatch):
    """Every single-device check may pass: a data-parallel child that did not run is still a FAIL
    (exit 1) that names it, never "PASS" with the loss in a line above."""
    monkeypatch.setenv("MNISTX_FAULT", "torch:error@parity-dp")  # only torch's 2-device child fails
    assert main(["parity", "--devices", "2", "--backends", "jax,torch", "--images", "64", "--steps", "3",
                 "--out", str(tmp_path)]) == 1
    s = json.loads((tmp_path / "parity.json").read_text())
    assert s["compared"] == ["jax", "torch"] and s["failed_children"] == ["torch×2"]
    assert all(c["passed"] for c in s["checks"]) and "jax vs jax×2" in {c["pair"] for c in s["checks"]}
    assert "fault injected" in s["not_compared"]["torch×2"]
    assert "FAIL" in (tmp_path / "parity.md").read_text().split("failed to run: torch×2")[0]
    out = capsys.readouterr().out
    assert "parity FAIL:" in out and "but torch×2 not compared" in out


def test_batchnorm_shows_which_engines_split_the_batch(tmp_path, capsys):
    """With BatchNormalization in training mode a split batch is visible: JAX's SPMD program
    normalises over the global batch (equal to one device), MirroredStrategy and DDP over each
    half (both differ from one device by the same amount, and agree with each other). An engine
    that ran the whole batch on every replica (Keras's train_on_batch under MirroredStrategy
    does) would equal one device here and fail this test."""
    assert main(["parity", "--model", "examples/models/subclassed.py:build", "--inputs", "synthetic",
                 "--devices", "2", "--images", "64", "--steps", "4", "--out", str(tmp_path)]) == 1
    s = json.loads((tmp_path / "parity.json").read_text())
    dp = _dp_checks(s)
    ok = lambda pair: all(dp[(pair, c)]["passed"] for c in TRAJ)  # noqa: E731
    bad = lambda pair: not any(dp[(pair, c)]["passed"] for c in TRAJ)  # noqa: E731
    assert ok("jax vs jax×2") and ok("tensorflow×2 vs torch×2")
    assert bad("tensorflow vs tensorflow×2") and bad("torch vs torch×2") and bad("jax×2 vs torch×2")
    assert all(c["passed"] for c in s["checks"] if "×" not in c["pair"])  # one device: every backend agrees
    assert "BatchNormalization" in s["data_parallel"]["batchnorm_note"]
    assert "note: the model has BatchNormalization" in capsys.readouterr().out


def test_bench_scaling_on_one_and_two_devices(tmp_path, capsys):
    assert main(["bench", "--quick", "--devices", "2", "--out", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "scaling.json").read_text())
    assert s["devices"] == 2 and set(s["results"]) == set(BACKENDS)
    for r in s["rows"]:  # the ratios follow from the recorded figures
        one = s["results"][r["backend"]]["1"]
        two = s["results"][r["backend"]]["2"]
        per = {x["per_device_batch"]: x for x in one["rows"]}[r["per_device_batch"]]
        assert r["speedup"] == pytest.approx(r["samples_per_s_n"] / per["samples_per_s"])
        assert r["efficiency"] == pytest.approx(r["speedup"] / 2)
        assert per["global_batch"] == r["per_device_batch"]
        assert {x["per_device_batch"]: x for x in two["rows"]}[r["per_device_batch"]]["global_batch"] == 2 * r["per_device_batch"]
        assert len(two["devices"]) == 2 and two["processes"] == (2 if r["backend"] == "torch" else 1)
    assert len(s["rows"]) == 3 * 2  # three backends x per-device batches 32 and 512
    md = (tmp_path / "scaling.md").read_text()
    assert "| efficiency |" in md and "jit_compile" in md and "versions:" in md
    assert "samples/s" in capsys.readouterr().out
