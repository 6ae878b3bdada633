"""PyTorch's native training loop: the Keras model trained by Keras's Adam formula from torch.

The step is one compiled graph where torch.compile can trace it (forward, backward and the Adam
update), one CUDA graph on a GPU, else the earlier two graphs or eager; `NativeTrainer.path` says
which ran. Used through mnistx.backends.native_trainer (torch.py)."""

from __future__ import annotations

import inspect
import types

import numpy as np
import torch

from mnistx.backends._torch_adam import KerasAdam, keras_adam_, zero_state
from mnistx.backends._torch_traceable import keras_traceable


def _device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


ISOLATE = "isolate_recompiles" in inspect.signature(torch.compile).parameters  # torch >= 2.13


def own_compile(method, **kw):
    """torch.compile(method) with a dynamo cache of its own. Dynamo counts recompiles per code
    object, and every NativeTrainer compiles the same methods: without this the 9th trainer in a
    process hit the limit (8): its one-graph step failed (FailOnRecompileLimitHit) and a step
    compiled without fullgraph would have run eager unnoticed. torch >= 2.13: isolate_recompiles;
    older: a copy of the method's code.
    Static shapes (a trainer runs one batch size): dynamo otherwise made the batch dimension
    symbolic once it saw a second size in the process, and functorch's dropout fails on symbolic
    sizes ("Cannot call numel() on tensor with symbolic sizes"), so the CNN's second trainer fell back."""
    kw.setdefault("dynamic", False)
    if ISOLATE:
        return torch.compile(method, isolate_recompiles=True, **kw)
    f = method.__func__
    own = types.FunctionType(f.__code__.replace(), f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    return torch.compile(types.MethodType(own, method.__self__), **kw)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


class NativeTrainer:
    """The Keras model used as a torch.nn.Module, trained by KerasAdam (Keras's Adam formula).

    Any model and loss: `loss_fn(y, outputs)` (a Keras loss); inputs are a list of arrays.
    `path` says which step ran, recorded beside every number:
      cuda-graph     (GPU) the whole step -- forward, backward, capturable Adam -- captured once as
                     a CUDA graph on static input buffers and replayed per full batch
      compiled-step  (CPU) the whole step as ONE torch.compile graph: torch.func.grad_and_value over
                     model.stateless_call, then Keras's Adam in place on the weights and moments; no
                     autograd engine or optimizer call between graphs. 2-core MLP epoch 0.90-0.99 s
                     against 1.44 s for the two graphs below (docs/performance.md)
      torch.compile  forward + loss compiled (AOTAutograd compiles its backward) and the KerasAdam
                     update as a second graph: where the one-graph step cannot be traced
                     (`fused_error` says why; of benchmarks/atlas_models.py, Gemma, Whisper and
                     ResNet; the other 15 KerasHub models trace since Keras code dynamo cannot trace
                     is swapped during the step, _torch_traceable.py)
      eager          where compiling fails (no C++ compiler, a model torch.compile cannot trace)
    `epoch_loop` "compiled": train_epoch runs CHUNK_STEPS steps per compiled call (the step
    unrolled), for small models only (<= CHUNK_MAX_TENSORS weight tensors), where the ~0.3 ms per
    call is a large share of the step; "python": one call per step. A capture that fails falls
    back from the same weights and fresh Adam state; `graph_error` says why.
    """

    CHUNK_STEPS = 4  # steps per compiled call in train_epoch (MLP: 0.71 s/epoch, first call 14 s; 10: 0.60 s, 34 s)
    CHUNK_MAX_TENSORS = 16  # chunk only models with at most this many weight tensors (the MLP has 6)
    WARMUP = 3  # eager steps on a side stream before capture (cuDNN/cuBLAS autotuning, allocator)

    def __init__(self, model, loss_fn, learning_rate: float = 1e-3, batch_size: int = 32, compile: bool = True,
                 graphs: bool | None = None):
        self.model, self.loss_fn, self.batch_size, self.lr = model, loss_fn, batch_size, learning_rate
        self.compiled = compile
        self._loss_fn = own_compile(self._loss) if compile else self._loss
        # The Keras variables themselves: Keras 3.15's torch backend registers none of a KerasHub
        # model's variables as torch parameters until fit() has run (model.parameters() is empty)
        self.params = [v.value for v in model.trainable_variables]
        self.device = self.params[0].device if self.params else _device()
        self.opt = self._adam()
        self._opt_step = self.opt.step
        if compile:
            self.opt.init_state()
            self._opt_step = own_compile(self.opt.step)
        self.graphs = self.device.type == "cuda" if graphs is None else graphs
        self.graph_error: str | None = None
        self._graph = None
        self.fused_error: str | None = None if compile else "compile=False"
        self._fused = self._chunk = self.chunk_error = None
        if compile and not self.graphs:
            self._fused_state()
        small = self._fused is not None and len(self.params) <= self.CHUNK_MAX_TENSORS
        self.epoch_loop = "compiled" if small else "python"

    @property
    def path(self) -> str:
        if self._graph is not None:
            return "cuda-graph"
        return "compiled-step" if self._fused is not None else "torch.compile" if self.compiled else "eager"

    def _fused_state(self) -> None:
        """What the one-graph step updates in place: weights (detached views of the Keras
        variables), KerasAdam's moments and its one step count, non-trainable variables."""
        import keras

        try:
            state = self.opt.state
            self._tv = [v.value.detach() for v in self.model.trainable_variables]
            self._ms = [state[v.value]["m"] for v in self.model.trainable_variables]
            self._vs = [state[v.value]["v"] for v in self.model.trainable_variables]
            self._t = state[self.params[0]]["step"] if self.params else None
            self._ntv = [v.value.detach() for v in self.model.non_trainable_variables]
        except (KeyError, AttributeError, IndexError) as exc:  # weights torch does not see as parameters
            self.fused_error = _first_line(exc)
            return
        with keras.StatelessScope():  # Keras sets its scope attribute on first use: a guard that would recompile
            pass
        self._fused = own_compile(self._one_step, fullgraph=True)

    def _one_step(self, tv, ms, vs, t, ntv, xs, y):
        """One whole training step, traced into one graph: returns the batch loss (a 0-d tensor)."""
        from mnistx.backends._common import pack_inputs

        def loss_of(values):
            out, new_ntv = self.model.stateless_call(values, ntv, pack_inputs(self.model, list(xs)), training=True)
            return self.loss_fn(y, out), new_ntv

        grads, (loss, new_ntv) = torch.func.grad_and_value(loss_of, has_aux=True)(tv)
        with torch.no_grad():
            t.add_(1)
            keras_adam_(tv, list(grads), ms, vs, t, self.opt.param_groups[0])
            for old, new in zip(ntv, new_ntv):
                old.copy_(new)
        return loss.detach()

    def _many_steps(self, tv, ms, vs, t, ntv, xs, y):
        """CHUNK_STEPS whole steps in one graph; xs, y hold CHUNK_STEPS batches on a leading axis."""
        return torch.stack([self._one_step(tv, ms, vs, t, ntv, [x[k] for x in xs], y[k])
                            for k in range(self.CHUNK_STEPS)])

    def _fused_steps(self, xs, y, many: bool = False):
        """The one-graph step (or CHUNK_STEPS of them); None where it cannot run: then the two-graph
        path takes over from the same weights (a traced graph that fails ran nothing)."""
        fn = self._chunk if many else self._fused
        try:
            with keras_traceable():  # Keras helpers dynamo cannot trace, swapped on every call (its guards)
                return fn(self._tv, self._ms, self._vs, self._t, self._ntv, xs, y)
        except Exception as exc:
            if many:
                self.epoch_loop, self._chunk, self.chunk_error = "python", None, _first_line(exc)
            else:
                self.fused_error, self._fused, self.epoch_loop = _first_line(exc), None, "python"
            return None

    def _adam(self):
        return KerasAdam(self.params, lr=self.lr)

    def reset(self) -> None:
        """Start again from the Keras model's current weights with fresh Adam state."""
        zero_state(self.opt)  # in place: a CUDA graph or the compiled Adam holds these tensors

    def _loss(self, xs, y):
        from mnistx.backends._common import pack_inputs

        return self.loss_fn(y, self.model(pack_inputs(self.model, list(xs)), training=True))

    def _capture(self, xs, y) -> None:
        """Capture one whole training step on copies of (xs, y); weights and Adam state are
        restored afterwards, so the trajectory is the eager loop's."""
        saved = [p.detach().clone() for p in self.params]
        try:
            opt = self._adam()
            sx, sy = [x.clone() for x in xs], y.clone()
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(self.WARMUP):
                    opt.zero_grad(set_to_none=True)
                    self._loss(sx, sy).backward()
                    opt.step()
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            opt.zero_grad(set_to_none=True)
            with torch.cuda.graph(graph):
                sloss = self._loss(sx, sy)
                sloss.backward()
                opt.step()
        except Exception as exc:  # capture unsupported for this model/build: the eager loop stays
            self.graph_error = _first_line(exc)
            _restore(self.params, saved)
            self.opt = self._adam()
            return
        _restore(self.params, saved)
        zero_state(opt)
        self.opt, self._graph, self._static = opt, graph, (sx, sy, sloss)

    def _update(self, xs, y):
        if self.graphs and self._graph is None and self.graph_error is None and len(y) == self.batch_size:
            self._capture(xs, y)
        if self._graph is not None and len(y) == self.batch_size:
            sx, sy, sloss = self._static
            for s, x in zip(sx, xs):
                s.copy_(x)
            sy.copy_(y)
            self._graph.replay()
            return sloss.detach().clone()
        if self._fused is not None:
            loss = self._fused_steps(xs, y)
            if loss is not None:
                return loss
        try:
            loss = self._loss_fn(xs, y)
        except Exception:  # torch.compile unavailable here: stay correct, run eager
            if not self.compiled:
                raise
            self.compiled, self._loss_fn = False, self._loss
            loss = self._loss(xs, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        try:
            self._opt_step()
        except Exception:  # the compiled update failed before changing anything: run it eager
            if self._opt_step == self.opt.step:
                raise
            self._opt_step = self.opt.step
            self.opt.step()
        return loss.detach()

    def _tensors(self, xs, y):
        return ([torch.as_tensor(np.asarray(x), device=self.device) for x in xs],
                torch.as_tensor(np.asarray(y), device=self.device))

    def train_step(self, xs, y) -> float:
        return float(self._update(*self._tensors(xs, y)).cpu())

    def train_epoch(self, xs, y) -> float:
        """All full batches of (xs, y) in order; returns the mean loss."""
        bs = self.batch_size
        xt, yt = self._tensors(xs, y)
        n, losses, i = len(y) // bs, [], 0
        if self.epoch_loop == "compiled" and self._chunk is None:
            self._chunk = own_compile(self._many_steps, fullgraph=True)
        span = bs * self.CHUNK_STEPS
        while self.epoch_loop == "compiled" and i + self.CHUNK_STEPS <= n:
            chunk = self._fused_steps([x[i * bs:i * bs + span].reshape(self.CHUNK_STEPS, bs, *x.shape[1:]) for x in xt],
                                      yt[i * bs:i * bs + span].reshape(self.CHUNK_STEPS, bs, *yt.shape[1:]), many=True)
            if chunk is None:
                break
            losses.append(chunk)
            i += self.CHUNK_STEPS
        losses += [self._update([x[j * bs:(j + 1) * bs] for x in xt], yt[j * bs:(j + 1) * bs]).reshape(1) for j in range(i, n)]
        return float(torch.cat(losses).mean().cpu())

    def write_back(self) -> None:
        """Nothing to copy: torch updated the Keras variables' storage in place."""


def _restore(params, saved) -> None:
    with torch.no_grad():
        for p, s in zip(params, saved):
            p.copy_(s)
            p.grad = None
