"""The benchmark harness on CPU: statistics on known inputs, sync and warm-up handling, and the
three modes training the same model to the same accuracy. Speed itself is never asserted."""

import json
import re

import keras
import numpy as np
import pytest

from mnistx.bench import bookkeeping
from mnistx.bench import modes as M
from mnistx.bench import stats
from mnistx.bench.report import compare_table, goals
from mnistx.cli import main
from mnistx.config import BenchConfig


def test_summarize_known_values():
    s = stats.summarize(range(1, 101))
    assert s["n"] == 100 and s["median"] == 50.5 and s["min"] == 1 and s["max"] == 100
    assert s["p5"] == pytest.approx(5.95) and s["p95"] == pytest.approx(95.05)
    assert np.isnan(stats.summarize([])["median"])


def test_spread_text_says_n_and_hides_a_degenerate_range():
    assert stats.spread_text(stats.summarize([5.24])) == "5.24 (n=1)"
    assert stats.spread_text(stats.summarize([1.0, 2.0, 3.0])) == "2.00 (1.10-2.90, n=3)"
    assert stats.spread_text(stats.summarize([0.001, 0.002]), 1e3, 3) == "1.500 (1.050-1.950, n=2)"


def test_time_calls_syncs_every_result_and_drops_warmup():
    ticks = iter(range(1000))
    synced, calls = [], []

    def fn():
        calls.append(len(calls))
        return calls[-1]

    out = stats.time_calls(fn, n=4, warmup=3, sync=synced.append, clock=lambda: next(ticks))
    assert synced == [0, 1, 2, 3, 4, 5, 6]  # warm-up results synced too
    assert out == [1, 1, 1, 1] and len(calls) == 7  # only the 4 timed calls, each one clock tick


def test_intervals_skip_and_per():
    assert stats.intervals([0, 10, 12, 15, 19], skip=1, per=2) == [1.0, 1.5, 2.0]


TASK = M.Task(keras.losses.CategoricalCrossentropy(), classifier=True)  # the worksheet's loss


@pytest.fixture(scope="module")
def small(raw):
    from mnistx import data

    return data.worksheet_split(raw, 0.2, train_limit=15000)


def test_modes_reach_the_same_accuracy_band(small):
    """One epoch of 12,000 images in each mode from the same weights: same band (+-0.02)."""
    from mnistx import models

    keras.utils.set_random_seed(0)
    model = models.build("mlp")
    init = model.get_weights()
    acc = {}
    for mode in M.MODES:
        m = M.make(mode, model, init, 32, TASK, BenchConfig().learning_rate)
        m.first_call([small.x_train], small.y_train)
        m.reset()
        m.epoch([small.x_train], small.y_train)
        acc[mode] = model.evaluate(small.x_test, small.y_test, batch_size=1000, verbose=0)[1]
        model.set_weights(init)
    assert min(acc.values()) > 0.85, acc  # 375 steps of batch 32
    assert max(acc.values()) - min(acc.values()) < 0.02, acc


@pytest.mark.parametrize("mode", M.MODES)
def test_reset_replays_the_same_training(small, mode):
    from mnistx import models

    keras.utils.set_random_seed(0)
    model = models.build("mlp")
    init = model.get_weights()
    m = M.make(mode, model, init, 32, TASK, BenchConfig().learning_rate)
    x, y = [small.x_train[:3200]], small.y_train[:3200]
    m.first_call(x, y)
    finals = []
    for _ in range(2):
        m.reset()
        m.epoch(x, y)
        finals.append(model.get_weights()[0])
    np.testing.assert_allclose(finals[0], finals[1], atol=1e-6)
    assert not np.allclose(finals[0], init[0])  # it did train
    times = m.step_times(x, y, n=8, warmup=2)
    assert len(times) >= (3 if m.settings["steps_per_execution"] not in (None, 1) else 8)
    assert all(t > 0 for t in times)


def _summary(backend, epoch_native, epoch_tuned):
    row = dict(backend=backend, model="mlp", step32_ms=1.0, epoch_p5=0, epoch_p95=0, first_call_s=0,
               jit_compile=True)
    return [dict(row, mode="native", epoch_s=epoch_native, keras_over_native=1.0),
            dict(row, mode="keras-tuned", epoch_s=epoch_tuned, keras_over_native=epoch_tuned / epoch_native)]


def test_goals_and_compare():
    s = {"summary": _summary("jax", 0.5, 0.6) + _summary("torch", 2.0, 1.5)}
    g = goals(s)
    assert g["fastest_best"] == "jax native" and g["slowest_best"] == "torch keras-tuned"
    assert g["slowest_best_over_fastest_best"] == pytest.approx(3.0)
    assert g["tuned_over_native"] == {"jax": pytest.approx(1.2), "torch": pytest.approx(0.75)}
    table = compare_table(s, {"summary": _summary("jax", 1.0, 0.6)})
    assert "| jax | mlp | native | 0.500 | 1.000 | 2.00 |" in table


def test_bench_end_to_end_small(tmp_path, backend, capsys):
    """A tiny bench on this backend through the CLI: JSON, table and plots written."""
    code = main(["bench", "--backends", backend, "--epochs", "1", "--out", str(tmp_path), "--platform", "cpu"]
                + ["--quick"])
    s = json.loads((tmp_path / "bench.json").read_text())
    assert code == (0 if s["accuracy"]["passed"] else 1), s["accuracy"]  # 1 only if a mode left the band
    res = s["backends"][backend]
    assert "error" not in res, res
    assert set(res["models"]["mlp"]["modes"]) == set(M.MODES)
    assert res["import"]["how"] == "this child's own first import" and res["import"]["median"] > 0  # --quick
    assert "this child's own first import" in (tmp_path / "bench.md").read_text()
    tuned = res["models"]["mlp"]["modes"]["keras-tuned"]["settings"]
    want = M.tuned_settings(backend, False)[0]  # what keras-tuned asks for on a CPU
    # the reported settings are the ones it ran with (an evaluation compile once overwrote them)
    assert tuned["jit_compile"] == want["jit_compile"], tuned
    assert tuned["step_timing_spe"] == min(want["steps_per_execution"], 50), tuned
    assert s["accuracy"]["passed"] and code == 0, s["accuracy"]
    for mode, r in res["models"]["mlp"]["modes"].items():  # every number explains itself
        assert {"first_call", "epochs", "steps b=32"} <= set(r["compiles"]), (mode, r["compiles"])
        assert not bookkeeping.compiled(r["compiles"]["epochs"]), (mode, r["compiles"])  # MLP: no recompiles
        assert r["reconcile"]["steps"] == 1500 and r["reconcile"]["ratio"] > 0, r["reconcile"]
        assert "cross_check" in r, mode  # keras modes: a train_on_batch loop; native: a hand-written loop
        assert r["cross_check_against"].startswith("hand-written loop: " if mode == "native" else "model.train_on_batch")
    # inference is timed as Keras's default compiles predict (jit_compile="auto": on a CPU, XLA on JAX
    # only), not as the last mode left the model (keras-tuned's jit_compile=True, native after it)
    assert res["models"]["mlp"]["inference_jit_compile"] is (backend == "jax"), res["models"]["mlp"]
    for name in ("bench.md", "bench-epoch.png", "bench-throughput.png", "bench-overhead.png"):
        assert (tmp_path / name).stat().st_size > 0
    md = (tmp_path / "bench.md").read_text()  # --epochs 1: one timed epoch, shown as n=1, not "a (a-a)"
    assert f"| {backend} | mlp | native | " in md and " (n=1) |" in md
    assert re.search(rf"\| {backend} \| mlp \| [\d,]+ \| [\d,]+ \| [\d,]+ \| {backend == 'jax'} \|", md), md
    assert "Does each number explain itself?" in md and md.count(f"| {backend} | mlp | keras-") >= 4
    m = res["models"]["mlp"]  # where the child's time went: its parts lie inside its own wall time
    parts = res["import"]["median"] + m["build_seconds"] + m["inference_seconds"] + sum(
        sum(r["wall_s"].values()) for r in m["modes"].values())
    assert 0 < parts <= res["seconds"] and set(m["modes"]["native"]["wall_s"]) >= {"first_call", "epochs"}
    assert f"| {backend} | mlp | {res['seconds']:.1f} | {res['import']['median']:.1f} |" in md
    assert main(["bench", "compare", str(tmp_path / "bench.json"), str(tmp_path / "bench.json")]) == 0
    assert f"| {backend} | mlp | native |" in capsys.readouterr().out


def test_bench_bad_input(capsys):
    assert main(["bench", "--modes", "turbo"]) == 2
    assert "--modes takes" in capsys.readouterr().err
    assert main(["bench", "compare", "/no/a.json", "/no/b.json"]) == 2


def test_bench_any_model_and_a_mode_that_cannot_run(tmp_path, backend, capsys):
    """A user's two-input regression model on synthetic inputs: every mode runs and reports the
    same test loss after one epoch (same weights, same batches, Adam in each)."""
    code = main(["bench", "--quick", "--backends", backend, "--model", "examples/models/two_inputs.py:build",
                 "--inputs", "synthetic", "--samples", "256", "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr()
    s = json.loads((tmp_path / "bench.json").read_text())
    modes = s["backends"][backend]["models"]["two_inputs.build"]["modes"]
    assert set(modes) == set(M.MODES) and not any("error" in r for r in modes.values()), modes
    losses = [r["test_loss_after_epoch"] for r in modes.values()]
    assert max(losses) - min(losses) < 0.05 * max(losses), losses
    assert all(r["test_accuracy_after_epoch"] is None for r in modes.values())  # regression: no accuracy


def test_keras_tuned_is_chosen_per_device():
    from mnistx.bench.modes import tuned_settings

    assert tuned_settings("jax", gpu=False) == ({"jit_compile": True, "steps_per_execution": 50}, "cpu")
    assert tuned_settings("jax", gpu=True) == ({"jit_compile": True, "steps_per_execution": 1500}, "gpu")
    kw, where = tuned_settings("tensorflow", gpu=True)
    assert kw == tuned_settings("tensorflow", gpu=False)[0] and "unmeasured" in where
    assert tuned_settings("torch", gpu=True)[0]["steps_per_execution"] == 1  # torch refuses more


def test_quick_times_one_step_batch_but_scaling_keeps_two():
    """bench --quick answers with b=32 only; a scaling run of a registry model keeps 32 and 512 per
    device (efficiency depends on the work per step), a KerasHub-sized model stays at 32."""
    assert BenchConfig.quick().step_batch_sizes == (32,)
    assert BenchConfig.quick(devices=2).step_batch_sizes == (32, 512)
    assert BenchConfig.quick(models=("gpt2.py:build",), devices=2).step_batch_sizes == (32,)
