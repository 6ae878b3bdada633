"""`mnistx converge` end to end on real MNIST at small sizes: a planted learning rate or Adam epsilon
on one backend is found (different), identical code is equivalent at the default margin, two seeds
say inconclusive with a number. One leg (tests/conftest.py ONLY_IN): the children span every backend."""

from pathlib import Path

import numpy as np
import pytest

import mnistx
from mnistx import cli, runs

SMALL = ["--seeds", "4", "--epochs", "2", "--train-limit", "1024", "--eval-limit", "1000"]


def test_a_planted_learning_rate_is_different_and_identical_code_equivalent(tmp_path, capsys):
    out = tmp_path / "cv"
    code = cli.main(["converge", *SMALL, "--plant-lr", "1.5", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1, captured.err[-2000:]  # a pair trains differently
    s = runs.read_json(out / "converge.json")
    pairs = {m: {p: c["verdict"] for p, c in v["pairs"].items()} for m, v in s["metrics"].items()}
    assert pairs["test_accuracy"]["tensorflow vs jax"] == "equivalent"  # the same code, default margins
    assert pairs["test_loss"]["tensorflow vs jax"] == "equivalent"
    assert pairs["test_loss"]["tensorflow vs torch"] == "different"  # torch: lr x1.5
    assert pairs["test_loss"]["jax vs torch"] == "different"
    assert s["planted_backend"] == "torch" and s["backends"]["torch"]["runs"][0]["learning_rate"] == \
        pytest.approx(1.5e-3)
    assert s["backends"]["jax"]["runs"][0]["learning_rate"] == pytest.approx(1e-3)
    # every backend started each seed from the same weights and saw the same batches: seed by seed,
    # TensorFlow and JAX end within float noise of each other (no dropout in the MLP)
    tf_acc = [r["curves"]["test_accuracy"][-1] for r in s["backends"]["tensorflow"]["runs"]]
    jax_acc = [r["curves"]["test_accuracy"][-1] for r in s["backends"]["jax"]["runs"]]
    assert np.abs(np.subtract(tf_acc, jax_acc)).max() <= 0.002
    assert len(set(tf_acc)) > 1  # while the seeds differ from each other
    md = (out / "converge.md").read_text()
    assert "self-test" in md and "different" in md and "95% bootstrap interval" in md
    assert (out / "curves.png").stat().st_size > 10_000 and (out / "finals.png").stat().st_size > 10_000
    for b in ("tensorflow", "jax", "torch"):
        assert f"[{b}] seed 4/4 done" in captured.err + captured.out and "ETA" in captured.out + captured.err
    assert not [p for p in (out / "work").rglob("*") if p.suffix in (".h5", ".npz")]  # bulky files pruned


def test_a_planted_adam_epsilon_is_different_through_the_python_api(tmp_path):
    res = mnistx.check_convergence("mlp", backends=("jax", "torch"), seeds=3, epochs=1, train_limit=1024,
                                   eval_limit=1000, plant_epsilon=1e-3, out=tmp_path / "eps",
                                   progress=lambda m: None)
    assert res.verdict("test_loss", "jax vs torch") == "different", res.table()
    assert res.summary["backends"]["torch"]["runs"][0]["epsilon"] == 1e-3
    assert res.summary["backends"]["jax"]["runs"][0]["epsilon"] == 1e-7
    assert "jax vs torch: different" in repr(res)


def test_two_seeds_of_a_dropout_cnn_in_mixed_precision_are_inconclusive_with_a_number(tmp_path, capsys):
    out = tmp_path / "two"
    code = cli.main(["converge", "--model", "cnn", "--backends", "jax,torch", "--seeds", "2", "--epochs", "1",
                     "--train-limit", "512", "--eval-limit", "500", "--dtype-policy", "mixed_float16",
                     "--out", str(out)])
    err = capsys.readouterr().err
    s = runs.read_json(out / "converge.json")
    c = s["metrics"]["test_accuracy"]["pairs"]["jax vs torch"]
    assert c["verdict"] == "inconclusive", c
    assert isinstance(c["seeds_needed"], int) and c["seeds_needed"] > 2
    assert code == 0, err[-2000:]  # nothing different, nothing failed
    for b in ("jax", "torch"):
        assert s["backends"][b]["dtype_policy"] == "mixed_float16"
        assert s["backends"][b]["runs"][0]["optimizer"] == "LossScaleOptimizer"  # Keras's loss scaling
    assert "LossScaleOptimizer" in (out / "converge.md").read_text()


@pytest.mark.parametrize("argv,message", [
    (["--seeds", "1"], "--seeds must be at least 2"),
    (["--backends", "jax"], "at least two"),
    (["--backends", "jax,numpy"], "inference only"),
    (["--margin", "0"], "must be above 0"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--train-limit", "0"], "--train-limit must be at least 1"),
])
def test_bad_settings_are_one_line_and_exit_2_before_any_child(tmp_path, capsys, argv, message):
    out = tmp_path / "bad"
    assert cli.main(["converge", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not Path(out).exists()


def test_compare_with_seeds_adds_the_convergence_section(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = cli.main(["compare", "--backends", "jax,torch", "--epochs", "1", "--train-limit", "512", "--bench", "none",
                     "--parity-images", "100", "--parity-steps", "2", "--seeds", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "convergence: test_accuracy jax vs torch" in printed
    s = runs.read_json(out / "compare.json")
    assert s["converge"]["seeds"] == [1, 2] and set(s["converge"]["backends"]) == {"jax", "torch"}
    assert code in (0, 1)
    if any(v["verdict"] == "different" for v in s["converge"]["verdicts"]):
        assert code == 1  # a pair that trains differently fails the compare
    md = (out / "report.md").read_text()
    assert "## Convergence over seeds" in md and "(converge/curves.png)" in md and (out / "converge/curves.png").is_file()
    page = (out / "report.html").read_text()
    start = page.index("<h2>Convergence over seeds</h2>")
    assert page.count("data:image/png", start) == 2  # curves and finals, embedded
