"""Does a benchmark number explain itself? The bookkeeping checked on planted cases: a 5x epoch
the reconciliation must flag, a mode slower than its cross-check, and a real recompilation on this
backend that the compile counters must count and the flags must name. Speed is never asserted."""

import keras
import numpy as np
import pytest

from mnistx import backends
from mnistx.bench import bookkeeping as B
from mnistx.config import BENCH_CHECKS


def test_epoch_steps_keras_runs_the_partial_batch_native_drops_it():
    assert B.epoch_steps(1000, 32, partial_batch=True) == 32
    assert B.epoch_steps(1000, 32, partial_batch=False) == 31
    assert B.epoch_steps(48000, 32, partial_batch=True) == B.epoch_steps(48000, 32, partial_batch=False) == 1500


def test_reconcile_flags_a_planted_5x_epoch():
    steps, step = 1500, 1e-3
    good = B.reconcile(1.05 * steps * step, steps, step)
    assert good["reconciled"] and good["ratio"] == pytest.approx(1.05)
    bad = B.reconcile(5 * steps * step, steps, step)  # the epoch paid for something the steps did not
    assert not bad["reconciled"] and bad["ratio"] == pytest.approx(5.0)
    assert any("5.00x steps x step" in f for f in B.flags({"reconcile": bad}))
    assert not B.reconcile(2.6, 1500, 1e-3)["reconciled"]  # 1.73x the steps alone
    assert B.reconcile(2.6, 1500, 1e-3, extra_s=1.0)["reconciled"]  # + stated per-epoch work: 1.04x


def test_a_fused_epoch_may_be_faster_than_its_steps_never_slower():
    fast = 0.3 * 1500 * 1e-3  # one compiled loop: no per-call dispatch
    assert not B.reconcile(fast, 1500, 1e-3)["reconciled"]
    assert B.reconcile(fast, 1500, 1e-3, fused=True)["reconciled"]
    assert not B.reconcile(5 * 1.5, 1500, 1e-3, fused=True)["reconciled"]


def test_cross_check_flags_a_mode_slower_than_its_plain_loop():
    limit = BENCH_CHECKS.cross_check_limit
    assert not B.cross_check(limit * 0.99e-3, 1e-3, "loop")["flagged"]
    slow = B.cross_check(2.66e-3, 1e-3, "model.train_on_batch loop")  # the GPT-2 case in the issue
    assert slow["flagged"] and slow["ratio"] == pytest.approx(2.66)
    assert B.flags({"cross_check": slow}) == ["2.66x its cross-check (model.train_on_batch loop, limit 1.25x)"]
    assert B.cross_check(1e-3, 0.0, "loop")["flagged"]  # no check time: never silently passes


def test_delta_and_compiled():
    assert B.delta({"compiles": 3, "graph_breaks": 1}, {"compiles": 5, "graph_breaks": 1}) == {
        "compiles": 2, "graph_breaks": 0}
    assert B.delta({}, {}) == {} and not B.compiled({})
    assert B.compiled({"compiles": 0, "traces": 1}) and not B.compiled({"compiles": 0, "graph_breaks": 2})


def test_first_call_compiles_are_expected_timed_ones_are_flagged():
    mode = {"compiles": {"first_call": {"compiles": 9}, "first_call b=512": {"compiles": 2},
                         "epochs": {"compiles": 0}, "steps b=32": {"compiles": 1}}}
    assert B.flags(mode) == ["steps b=32: 1 compile(s) inside the timed region"]


def test_a_function_dynamo_gave_up_on_is_flagged_even_in_the_first_call():
    """Past dynamo's recompile limit a function runs eager from then on: every later number of the
    mode measured eager code under a jit_compile=True label, so the first call's give-up is flagged too."""
    mode = {"compiles": {"first_call": {"compiles": 3, "gave_up": 1, "gave_up_on": ["step (trainer.py:41)"]},
                         "epochs": {"compiles": 0, "gave_up": 0, "gave_up_on": []}}}
    assert B.flags(mode) == ["first_call: dynamo gave up compiling 1 function(s) (its recompile limit), run eager "
                             "from then on: step (trainer.py:41)"]


def test_delta_takes_the_new_names_of_a_list_counter():
    before = {"compiles": 2, "gave_up": 1, "gave_up_on": ["a (x.py:1)"]}
    after = {"compiles": 5, "gave_up": 2, "gave_up_on": ["a (x.py:1)", "b (y.py:2)"]}
    assert B.delta(before, after) == {"compiles": 3, "gave_up": 1, "gave_up_on": ["b (y.py:2)"]}


def _mlp():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    return model


def test_a_planted_recompilation_is_counted_and_marked():
    """A compiled train step, warm at batch 32, then fed a batch of 48: a new shape builds a new
    graph on every framework. The counters see it; a steady region of batch 32 counts nothing."""
    model = _mlp()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(96, 8)).astype("float32"), rng.normal(size=(96, 3)).astype("float32")
    for _ in range(3):
        model.train_on_batch(x[:32], y[:32])
    before = backends.compilations()
    for _ in range(3):
        model.train_on_batch(x[32:64], y[32:64])
    steady = B.delta(before, backends.compilations())
    assert not B.compiled(steady), steady
    before = backends.compilations()
    model.train_on_batch(x[:48], y[:48])  # planted: a batch shape the step has not seen
    planted = B.delta(before, backends.compilations())
    assert B.compiled(planted), planted
    flags = B.flags({"compiles": {"first_call": {"compiles": 5}, "steps b=32": steady, "epochs": planted}})
    assert len(flags) == 1 and flags[0].startswith("epochs: ") and "inside the timed region" in flags[0], flags


class _PlantedTrainer:
    """A native trainer whose fused epoch loop costs `fused_s` and each step `step_s` (sleeps)."""

    batch_size, epoch_loop = 32, "compiled"

    def __init__(self, fused_s: float, step_s: float):
        self.fused_s, self.step_s = fused_s, step_s

    def train_epoch(self, xs, y):
        import time

        time.sleep(self.fused_s)
        return 0.0

    def train_step(self, xs, y):
        import time

        time.sleep(self.step_s)
        return 0.0

    def reset(self):
        pass


@pytest.mark.parametrize("fused_s, step_s, chosen", [(0.3, 0.0, "python"), (0.0, 0.005, "compiled")])
def test_a_fused_loop_slower_than_its_steps_is_replaced(fused_s, step_s, chosen):
    """XLA:CPU ran ResNetBackbone's lax.scan epoch 14x slower than its own steps: the bench keeps
    whichever loop is faster, and says which (a planted 0.3 s fused loop against instant steps)."""
    from mnistx.bench import modes as M

    model = _mlp()
    mode = M.NativeMode(model, model.get_weights(), 32, M.Task(keras.losses.MeanSquaredError(), False), 1e-3)
    mode.trainer = _PlantedTrainer(fused_s, step_s)
    x, y = [np.zeros((320, 8), "float32")], np.zeros((320, 3), "float32")
    assert mode._choose_loop(x, y) == chosen
    assert mode.trainer.epoch_loop == chosen and mode.settings["loop_choice"]["chosen"] == chosen, mode.settings
    assert mode.loop_choice["steps"] == 10  # the whole epoch: at most 2 x LOOP_PROBE_STEPS steps
    mode.trainer = _PlantedTrainer(fused_s, step_s)
    mode._choose_loop([np.zeros((32 * 40, 8), "float32")], np.zeros((32 * 40, 3), "float32"))
    assert mode.loop_choice["steps"] == M.NativeMode.LOOP_PROBE_STEPS  # 40 steps: the first 16
