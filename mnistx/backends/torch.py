"""PyTorch side of the adapter (see mnistx/backends/__init__.py for the shared function list)."""

from __future__ import annotations

import numpy as np
import torch

from mnistx.backends._common import cpu_device

EPS = 1e-7  # Keras's epsilon, for the loss clip and Adam
UNSUPPORTED: dict[str, str] = {}  # capability -> reason; this backend can do everything


def versions() -> dict:
    return {"torch": torch.__version__}


def has_gpu() -> bool:
    return torch.cuda.is_available()


def threads() -> int:
    return torch.get_num_threads()


def device() -> str:
    if has_gpu():
        return f"gpu ({torch.cuda.get_device_name(0)})"
    return cpu_device(threads())


def _device():
    return torch.device("cuda" if has_gpu() else "cpu")


def sync(x):
    if has_gpu():
        torch.cuda.synchronize()
    return x


def set_tf32(enabled: bool) -> bool:
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
    return enabled


def gpu_peak_bytes() -> int | None:
    return int(torch.cuda.max_memory_allocated()) if has_gpu() else None


def gradients(model, xs, objective):
    """(objective value, d/d trainable weights, d/d each float input or None) via torch.autograd."""
    from mnistx.backends._common import float_inputs, pack_inputs

    params = [v.value for v in model.trainable_variables]
    dev = params[0].device if params else _device()
    wrt = float_inputs(xs)
    inputs = [torch.as_tensor(np.asarray(x), device=dev) for x in xs]
    for i in wrt:
        inputs[i].requires_grad_(True)
    value = objective(model(pack_inputs(model, inputs), training=False))
    grads = torch.autograd.grad(value, params + [inputs[i] for i in wrt], allow_unused=True)
    as_np = [np.zeros(tuple(t.shape), np.float32) if g is None else g.detach().cpu().numpy()
             for t, g in zip(params + [inputs[i] for i in wrt], grads)]
    gx = as_np[len(params):]
    grads_x = [gx[wrt.index(i)] if i in wrt else None for i in range(len(xs))]
    return float(value.detach().cpu()), as_np[:len(params)], grads_x


class NativeTrainer:
    """The Keras model used as a torch.nn.Module, trained by KerasAdam (Keras's Adam formula).

    Any model and loss: `loss_fn(y, outputs)` (a Keras loss); inputs are a list of arrays.
    `path` says which loop ran, recorded beside every number:
      cuda-graph     (GPU) the whole step -- forward, backward, capturable Adam -- captured once as
                     a CUDA graph on static input buffers and replayed per full batch; one launch
                     per step instead of a chain of small kernels from Python
      torch.compile  the whole step compiled: forward + loss (its backward compiled with it by
                     AOTAutograd) and the KerasAdam update (a second compiled graph, state built
                     eagerly first so the graph never rebuilds); 2-core CPU MLP epoch 1.12-1.46x
                     faster than with the update eager (benchmarks/results/torch-native-adam-cpu.txt)
      eager          where compiling fails (no C++ compiler, a model torch.compile cannot trace)
    A capture that fails falls back to torch.compile/eager from the same weights and fresh Adam
    state; `graph_error` says why.
    """

    epoch_loop = "python"  # train_epoch: a Python loop of compiled steps (bench reconciles epochs with steps by it)

    WARMUP = 3  # eager steps on a side stream before capture (cuDNN/cuBLAS autotuning, allocator)

    def __init__(self, model, loss_fn, learning_rate: float = 1e-3, batch_size: int = 32, compile: bool = True,
                 graphs: bool | None = None):
        self.model, self.loss_fn, self.batch_size, self.lr = model, loss_fn, batch_size, learning_rate
        self.compiled = compile
        self._loss_fn = torch.compile(self._loss) if compile else self._loss
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.device = self.params[0].device if self.params else _device()
        self.opt = self._adam()
        self._opt_step = self.opt.step
        if compile:
            self.opt.init_state()
            self._opt_step = torch.compile(self.opt.step)
        self.graphs = self.device.type == "cuda" if graphs is None else graphs
        self.graph_error: str | None = None
        self._graph = None

    @property
    def path(self) -> str:
        return "cuda-graph" if self._graph is not None else "torch.compile" if self.compiled else "eager"

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
            self.graph_error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
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
        losses = [self._update([x[i:i + bs] for x in xt], yt[i:i + bs]) for i in range(0, len(y) - bs + 1, bs)]
        return float(torch.stack(losses).mean().cpu())

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
            for p in group["params"]:
                if not self.state[p]:
                    self.state[p].update(m=torch.zeros_like(p), v=torch.zeros_like(p),
                                         step=torch.zeros((), dtype=p.dtype, device=p.device))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            ps = [p for p in group["params"] if p.grad is not None]
            if not ps:
                continue
            self.init_state()
            for p in ps:
                self.state[p]["step"].add_(1)
            ms, vs = [self.state[p]["m"] for p in ps], [self.state[p]["v"] for p in ps]
            t, b1, b2 = self.state[ps[0]]["step"], group["beta_1"], group["beta_2"]
            alpha = group["lr"] * torch.sqrt(1 - torch.pow(b2, t)) / (1 - torch.pow(b1, t))
            grads = [p.grad for p in ps]
            torch._foreach_lerp_(ms, grads, 1 - b1)  # m += (g - m) * (1 - b1)
            torch._foreach_lerp_(vs, torch._foreach_mul(grads, grads), 1 - b2)
            den = torch._foreach_add(torch._foreach_sqrt(vs), group["eps"])
            torch._foreach_sub_(ps, torch._foreach_div(torch._foreach_mul(ms, alpha), den))


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


def native_trainer(model, loss_fn, learning_rate: float = 1e-3, batch_size: int = 32) -> NativeTrainer:
    return NativeTrainer(model, loss_fn, learning_rate, batch_size)


def data_parallel(n: int):
    """This framework's own data-parallel engine over n devices (mnistx/backends/distribute/)."""
    from mnistx.backends.distribute.torch import Replicas

    return Replicas(n)


def handwritten_loop(layers, lr: float, batch_size: int):
    """A hand-written PyTorch training loop for a Dense stack (mnistx/backends/handwritten/)."""
    from mnistx.backends.handwritten.torch import Loop

    return Loop(layers, lr, batch_size)


def compilations() -> dict:
    """torch.compile (dynamo) graphs built and graph breaks in this process; 0 when nothing is compiled."""
    from torch._dynamo.utils import counters

    return {"compiles": int(counters["stats"].get("unique_graphs", 0)),
            "graph_breaks": int(sum(counters["graph_break"].values()))}


def op_profile(fn, n: int, top: int = 25) -> str:
    """torch.profiler over n calls of fn: the top ops and compiled regions by own CPU time (a table)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(n):
            fn()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top)
