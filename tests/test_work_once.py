"""Work done once (the wall-time cuts of the benchmark-trust issue, item 4): a keras mode keeps its
own compile() through step timing and its cross-check, the held-out loss is what Keras's evaluate()
computes, the extra batch sizes only trace their step, and a probe serves the next job of the
same model. Compared with what the work computed before, never timed."""

import keras
import numpy as np
import pytest

from mnistx import losses, models
from mnistx.bench import modes as M
from mnistx.bench.worker import held_out
from mnistx.config import BenchConfig

LR = BenchConfig().learning_rate


def _task(model):
    return M.Task(losses.make({"name": "categorical_crossentropy", "from_logits": False}, model), True, model)


@pytest.fixture()
def mlp_data(rng=np.random.default_rng(0)):
    x = rng.random((640, 28, 28), np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 640)]
    return [x], y


@pytest.mark.parametrize("n", [8, 32])
@pytest.mark.parametrize("mode", ["keras-default", "keras-tuned"])
def test_a_keras_mode_compiles_once_for_its_epoch_steps_and_cross_check(mlp_data, mode, n):
    """Each compile() drops the traced train function (torch.compile traced Keras's step again: 10-25 s
    per compile on GPT-2). The worker used to evaluate under a plain compile, so step timing compiled
    again; now only a smaller steps_per_execution compiles again, and only where one of the mode's own
    executions is over 2n steps (an execution stops at the data's end: 20 steps here)."""
    keras.utils.set_random_seed(0)
    model = models.build("mlp")
    x, y = mlp_data
    m = M.make(mode, model, model.get_weights(), 32, _task(model), LR)
    calls = []
    compile_ = m.task.compile
    m.task.compile = lambda *a, **kw: (calls.append(kw.get("steps_per_execution", 1)), compile_(*a, **kw))[1]
    m.first_call(x, y)
    m.reset()
    m.epoch(x, y)
    held_out(model, m.task, x, y)
    m.step_times(x, y, n=n, warmup=2)
    m.cross_check_times(x, y, n=n, warmup=2)
    spe = m.spe
    timing = spe if min(spe, len(y) // 32) <= 2 * n else min(spe, n)
    want = [spe] + ([timing] if timing != spe else []) + ([1] if timing != 1 else [])
    assert calls == want, calls


def test_the_native_first_call_traces_two_steps_then_starts_again(mlp_data, monkeypatch):
    """The native mode's first call runs two steps, as the keras modes' first fit does: torch's loop on
    KerasHub GPT-2 traced 3 more graphs on its second step, inside the first timed epoch ("recompiled").
    Then it starts again from the initial weights, so the timed epochs train from them."""
    from mnistx import backends

    keras.utils.set_random_seed(0)
    model = models.build("mlp")
    init = model.get_weights()
    x, y = mlp_data
    seen, real = [], backends.native_trainer

    def counting(*args, **kw):
        trainer = real(*args, **kw)
        step = trainer.train_step
        trainer.train_step = lambda xs, ys: (seen.append(len(ys)), step(xs, ys))[1]
        return trainer

    monkeypatch.setattr(backends, "native_trainer", counting)
    m = M.make("native", model, init, 32, _task(model), LR)
    assert m.first_call(x, y, epochs=False) > 0
    assert seen == [32, 32]
    for got, want in zip(model.get_weights(), init):
        np.testing.assert_array_equal(got, want)


def test_held_out_is_what_keras_evaluate_computes(mlp_data):
    """The bench's test loss and accuracy after the timed epochs, computed outside every compiled
    function, against model.evaluate() with the same loss and metric (float32: 1e-5)."""
    keras.utils.set_random_seed(0)
    model = models.build("mlp")
    x, y = mlp_data
    task = _task(model)
    loss, acc = held_out(model, task, x, y, batch_size=256)  # 640 = 256 + 256 + 128: a partial last batch
    task.compile(model, LR)
    ev = model.evaluate(x[0], y, batch_size=256, verbose=0, return_dict=True)
    assert loss == pytest.approx(ev["loss"], rel=1e-5) and acc == pytest.approx(ev["accuracy"], abs=1e-6)
    ids = y.argmax(-1)  # class ids: the same accuracy
    sparse = M.Task(losses.make({"name": "sparse_categorical_crossentropy", "from_logits": False}, model), True, model)
    loss2, acc2 = held_out(model, sparse, x, ids)
    assert loss2 == pytest.approx(loss, rel=1e-5) and acc2 == acc


def test_the_native_loop_is_chosen_only_at_the_epochs_batch_size(mlp_data):
    """The bench's extra batch sizes time steps only: their first call traces the step, not a
    fused epoch loop (torch: a 4-step chunk compiled for 19 s at b=512, never used)."""
    keras.utils.set_random_seed(0)
    model = models.build("mlp")
    x, y = mlp_data
    steps_only = M.make("native", model, model.get_weights(), 64, _task(model), LR)
    steps_only.first_call(x, y, epochs=False)
    assert steps_only.settings["loop_choice"] is None
    assert len(steps_only.step_times(x, y, n=4, warmup=1)) == 4
    full = M.make("native", model, model.get_weights(), 32, _task(model), LR)
    full.first_call(x, y)  # every backend's native loop fuses the MLP's epoch: 20 steps, chosen on all
    assert full.settings["loop_choice"]["steps"] == 20, full.settings


def test_a_probe_serves_the_next_job_of_the_same_model(tmp_path, monkeypatch):
    """compare probes the model once; its parity and benchmark stages reuse what the probe wrote
    when they would probe the same thing (same settings), and probe again when they would not."""
    from mnistx import prepare as P

    first = P.prepare("mlp", tmp_path / "check", ["jax"], None, "synthetic", 64, 64, progress=lambda m: None)
    said = []

    def no_probe(*a, **kw):
        raise AssertionError("a probe child started")

    monkeypatch.setattr(P, "run_probe", no_probe)
    again = P.prepare("mlp", tmp_path / "parity", ["jax", "torch"], None, "synthetic", 500, 64,
                      progress=said.append, probed=first.workdir)
    assert any("as probed before" in s for s in said), said
    assert again.info["backend"] == first.info["backend"] == "jax" and again.info["params"] == first.info["params"]
    assert again.reference.read_bytes() == first.reference.read_bytes()  # the same reference weights
    assert len(again.inputs.eval_y) == 500  # the job's own inputs, fitted to the probed spec
    with pytest.raises(AssertionError, match="a probe child started"):  # another seed: probe again
        P.prepare("mlp", tmp_path / "bench", ["jax"], None, "synthetic", 64, 64, seed=7, progress=lambda m: None,
                  probed=first.workdir)
