"""The three execution modes, all on the SAME Keras model object and initial weights.

keras-default  the worksheet's compile() + fit()
keras-tuned    the fastest settings Keras itself offers on that backend (config.TUNED, chosen by
               measurement: see docs/portability.md)
native         a loop written in the framework itself (mnistx.backends.native_trainer)

Every mode offers: first_call(x, y, epochs) (compile/trace, untimed; epochs=False: only what
step timing needs, for the extra batch sizes), reset() (initial weights and fresh
optimizer state), epoch(xs, y) -> seconds, step_times(xs, y, n, warmup) -> seconds per step,
and `settings` (the resolved jit_compile, steps_per_execution). `xs` is a list of input arrays
in the model's input order; any model and Keras loss (`Task`) work in every mode.
"""

from __future__ import annotations

import math
import time

import keras
import numpy as np

from mnistx.backends._common import pack_inputs
from mnistx.bench.stats import intervals
from mnistx.config import BENCH_CHECKS, MODES, TUNED, TUNED_UNMEASURED



def tuned_settings(backend: str, gpu: bool) -> tuple[dict, str]:
    """(compile() settings of keras-tuned, the device they were chosen for: cpu | gpu | gpu (unmeasured))."""
    device = "gpu" if gpu else "cpu"
    return dict(TUNED[device][backend]), device + (" (unmeasured: the CPU choice)" if (device, backend) in TUNED_UNMEASURED else "")


class Task:
    """What a mode trains: the Keras loss and metrics (accuracy for classifiers). A model with
    several outputs trains on every one (mnistx.losses.structured): keras modes compile a loss
    per output and get labels in the outputs' structure (keras_y), native loops get combined()."""

    def __init__(self, loss_fn, classifier: bool, model: keras.Model | None = None):
        from mnistx import losses

        self.compile_loss, struct = losses.structured(model, loss_fn, np.zeros(1)) if model else (loss_fn, None)
        self.several = isinstance(struct, (dict, list, tuple))
        self.loss_fn = losses.combined(loss_fn) if self.several else loss_fn
        self.metrics = ["accuracy"] if classifier and not self.several else []
        self._model, self._first = model, loss_fn

    def keras_y(self, y):
        """Labels as compile()'s losses take them (the outputs' structure for several outputs)."""
        from mnistx import losses

        return losses.structured(self._model, self._first, y)[1] if self.several else y

    def compile(self, model: keras.Model, lr: float, **kw) -> keras.Model:
        model.compile(optimizer=keras.optimizers.Adam(lr), loss=self.compile_loss, metrics=self.metrics, **kw)
        return model


def take(xs: list, sl) -> list:
    return [x[sl] for x in xs]


def cycle_times(call, batches: list, n: int, warmup: int, mark=None) -> list[float]:
    """Seconds per call(xb, yb) over `batches` in turn (warm-up first, then n timed; mark() where
    the timed calls begin). call must return a host value (a float or numpy): the device is synced."""
    from mnistx.bench.stats import time_calls

    it = iter(range(10**9))

    def step():
        xb, yb = batches[next(it) % len(batches)]
        return call(xb, yb)

    return time_calls(step, n, warmup, sync=lambda v: v, mark=mark)


class _Stamps(keras.callbacks.Callback):
    """perf_counter after each train batch (a batch = steps_per_execution steps), after the
    loss is pulled to the host, which waits for the device. mark() runs once, right after stamp
    number `mark_at` (where the timed intervals begin)."""

    def __init__(self, mark=None, mark_at: int = 0):
        super().__init__()
        self.stamps: list[float] = []
        self._mark, self._mark_at = mark, mark_at

    def on_train_begin(self, logs=None):
        self.stamps.append(time.perf_counter())

    def on_train_batch_end(self, batch, logs=None):
        float((logs or {}).get("loss", 0.0))  # sync: the value must exist before the clock reads
        self.stamps.append(time.perf_counter())
        if self._mark and len(self.stamps) - 1 == self._mark_at:
            self._mark()


class KerasMode:
    def __init__(self, model: keras.Model, init_weights: list, batch_size: int, tuned: bool, task: Task,
                 lr: float):
        self.model, self.init, self.batch_size, self.lr, self.task = model, init_weights, batch_size, lr, task
        from mnistx import backends

        self.kw, self.tuned_for = tuned_settings(keras.backend.backend(), backends.has_gpu()) if tuned else ({}, None)
        self.name = "keras-tuned" if tuned else "keras-default"

    @property
    def spe(self) -> int:
        return self.kw.get("steps_per_execution", 1)

    @property
    def settings(self) -> dict:
        return {"jit_compile": getattr(self.model, "jit_compile", None), "steps_per_execution": self.spe,
                "step_timing_spe": getattr(self, "step_timing_spe", self.spe), "tuned_for": self.tuned_for,
                "fit_call": getattr(self, "fit_call", None)}

    def _compile(self, **kw) -> None:
        """compile() with the mode's settings and kw on top, unless the model has them already (a
        new compile() drops the traced train function: torch.compile or XLA would trace it again)."""
        settings = {**self.kw, "steps_per_execution": self.spe, **kw}
        if getattr(self, "_compiled", None) != settings:
            self.task.compile(self.model, self.lr, **settings)
            self._compiled = settings

    def first_call(self, x, y, epochs: bool = True) -> float:
        """Compile, build the optimizer, run a few steps to trace; returns seconds (first call).
        With epochs, also one warm execution timed (fit's fixed cost per call, for the epoch)."""
        self._compiled = None  # another mode may have compiled the model since
        self._compile()
        self.model.optimizer.build(self.model.trainable_variables)
        self._opt_init = [np.array(keras.ops.convert_to_numpy(v)) for v in self.model.optimizer.variables]
        n = self.batch_size * self.spe * 2
        start = time.perf_counter()
        self.model.fit(pack_inputs(self.model, take(x, slice(n))), self.task.keras_y(y[:n]), batch_size=self.batch_size, epochs=1,
                       verbose=0, shuffle=False)
        first = time.perf_counter() - start
        if not epochs:
            return first
        n = min(len(y) // self.batch_size, self.spe) * self.batch_size  # one execution, warm
        start = time.perf_counter()
        self.model.fit(pack_inputs(self.model, take(x, slice(n))), self.task.keras_y(y[:n]), batch_size=self.batch_size, epochs=1,
                       verbose=0, shuffle=False)
        self.fit_call = {"seconds": time.perf_counter() - start, "steps": n // self.batch_size}
        return first

    def reset(self) -> None:
        self.model.set_weights(self.init)
        for var, value in zip(self.model.optimizer.variables, self._opt_init):
            var.assign(value)

    def epoch(self, x, y) -> float:
        start = time.perf_counter()
        self.model.fit(pack_inputs(self.model, x), self.task.keras_y(y), batch_size=self.batch_size, epochs=1,
                       verbose=0, shuffle=False)
        return time.perf_counter() - start  # fit returns host floats: the device is done

    def step_times(self, x, y, n: int, warmup: int, mark=None) -> list[float]:
        """Seconds per step at self.batch_size: stamp intervals / steps per stamp.

        A stamp comes after each execution of steps_per_execution steps. Executions longer than
        n steps run as n steps per execution (settings["step_timing_spe"]), so a large tuned
        steps_per_execution does not make step timing run thousands of steps; call this last.
        fit runs as many epochs over a slice as it takes to get the warm-up plus n steps (at
        least 3 timed stamps); the first stamps are dropped as warm-up."""
        own = min(self.spe, max(1, len(y) // self.batch_size))  # an execution stops at the data's end: where
        spe = self.spe if own <= 2 * n else min(self.spe, max(1, n))  # it is <= 2n steps, no compile again
        self._compile(steps_per_execution=spe)  # the mode's own compile; a new one only for a smaller spe
        self.step_timing_spe = spe
        per = max(1, min(spe, len(y) // self.batch_size))
        warm = 1 + math.ceil(warmup / per)
        need = warm + max(math.ceil(n / per), 3 if per > 1 else n)
        stamps_per_epoch = max(1, min(len(y) // (self.batch_size * per), need))
        size = stamps_per_epoch * per * self.batch_size
        stamps = _Stamps(mark, mark_at=warm)
        self.model.fit(pack_inputs(self.model, take(x, slice(size))), self.task.keras_y(y[:size]), batch_size=self.batch_size,
                       epochs=math.ceil(need / stamps_per_epoch), verbose=0, shuffle=False, callbacks=[stamps])
        return intervals(stamps.stamps, skip=warm, per=per)

    cross_check_against = "model.train_on_batch loop"

    def cross_check_times(self, x, y, n: int, warmup: int, mark=None) -> list[float]:
        """The independent check: seconds per model.train_on_batch call at self.batch_size, under the
        mode's jit_compile (one step per call), timed by the same harness (returns host floats: synced)."""
        self._compile(steps_per_execution=1)
        bs = self.batch_size
        batches = [(pack_inputs(self.model, take(x, slice(i * bs, (i + 1) * bs))), self.task.keras_y(y[i * bs:(i + 1) * bs]))
                   for i in range(max(1, min(len(y) // bs, n + warmup)))]
        return cycle_times(self.model.train_on_batch, batches, n, warmup, mark)


class NativeMode:
    name = "native"

    def __init__(self, model: keras.Model, init_weights: list, batch_size: int, task: Task, lr: float):
        self.model, self.init, self.batch_size, self.lr, self.task = model, init_weights, batch_size, lr, task
        self.trainer = None

    @property
    def settings(self) -> dict:
        compiled = getattr(self.trainer, "compiled", True)  # jax.jit / tf.function(jit_compile) always
        return {"jit_compile": compiled, "steps_per_execution": None,
                "loop": type(self.trainer).__module__ if self.trainer else None,
                "epoch_loop": getattr(self.trainer, "epoch_loop", None),
                "loop_choice": getattr(self, "loop_choice", None),
                "path": getattr(self.trainer, "path", None), "graph_error": getattr(self.trainer, "graph_error", None),
                "fused_error": getattr(self.trainer, "fused_error", None)}

    def first_call(self, x, y, epochs: bool = True) -> float:
        """Build the trainer and trace its step (and with epochs, choose and trace its epoch loop)
        at the timed shapes."""
        from mnistx import backends

        self.model.set_weights(self.init)
        bs = self.batch_size
        start = time.perf_counter()
        self.trainer = backends.native_trainer(self.model, self.task.loss_fn, self.lr, bs)
        for i in range(min(2, max(1, len(y) // bs))):  # two, as the keras modes' first fit (torch GPT-2: 3 graphs more)
            self.trainer.train_step(take(x, slice(i * bs, (i + 1) * bs)), y[i * bs:(i + 1) * bs])
        first = time.perf_counter() - start
        self.reset()
        if epochs and self._choose_loop(x, y) == "compiled":
            self.trainer.train_epoch(x, y)  # traces the whole-epoch loop at the timed shape
        return first

    LOOP_PROBE_STEPS = 16  # batches the fused loop and the stepped loop are compared on

    def _choose_loop(self, x, y) -> str | None:
        """A fused epoch loop (lax.scan, a tf.function loop) that runs slower than its own steps in a
        Python loop is replaced by that loop: both timed warm on the first LOOP_PROBE_STEPS batches
        (the fused one compiled for that length first; the whole epoch where it is at most twice that,
        so the epoch's own loop is compiled once), the weights reset after. Returns the loop."""
        if getattr(self.trainer, "epoch_loop", None) != "compiled":
            return getattr(self.trainer, "epoch_loop", None)
        bs = self.batch_size
        steps = max(1, len(y) // bs)
        k = steps if steps <= 2 * self.LOOP_PROBE_STEPS else self.LOOP_PROBE_STEPS
        px, py = take(x, slice(k * bs)), y[:k * bs]
        self.trainer.train_epoch(px, py)  # compile the fused loop at this length
        start = time.perf_counter()
        self.trainer.train_epoch(px, py)
        fused = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(k):
            self.trainer.train_step(take(x, slice(i * bs, (i + 1) * bs)), y[i * bs:(i + 1) * bs])
        stepped = time.perf_counter() - start
        self.loop_choice = {"steps": k, "fused_s": fused, "stepped_s": stepped, "chosen": "compiled"}
        if fused > BENCH_CHECKS.reconcile_tolerance * stepped:
            self.trainer.epoch_loop = self.loop_choice["chosen"] = "python"
        self.reset()
        return self.trainer.epoch_loop

    def reset(self) -> None:
        self.model.set_weights(self.init)
        self.trainer.reset()

    def epoch(self, x, y) -> float:
        start = time.perf_counter()
        self.trainer.train_epoch(x, y)  # returns a host float: synced
        elapsed = time.perf_counter() - start
        self.trainer.write_back()
        return elapsed

    def step_times(self, x, y, n: int, warmup: int, mark=None) -> list[float]:
        bs = self.batch_size
        batches = [(take(x, slice(i * bs, (i + 1) * bs)), y[i * bs:(i + 1) * bs]) for i in range(max(1, len(y) // bs))]
        times = cycle_times(self.trainer.train_step, batches, n, warmup, mark)  # train_step returns a host float
        self.trainer.write_back()
        return times

    cross_check_against = None  # set by cross_check_times: what it timed, or why nothing

    def cross_check_times(self, x, y, n: int, warmup: int, mark=None) -> list[float] | None:
        """The independent check: seconds per step of a hand-written loop in this framework
        (mnistx/bench/crosscheck.py) from the initial weights on the same batches, timed by the
        same harness (host floats: synced). None, with the reason in cross_check_against, for a
        model the loops do not build (crosscheck.layer_ops: Dense/Conv2D/MaxPooling2D chains)."""
        from mnistx import backends
        from mnistx.bench.crosscheck import layer_ops

        self.model.set_weights(self.init)
        ops, why = layer_ops(self.model, self.task.loss_fn)
        if ops is None:
            self.cross_check_against = "no hand-written loop: " + why
            return None
        loop = backends.handwritten_loop(ops, self.lr, self.batch_size)
        self.cross_check_against = "hand-written loop: " + loop.what
        bs = self.batch_size
        batches = [(x[0][i * bs:(i + 1) * bs], y[i * bs:(i + 1) * bs]) for i in range(max(1, min(len(y) // bs, n + warmup)))]
        return cycle_times(loop.train_step, batches, n, warmup, mark)


def make(mode: str, model, init_weights, batch_size: int, task: Task, lr: float):
    """One timed mode of `model` (Adam at learning rate `lr`, training from `init_weights`)."""
    if mode == "native":
        return NativeMode(model, init_weights, batch_size, task, lr)
    if mode in ("keras-default", "keras-tuned"):
        return KerasMode(model, init_weights, batch_size, tuned=mode == "keras-tuned", task=task, lr=lr)
    raise ValueError(f"unknown mode {mode}; choose from {MODES}")
