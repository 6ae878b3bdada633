"""JAX side of the adapter (see mnistx/backends/__init__.py for the shared function list)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mnistx.backends._common import adam_update, cpu_device, seed_loaded
from mnistx.backends._common import save_without_tf_probe as save_model  # noqa: F401 (FUNCTIONS: TensorFlow unloaded)

EPS = 1e-7  # Keras's epsilon, for the loss clip and Adam
UNSUPPORTED: dict[str, str] = {}  # capability -> reason; this backend can do everything


def versions() -> dict:
    from importlib.metadata import version

    return {"jax": jax.__version__, "jaxlib": version("jaxlib")}


def has_gpu() -> bool:
    return jax.default_backend() == "gpu"


def threads() -> int:
    import os

    return os.cpu_count() or 1  # XLA:CPU uses one thread per core


def device() -> str:
    d = jax.devices()[0]
    return f"gpu ({d.device_kind})" if has_gpu() else cpu_device(threads())


def sync(x):
    return jax.block_until_ready(x)


def set_tf32(enabled: bool) -> bool:
    jax.config.update("jax_default_matmul_precision", "tensorfloat32" if enabled else "highest")
    return enabled


def gpu_peak_bytes() -> int | None:
    if not has_gpu():
        return None
    return int((jax.devices()[0].memory_stats() or {}).get("peak_bytes_in_use", 0)) or None


def gradients(model, xs, objective):
    """(objective value, d/d trainable weights, d/d each float input or None) via a jitted
    jax.value_and_grad on stateless_call; `xs` is a list of arrays in the model's input order."""
    from mnistx.backends._common import float_inputs, pack_inputs

    trainable = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]
    xs = [jnp.asarray(x) for x in xs]
    wrt = float_inputs(xs)

    def f(tv, diff, fixed):
        full = [diff[wrt.index(i)] if i in wrt else fixed[i] for i in range(len(xs))]
        out, _ = model.stateless_call(tv, frozen, pack_inputs(model, full), training=False)
        return objective(out)

    fixed = [None if i in wrt else x for i, x in enumerate(xs)]
    value, (gw, gx) = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))(trainable, [xs[i] for i in wrt], fixed)
    grads_x = [np.asarray(gx[wrt.index(i)]) if i in wrt else None for i in range(len(xs))]
    return float(value), [np.asarray(g) for g in gw], grads_x


class NativeTrainer:
    """A jax.jit + lax.scan training loop around `model.stateless_call`, with Keras-formula Adam.

    Any model and loss: `loss_fn(y, outputs)` (a Keras loss: its ops are jax ops here); inputs
    are a list of arrays in the model's input order."""

    # train_epoch: "compiled" = one lax.scan over the epoch; "python" = a Python loop of the compiled
    # step, chosen by the bench where the fused loop measured slower (XLA:CPU runs convolutions inside
    # a while loop ~14x slower: ResNetBackbone 13.8 s against 32 x 28.9 ms); bench reconciles by it
    epoch_loop = "compiled"
    graph_error = None

    @property
    def path(self) -> str:
        """The loop recorded beside every number (torch: cuda-graph / torch.compile / eager)."""
        return "jax.jit + lax.scan" if self.epoch_loop == "compiled" else "jax.jit per step"

    def __init__(self, model, loss_fn, learning_rate: float = 1e-3, batch_size: int = 32):
        self.model, self.loss_fn, self.lr, self.batch_size = model, loss_fn, learning_rate, batch_size
        self.reset()
        self._step = jax.jit(self._update)
        self._epoch = jax.jit(self._scan)

    def reset(self) -> None:
        """Start again from the Keras model's current weights with fresh Adam state.

        The arrays are copied: Keras's own jitted fit/evaluate donate the model's buffers, which
        would delete arrays shared with this loop."""
        self.tv = [jnp.array(v.value) for v in self.model.trainable_variables]
        self.ntv = [jnp.array(v.value) for v in self.model.non_trainable_variables]
        self.m = [jnp.zeros_like(w) for w in self.tv]
        self.v = [jnp.zeros_like(w) for w in self.tv]
        self.t = jnp.zeros((), jnp.float32)

    def _update(self, state, batch):
        from mnistx.backends._common import pack_inputs

        tv, ntv, m, v, t = state
        xs, y = batch

        def loss_fn(tv_):
            out, ntv_ = self.model.stateless_call(tv_, ntv, pack_inputs(self.model, list(xs)), training=True)
            return self.loss_fn(y, out), ntv_

        (loss, ntv), g = jax.value_and_grad(loss_fn, has_aux=True)(tv)
        t = t + 1
        new = [adam_update(jnp, w, gi, mi, vi, t, self.lr, eps=EPS) for w, gi, mi, vi in zip(tv, g, m, v)]
        tv, m, v = (list(z) for z in zip(*new)) if new else ([], [], [])
        return (tv, ntv, m, v, t), loss

    def _scan(self, state, xs, ys):
        return jax.lax.scan(self._update, state, (xs, ys))

    def _state(self):
        return (self.tv, self.ntv, self.m, self.v, self.t)

    def _set(self, state):
        self.tv, self.ntv, self.m, self.v, self.t = state

    def train_step(self, xs, y) -> float:
        state, loss = self._step(self._state(), ([jnp.asarray(x) for x in xs], jnp.asarray(y)))
        self._set(state)
        return float(loss)

    def train_epoch(self, xs, y) -> float:
        """All full batches of (xs, y) in order, one compiled scan (or per step: epoch_loop); the mean loss."""
        if self.epoch_loop == "python":
            from mnistx.backends._common import stepped_epoch

            return stepped_epoch(self, xs, y)
        bs = self.batch_size
        n = (len(y) // bs) * bs
        batched = [jnp.asarray(x[:n]).reshape(-1, bs, *x.shape[1:]) for x in xs]
        ys = jnp.asarray(y[:n]).reshape(-1, bs, *y.shape[1:])
        state, losses = self._epoch(self._state(), batched, ys)
        self._set(state)
        return float(jnp.mean(losses))

    def write_back(self) -> None:
        """Copy the trained weights into the Keras model's variables."""
        for var, value in zip(self.model.trainable_variables, self.tv):
            var.assign(jnp.array(value))  # a copy, for the same reason as in reset()
        for var, value in zip(self.model.non_trainable_variables, self.ntv):
            var.assign(jnp.array(value))


def native_trainer(model, loss_fn, learning_rate: float = 1e-3, batch_size: int = 32) -> NativeTrainer:
    return NativeTrainer(model, loss_fn, learning_rate, batch_size)


def data_parallel(n: int):
    """This framework's own data-parallel engine over n devices (mnistx/backends/distribute/)."""
    from mnistx.backends.distribute.jax import Replicas

    return Replicas(n)


_COUNTS = {"compiles": 0, "traces": 0}


def _listen(event, duration_secs, **_):
    from jax._src import dispatch

    if event == dispatch.BACKEND_COMPILE_EVENT:
        _COUNTS["compiles"] += 1
    elif event == dispatch.JAXPR_TRACE_EVENT:
        _COUNTS["traces"] += 1


def handwritten_loop(ops, lr: float, batch_size: int):
    """A hand-written JAX training loop for an MLP or a small CNN (mnistx/backends/handwritten/)."""
    from mnistx.backends.handwritten.jax import Loop

    return Loop(ops, lr, batch_size)


def forget_compiled() -> None:
    """Nothing to drop: each compiled function belongs to the object that made it, with no limit
    across the process (torch's dynamo has one: mnistx/backends/torch.py)."""


def compilations() -> dict:
    """XLA backend compiles and jaxpr traces in this process since the first call (a cache hit counts nothing)."""
    if not _COUNTS.get("listening"):
        jax.monitoring.register_event_duration_secs_listener(_listen)
        _COUNTS["listening"] = 1
    return {"compiles": _COUNTS["compiles"], "traces": _COUNTS["traces"], "graph_breaks": 0}


def op_profile(fn, n: int, top: int = 25):
    """No per-op table from this framework here: None (benchmarks/profile_step.py uses cProfile)."""
    return None


def set_random_seed(seed: int) -> None:
    """keras.utils.set_random_seed, without importing TensorFlow only to seed it (_common.seed_loaded)."""
    seed_loaded(seed)
