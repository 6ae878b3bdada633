"""NumPy side of the adapter (see mnistx/backends/__init__.py for the shared function list).

Keras's NumPy backend runs a model's forward pass in plain NumPy: no graph, no kernel fusion, no
autodiff. mnistx uses it as the reference oracle for forward parity. It cannot train: the two
functions that need autodiff raise `NotSupported` with the reason listed in UNSUPPORTED.
"""

from __future__ import annotations

import os

import numpy as np

from mnistx.backends._common import cpu_device, seed_loaded
from mnistx.backends._common import save_without_tf_probe as save_model  # noqa: F401 (FUNCTIONS: TensorFlow unloaded)
from mnistx.errors import NotSupported

NO_AUTODIFF = "Keras's NumPy backend has no automatic differentiation (inference only)"
# capability -> why this backend cannot do it (the parity and bench reports show the reason)
UNSUPPORTED = {"gradients": NO_AUTODIFF, "training": NO_AUTODIFF}


def versions() -> dict:
    return {}  # numpy's own version is in every describe()


def has_gpu() -> bool:
    return False


def threads() -> int:
    """BLAS threads NumPy's matmuls may use (OPENBLAS/OMP settings, else every core)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


def device() -> str:
    return cpu_device(threads())


def sync(x):
    return np.asarray(x)  # NumPy computes eagerly: the value is ready when the call returns


def set_tf32(enabled: bool) -> bool:
    return False  # CPU only: there is no TF32


def gpu_peak_bytes() -> int | None:
    return None


def gradients(model, xs, objective):
    raise NotSupported(UNSUPPORTED["gradients"])


def native_trainer(model, loss_fn, learning_rate: float = 1e-3, batch_size: int = 32):
    raise NotSupported(UNSUPPORTED["training"])


def data_parallel(n: int):
    raise NotSupported(UNSUPPORTED["training"])


def handwritten_loop(ops, lr: float, batch_size: int):
    raise NotSupported(UNSUPPORTED["training"])


def forget_compiled() -> None:
    """Nothing to drop: each compiled function belongs to the object that made it, with no limit
    across the process (torch's dynamo has one: mnistx/backends/torch.py)."""


def compilations() -> dict:
    return {}  # nothing is compiled: every op runs as it is called


def op_profile(fn, n: int, top: int = 25):
    """No per-op table from this framework here: None (benchmarks/profile_step.py uses cProfile)."""
    return None


def set_random_seed(seed: int) -> None:
    """keras.utils.set_random_seed, without importing TensorFlow only to seed it (_common.seed_loaded)."""
    seed_loaded(seed)
