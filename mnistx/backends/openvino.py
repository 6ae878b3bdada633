"""OpenVINO side of the adapter (see mnistx/backends/__init__.py for the shared function list).

Keras's OpenVINO backend builds an OpenVINO graph of a model's forward pass and compiles it for
Intel's CPU plugin (Keras always asks for "CPU", so has_gpu, sync, set_tf32 and gpu_peak_bytes
are NumPy's): inference only. mnistx uses it for forward parity, checkpoint loading and inference
throughput; the functions that need autodiff raise `NotSupported` with the reason in UNSUPPORTED.
"""

from __future__ import annotations

import os

import openvino

from mnistx.backends._common import cpu_device, seed_loaded
from mnistx.backends._common import save_without_tf_probe as save_model  # noqa: F401 (FUNCTIONS: TensorFlow unloaded)
# CPU only, and a result is ready when the call returns: the same as NumPy's
from mnistx.backends.numpy import gpu_peak_bytes, handwritten_loop, has_gpu, op_profile, set_tf32, sync  # noqa: F401
from mnistx.errors import NotSupported

# OpenVINO's CPU plugin infers in bfloat16 by default where the CPU has it (AMX / AVX512-BF16, as on
# this project's CI machine), and Keras's predict() passes no precision hint (its eager ops pass
# f32): measured on the MLP, outputs 1.2e-3 from every other backend and 4 of 500 top classes
# flipped. mnistx pins f32 for every compile, so a parity difference is a real one.
PRECISION = "f32"
_compile_model = openvino.compile_model


def _compile_f32(model, device_name="AUTO", config=None):
    """openvino.compile_model with INFERENCE_PRECISION_HINT=PRECISION unless the caller sets one."""
    return _compile_model(model, device_name, {"INFERENCE_PRECISION_HINT": PRECISION, **(config or {})})


openvino.compile_model = _compile_f32  # Keras's trainer calls openvino.compile_model at predict time
INFERENCE_ONLY = "Keras's OpenVINO backend compiles forward (inference) graphs only: no gradients, no training"
UNSUPPORTED = {"gradients": INFERENCE_ONLY, "training": INFERENCE_ONLY}


def versions() -> dict:
    return {"openvino": openvino.__version__.split("-")[0], "openvino_precision": PRECISION}


def threads() -> int:
    """Inference threads of the CPU plugin (its 0 means one per core)."""
    n = int(openvino.Core().get_property("CPU", "INFERENCE_NUM_THREADS") or 0)
    return n or os.cpu_count() or 1


def device() -> str:
    return cpu_device(threads()) + " via OpenVINO CPU plugin"


def gradients(model, xs, objective):
    raise NotSupported(UNSUPPORTED["gradients"])


def native_trainer(model, loss_fn, learning_rate: float = 1e-3, batch_size: int = 32):
    raise NotSupported(UNSUPPORTED["training"])


def data_parallel(n: int):
    raise NotSupported(UNSUPPORTED["training"])


def forget_compiled() -> None:
    """Nothing to drop: each compiled function belongs to the object that made it, with no limit
    across the process (torch's dynamo has one: mnistx/backends/torch.py)."""


def compilations() -> dict:
    return {}  # not counted: OpenVINO compiles per input shape inside predict (inference only here)


def set_random_seed(seed: int) -> None:
    """keras.utils.set_random_seed, without importing TensorFlow only to seed it (_common.seed_loaded)."""
    seed_loaded(seed)
