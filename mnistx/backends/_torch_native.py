"""PyTorch's native training loop: the Keras model trained by Keras's Adam formula from torch.

The step is one compiled graph where torch.compile can trace it (forward, backward and the Adam
update), one CUDA graph on a GPU, else the earlier two graphs or eager; `NativeTrainer.path` says
which ran. Used through mnistx.backends.native_trainer (torch.py)."""

from __future__ import annotations

import numpy as np
import torch

EPS = 1e-7  # Keras's epsilon, for the loss clip and Adam


def _device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


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
                     (`fused_error` says why; KerasHub GPT-2: "Failed to trace builtin operator")
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
        self._loss_fn = torch.compile(self._loss) if compile else self._loss
        # The Keras variables themselves: Keras 3.15's torch backend registers none of a KerasHub
        # model's variables as torch parameters until fit() has run (model.parameters() is empty)
        self.params = [v.value for v in model.trainable_variables]
        self.device = self.params[0].device if self.params else _device()
        self.opt = self._adam()
        self._opt_step = self.opt.step
        if compile:
            self.opt.init_state()
            self._opt_step = torch.compile(self.opt.step)
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
        self._fused = torch.compile(self._one_step, fullgraph=True)

    def _one_step(self, tv, ms, vs, t, ntv, xs, y):
        """One whole training step, traced into one graph: returns the batch loss (a 0-d tensor)."""
        from mnistx.backends._common import pack_inputs

        def loss_of(values):
            out, new_ntv = self.model.stateless_call(values, ntv, pack_inputs(self.model, list(xs)), training=True)
            return self.loss_fn(y, out), new_ntv

        grads, (loss, new_ntv) = torch.func.grad_and_value(loss_of, has_aux=True)(tv)
        with torch.no_grad():
            t.add_(1)
            _keras_adam_(tv, list(grads), ms, vs, t, self.opt.param_groups[0])
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
        _zero_state(self.opt)  # in place: a CUDA graph or the compiled Adam holds these tensors

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
        _zero_state(opt)
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
            self._chunk = torch.compile(self._many_steps, fullgraph=True)
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


class KerasAdam(torch.optim.Optimizer):
    """Adam with Keras's formula, so the native loop follows `fit` step by step:
    alpha = lr * sqrt(1 - b2^t) / (1 - b1^t); w -= alpha * m / (sqrt(v) + eps).
    torch.optim.Adam adds eps after the bias correction (sqrt(v / (1 - b2^t)) + eps): the same
    model then drifts from Keras's trajectory wherever gradients are tiny (measured: a 0.024 loss
    difference after 12 MLP steps). Tensor ops only, step count on the device: graph-safe."""

    def __init__(self, params, lr: float = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999, eps: float = EPS):
        super().__init__(params, {"lr": lr, "beta_1": beta_1, "beta_2": beta_2, "eps": eps})

    @torch.no_grad()
    def init_state(self) -> None:
        """Moments and step count for every parameter now (a compiled step then never builds them)."""
        for group in self.param_groups:
            step = None  # one step count per group, shared by its parameters (Keras's `iterations`)
            for p in group["params"]:
                if not self.state[p]:
                    step = step if step is not None else torch.zeros((), dtype=p.dtype, device=p.device)
                    self.state[p].update(m=torch.zeros_like(p), v=torch.zeros_like(p), step=step)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            ps = [p for p in group["params"] if p.grad is not None]
            if not ps:
                continue
            self.init_state()
            t = self.state[ps[0]]["step"]  # the group's one count (init_state shares it)
            t.add_(1)
            _keras_adam_(ps, [p.grad for p in ps], [self.state[p]["m"] for p in ps],
                         [self.state[p]["v"] for p in ps], t, group)


def _keras_adam_(ws, grads, ms, vs, t, group) -> None:
    """Keras's Adam update in place on lists of weights and moments, at step count t (a 0-d tensor,
    already counting this step): the one formula of KerasAdam.step and the one-graph step."""
    b1, b2 = group["beta_1"], group["beta_2"]
    alpha = group["lr"] * torch.sqrt(1 - torch.pow(b2, t)) / (1 - torch.pow(b1, t))
    torch._foreach_lerp_(ms, grads, 1 - b1)  # m += (g - m) * (1 - b1)
    torch._foreach_lerp_(vs, torch._foreach_mul(grads, grads), 1 - b2)
    den = torch._foreach_add(torch._foreach_sqrt(vs), group["eps"])
    torch._foreach_sub_(ws, torch._foreach_div(torch._foreach_mul(ms, alpha), den))


def _restore(params, saved) -> None:
    with torch.no_grad():
        for p, s in zip(params, saved):
            p.copy_(s)
            p.grad = None


def _zero_state(opt) -> None:
    """Fresh Adam state in place (moments and step count to zero)."""
    with torch.no_grad():
        for state in opt.state.values():
            for value in state.values():
                if torch.is_tensor(value):
                    value.zero_()


