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
