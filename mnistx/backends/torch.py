"""PyTorch side of the adapter (see mnistx/backends/__init__.py for the shared function list)."""

from __future__ import annotations

import logging

import numpy as np
import torch

from mnistx.backends._common import cpu_device, seed_loaded
from mnistx.backends._common import save_without_tf_probe as save_model  # noqa: F401 (FUNCTIONS: TensorFlow unloaded)
from mnistx.backends._torch_adam import EPS, KerasAdam  # noqa: F401 (re-exported: tests, benchmarks)
from mnistx.backends._torch_native import NativeTrainer, _device  # noqa: F401 (re-exported: tests, benchmarks)
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


def native_trainer(model, loss_fn, learning_rate: float = 1e-3, batch_size: int = 32) -> NativeTrainer:
    """The torch native loop (mnistx/backends/_torch_native.py)."""
    return NativeTrainer(model, loss_fn, learning_rate, batch_size)


def data_parallel(n: int):
    """This framework's own data-parallel engine over n devices (mnistx/backends/distribute/)."""
    from mnistx.backends.distribute.torch import Replicas

    return Replicas(n)


def handwritten_loop(ops, lr: float, batch_size: int):
    """A hand-written PyTorch training loop for an MLP or a small CNN (mnistx/backends/handwritten/)."""
    from mnistx.backends.handwritten.torch import Loop

    return Loop(ops, lr, batch_size)


def forget_compiled() -> None:
    """Drop this process's torch.compile caches (torch._dynamo.reset()): what compiles next traces as
    in a fresh process, and dynamo's recompile limit (8 per function, counted across the process,
    then the function runs eager) starts again. Keras compiles its train step from the same code for
    every model, so the bench calls this before each mode's first call."""
    import torch._dynamo

    torch._dynamo.reset()


_GAVE_UP_ON: list[str] = []  # "name (file:line)" of each function dynamo gave up on, from its warning


class _GaveUpLog(logging.Handler):
    """Keeps the function named in dynamo's "hit config.recompile_limit" warning (site-packages/ cut)."""

    def emit(self, record):
        if str(record.msg).startswith("torch._dynamo hit config.") and len(record.args or ()) > 2:
            name, _, where = str(record.args[2]).replace("'", "").partition(" (")  # "'fn' (/path/file.py:12)"
            _GAVE_UP_ON.append(f"{name} ({where.split('site-packages/')[-1]}")


logging.getLogger("torch._dynamo.convert_frame").addHandler(_GaveUpLog())  # from the first compile on


def compilations() -> dict:
    """torch.compile (dynamo) graphs built, graph breaks, and functions dynamo gave up on (its
    recompile limit hit: they run eager from then on; gave_up_on names them) in this process."""
    from torch._dynamo.utils import counters

    return {"compiles": int(counters["stats"].get("unique_graphs", 0)),
            "graph_breaks": int(sum(counters["graph_break"].values())), "gave_up": len(_GAVE_UP_ON),
            "gave_up_on": list(_GAVE_UP_ON)}


def op_profile(fn, n: int, top: int = 25) -> str:
    """torch.profiler over n calls of fn: the top ops and compiled regions by own CPU time (a table)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(n):
            fn()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top)


def set_random_seed(seed: int) -> None:
    """keras.utils.set_random_seed, without importing TensorFlow only to seed it (_common.seed_loaded);
    torch's own generator as Keras seeds it."""
    seed_loaded(seed)
    torch.manual_seed(seed)
