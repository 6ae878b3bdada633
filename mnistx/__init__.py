"""mnistx: any Keras 3 model on TensorFlow, JAX and PyTorch: parity, introspection, benchmarks.

Importing mnistx imports no backend and not Keras; `mnistx.backends` does (the one place that
may import a framework). The Python API (parents: one child process per backend):

    mnistx.check_parity(model=..., data=..., backends=(...), **tiers) -> ParityResult
    mnistx.benchmark(model=..., data=..., backends=(...)) -> BenchResult
    mnistx.check_convergence(model=..., seeds=8, epochs=5) -> ConvergeResult
"""

__version__ = "0.2.0"
__all__ = ["check_parity", "benchmark", "check_convergence", "ParityResult", "BenchResult", "ConvergeResult"]


def __getattr__(name):
    if name in __all__:
        from mnistx import api

        return getattr(api, name)
    raise AttributeError(f"module 'mnistx' has no attribute '{name}'")
