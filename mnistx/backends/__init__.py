"""The backend adapter: the ONLY package in mnistx that imports tensorflow, jax or torch.

Like keras/src/backend/<name>/, each of jax.py, tensorflow.py, torch.py, numpy.py and openvino.py defines the
same functions under the same names (FUNCTIONS; tests/test_backend_files.py fails if one is
missing); the one matching `keras.backend.backend()` is selected once, here. Each file also declares
UNSUPPORTED: capability ("gradients", "training") -> the reason it cannot (numpy: no autodiff), and
its functions for those raise errors.NotSupported; reports list them, never as failures.

    versions() -> dict              framework name -> version string
    device() -> str                 the device Keras computes on, e.g. "cpu (Intel Xeon ..., 2 threads)"
    threads() -> int                intra-op threads the framework uses on CPU
    sync(x) -> x                    block until x (and pending work) is computed
    set_tf32(enabled) -> bool       allow TF32 matmuls on GPU; returns what is now in force
    gpu_peak_bytes() -> int | None  peak GPU memory since start (None on CPU)
    gradients(model, xs, objective) -> (value, [d/d weight], [d/d each float input or None])
    native_trainer(model, loss_fn, lr, batch_size) -> NativeTrainer  (the framework's own training loop)
    handwritten_loop(ops, lr, batch_size) -> Loop  an MLP or small CNN trained without Keras (handwritten/)
    compilations() -> dict          cumulative graph builds in this process since the first call:
                                    {"compiles": n, "graph_breaks": m}: XLA compiles (jax), tf.function
                                    traces (tensorflow), dynamo graphs and graph breaks (torch, + "gave_up":
                                    functions past dynamo's recompile limit, run eager); {} where nothing
                                    compiles (numpy, openvino). Diff two calls around a timed region.
    forget_compiled()               drop process-wide compiler caches (torch: torch._dynamo.reset(), so
                                    dynamo's per-function recompile limit starts again); others: nothing
    set_random_seed(seed)           keras.utils.set_random_seed, without importing TensorFlow only to seed
                                    it (1.7 s in a jax, torch, numpy or openvino child)
    save_model(model, path)         model.save(path) (.keras), without importing TensorFlow only to ask
                                    whether a config value is one of its types (1.6 s; same file)
    op_profile(fn, n, top) -> str | None  the framework profiler's top ops by own CPU time over n
                                    calls of fn (torch.profiler); None where it has no such table
                                    (benchmarks/profile_step.py falls back to cProfile)
    data_parallel(n) -> Replicas    the framework's own data-parallel engine over n devices
                                    (mnistx/backends/distribute/: DataParallel, MirroredStrategy, DDP)
"""

from __future__ import annotations

import importlib

import keras

from mnistx.config import ALL_BACKENDS
from mnistx.errors import MnistxError

FUNCTIONS = ("versions", "device", "threads", "sync", "set_tf32", "gpu_peak_bytes", "gradients",
             "native_trainer", "has_gpu", "data_parallel", "compilations",
             "op_profile", "handwritten_loop", "forget_compiled", "set_random_seed",
             "save_model")
NAME = keras.backend.backend()
if NAME not in ALL_BACKENDS:
    raise MnistxError(f"KERAS_BACKEND={NAME} is not supported by mnistx; use {', '.join(ALL_BACKENDS)}")
_impl = importlib.import_module(f"mnistx.backends.{NAME}")
UNSUPPORTED: dict[str, str] = _impl.UNSUPPORTED

versions = _impl.versions
device = _impl.device
threads = _impl.threads
sync = _impl.sync
set_tf32 = _impl.set_tf32
gpu_peak_bytes = _impl.gpu_peak_bytes
gradients = _impl.gradients
native_trainer = _impl.native_trainer
has_gpu = _impl.has_gpu
data_parallel = _impl.data_parallel
compilations = _impl.compilations
op_profile = _impl.op_profile
handwritten_loop = _impl.handwritten_loop
forget_compiled = _impl.forget_compiled
set_random_seed = _impl.set_random_seed
save_model = _impl.save_model


def describe() -> dict:
    """Backend, versions, device and threads, for meta.json and reports."""
    import numpy

    return {"backend": NAME, "versions": {"keras": keras.__version__, "numpy": numpy.__version__,
                                          **versions()},
            "device": device(), "threads": threads(), "gpu": has_gpu(), "unsupported": UNSUPPORTED}
