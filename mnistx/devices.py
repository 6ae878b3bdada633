"""How a data-parallel child is started on N devices, per backend. Parent side: no framework
import, only argv and environment (the engines themselves: mnistx/backends/distribute/).

    jax         one process; N GPUs, else N host devices (XLA_FLAGS=
                --xla_force_host_platform_device_count=N, set here for every jax child)
    tensorflow  one process; N GPUs, else N logical CPU devices made at start-up
    torch       N processes under torchrun (python -m torch.distributed.run --standalone):
                N GPUs with nccl, else CPU with gloo; OMP_NUM_THREADS = cores // N each, so
                N = 1 and N = 2 use the same cores
Every engine takes GPUs only when there are at least N; else it runs on CPU (its report names the
devices).
"""

from __future__ import annotations

import os
import sys

from mnistx.config import BACKENDS
from mnistx.errors import MnistxError

DEVICES_ENV = "MNISTX_DEVICES"  # the N a data-parallel child was started for
MAX_DEVICES = 64


def check(n: int, backends=(), batch_sizes=()) -> int:
    """--devices N: at least 1, at most MAX_DEVICES, and dividing every global batch evenly."""
    if not isinstance(n, int) or n < 1 or n > MAX_DEVICES:
        raise MnistxError(f"--devices must be a whole number from 1 to {MAX_DEVICES}, not {n}")
    for b in batch_sizes:
        if b % n:
            raise MnistxError(f"a global batch of {b} does not split evenly over {n} devices; "
                              f"choose a batch size that is a multiple of {n}")
    return n


def launch(backend: str, n: int, argv: list[str]) -> tuple[list[str], dict]:
    """(argv, extra environment) that run `argv` (a `python -m mnistx ...` command) as a
    data-parallel child of `backend` on n devices."""
    if backend not in BACKENDS:
        raise MnistxError(f"{backend} cannot train, so it has no data-parallel mode")
    env = {DEVICES_ENV: str(n)}
    if backend == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()
    if backend == "torch":
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // n))
        python, dash_m, module, *rest = argv
        if (dash_m, module) != ("-m", "mnistx"):
            raise MnistxError(f"torchrun launches `python -m mnistx ...`, not {argv[:3]}")
        argv = [python or sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc-per-node={n}", "-m", "mnistx", *rest]
    return argv, env


def launch_all(backends, n: int, argv: list[str]) -> tuple[dict, dict]:
    """launch() for each backend: (backend -> argv, backend -> environment), spawn.run_children's
    `jobs` and `env_each`."""
    pairs = {b: launch(b, n, argv) for b in backends}
    return {b: a for b, (a, _) in pairs.items()}, {b: e for b, (_, e) in pairs.items()}


def visible(device: str) -> dict | None:
    """Environment for a child: --device cpu hides every GPU (CUDA and JAX); auto or gpu: as is."""
    return {"CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu"} if device == "cpu" else None


def cores() -> int:
    """CPU cores this process may run on (its affinity mask, else every core)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# The variables that cap a framework's CPU threads, read when the child starts its framework:
# torch, oneDNN and BLAS (OpenMP), and TensorFlow's two pools. XLA:CPU (JAX) has no such setting
# (its --xla_cpu_multi_thread_eigen=false left a matmul on two threads here), so JAX is not capped.
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def thread_env(side_by_side: int, environ=None) -> dict:
    """Environment that shares the cores among `side_by_side` children running at once: each gets
    cores // side_by_side threads (at least 1). Three children of two threads each on two cores
    wait for each other (a torch forward pass of a small Llama took 21.8 s instead of 1.2 s); with
    one thread each they run side by side at full speed. Variables the user set are kept. Empty
    when nothing needs capping (one child, or as many cores as children want)."""
    environ = os.environ if environ is None else environ
    n = max(1, cores() // max(1, side_by_side))
    if side_by_side <= 1 or n >= cores():
        return {}
    return {var: str(n) for var in _THREAD_VARS if not environ.get(var)}


JAX_CACHE_ENV = "MNISTX_JAX_CACHE"  # a folder for JAX's compilation cache, or "off"


def compile_cache_env(environ=None) -> dict:
    """Environment for a jax child: JAX's persistent compilation cache, every executable kept
    (JAX keeps only those that took over 1 s to compile by default; Keras's eager ops and a
    KerasHub build compile hundreds of small ones). A MobileNetV2 parity child's load took 1.8 s
    with the cache warm against 11.0 s cold. Under $XDG_CACHE_HOME/mnistx/jax (~/.cache), or
    $MNISTX_JAX_CACHE; "off", or a JAX_COMPILATION_CACHE_DIR of the user's, leaves JAX as it is.
    Not for the benchmark's children: their first-call times measure compilation."""
    environ = os.environ if environ is None else environ
    where = environ.get(JAX_CACHE_ENV, "")
    if where.lower() == "off" or environ.get("JAX_COMPILATION_CACHE_DIR"):
        return {}
    if not where:
        base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        where = os.path.join(base, "mnistx", "jax")
    return {"JAX_COMPILATION_CACHE_DIR": where, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
