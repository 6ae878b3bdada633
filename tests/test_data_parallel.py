"""Data-parallel plumbing without a framework: the launch per backend, the --devices checks, the
N-device vs one-device comparison and the scaling arithmetic (checked against numpy by hand)."""

import numpy as np
import pytest

from mnistx import devices
from mnistx.config import Tolerances
from mnistx.errors import MnistxError
from mnistx.parity import data_parallel as DP
from mnistx.bench.scaling import efficiency_rows

ARGV = ["/py", "-m", "mnistx", "_child", "parity-dp", "/w"]


def test_jax_gets_n_host_devices_and_keeps_the_users_xla_flags(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    argv, env = devices.launch("jax", 2, ARGV)
    assert argv == ARGV and env[devices.DEVICES_ENV] == "2"
    assert env["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_force_host_platform_device_count=2"


def test_torch_runs_n_processes_under_torchrun_sharing_the_cores(monkeypatch):
    monkeypatch.setattr(devices.os, "cpu_count", lambda: 8)
    argv, env = devices.launch("torch", 4, ARGV)
    assert argv[:5] == ["/py", "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=4"]
    assert argv[5:] == ["-m", "mnistx", "_child", "parity-dp", "/w"]
    assert env["OMP_NUM_THREADS"] == "2"  # 8 cores over 4 processes: N=1 and N=4 use the same cores


def test_tensorflow_is_one_process_and_inference_backends_cannot_train():
    assert devices.launch("tensorflow", 2, ARGV) == (ARGV, {devices.DEVICES_ENV: "2"})
    with pytest.raises(MnistxError, match="numpy cannot train"):
        devices.launch("numpy", 2, ARGV)


@pytest.mark.parametrize("n, batches, message", [(0, [], "from 1 to 64"), (65, [], "from 1 to 64"),
                                                 (3, [32], "32 does not split evenly over 3")])
def test_devices_check(n, batches, message):
    with pytest.raises(MnistxError, match=message):
        devices.check(n, batch_sizes=batches)
    assert devices.check(4, batch_sizes=[32, 512]) == 4


def _traj(rng, shift=0.0):
    return {"traj_loss": np.array([2.3, 2.1], np.float32) + shift,
            "traj_curve": rng.normal(size=(2, 5)).astype(np.float32) + shift,
            "traj_w0": np.ones((3, 4), np.float32) + shift, "out_0": np.eye(4, dtype=np.float32)}


def test_compare_pairs_each_backend_with_itself_and_the_n_device_runs_with_each_other():
    rng = np.random.default_rng(0)
    base = _traj(rng)
    single = {"jax": {**base, "noise_traj_w0": np.zeros((3, 4), np.float32)}, "torch": dict(base)}
    far = {k: v + np.float32(1e-2) if k == "traj_w0" else v for k, v in base.items() if k != "out_0"}
    parallel = {"jax": {k: v for k, v in base.items() if k != "out_0"}, "torch": far}
    checks, curves = DP.judge(single, parallel, 2, Tolerances())
    verdict = {(c["pair"], c["check"]): c["passed"] for c in checks}
    assert verdict == {("jax vs jax×2", "trajectory_loss"): True, ("jax vs jax×2", "trajectory_weights"): True,
                       ("torch vs torch×2", "trajectory_loss"): True, ("torch vs torch×2", "trajectory_weights"): False,
                       ("jax×2 vs torch×2", "trajectory_loss"): True, ("jax×2 vs torch×2", "trajectory_weights"): False}
    worst = next(c for c in checks if c["pair"] == "torch vs torch×2" and c["check"] == "trajectory_weights")
    assert worst["max_abs_diff"] == pytest.approx(1e-2, rel=1e-5)  # what numpy says: |1.01 - 1|
    assert set(curves) == {"jax vs jax×2", "torch vs torch×2", "jax×2 vs torch×2"}  # forward keys never compared


def test_scaling_efficiency_is_speedup_over_devices():
    res = {"jax": {"1": {"rows": [{"per_device_batch": 32, "samples_per_s": 1000.0}]},
                   "2": {"rows": [{"per_device_batch": 32, "samples_per_s": 1500.0}]}},
           "torch": {"1": {"error": "failed"}, "2": {"rows": [{"per_device_batch": 32, "samples_per_s": 900.0}]}}}
    rows = {r["backend"]: r for r in efficiency_rows(res, 2)}
    assert rows["jax"]["speedup"] == pytest.approx(1.5) and rows["jax"]["efficiency"] == pytest.approx(0.75)
    assert rows["torch"]["speedup"] is None and rows["torch"]["efficiency"] is None  # no 1-device figure


def test_the_floor_is_the_largest_sensitivity_any_backend_measured():
    """A +-lr Adam flip that only TensorFlow's nudged run showed still counts for torch vs torch×2."""
    lr_flip = np.array([[0.0, 1e-3]], np.float32)
    single = {"tensorflow": {"traj_w0": np.zeros((1, 2), np.float32), "noise_traj_w0": lr_flip},
              "torch": {"traj_w0": np.zeros((1, 2), np.float32), "noise_traj_w0": np.array([[2e-4, 0.0]], np.float32)}}
    assert DP.sensitivity(single)["noise_traj_w0"].tolist() == [[pytest.approx(2e-4), pytest.approx(1e-3)]]
    flipped = {"traj_w0": lr_flip.copy()}
    checks, _ = DP.judge(single, {"torch": flipped}, 2, Tolerances())
    assert [c["passed"] for c in checks] == [True]
    checks, _ = DP.judge({"torch": single["torch"]}, {"torch": flipped}, 2, Tolerances())
    assert [c["passed"] for c in checks] == [False]  # torch's own floor alone (3 x 0 there) does not cover it
