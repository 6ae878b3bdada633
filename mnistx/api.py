"""The Python API: check_parity(...), benchmark(...) and check_convergence(...), importable without choosing a backend.

All are parents: they never import Keras; each backend runs in its own child process.

    import mnistx
    result = mnistx.check_parity(model="examples/models/mobilenet.py:build", inputs="synthetic",
                                 backends=("jax", "torch"), activations=(1e-5, 1e-4))
    print(result.table()); assert result.passed, result.first_divergence
"""

from __future__ import annotations

import inspect
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistx.config import BACKENDS, BenchConfig, ConvergeConfig, ParityConfig, Tolerances
from mnistx.config import BenchConfig as B, ConvergeConfig as C, ParityConfig as P  # the defaults, shared with the CLI
from mnistx.errors import MnistxError


def _stderr(message: str) -> None:
    """The default progress callback: the CLI's lines (stage, child, every 10 s), on stderr."""
    print(message, file=sys.stderr, flush=True)


def model_spec(model) -> str:
    """A spec string from a spec, a path, or a top-level build function (module:function)."""
    if isinstance(model, (str, Path)):
        return str(model)
    if callable(model) and getattr(model, "__name__", "<lambda>") != "<lambda>" and "." not in model.__qualname__:
        module = model.__module__
        if module == "__main__" or module not in sys.modules or not getattr(sys.modules[module], "__spec__", None):
            return f"{inspect.getsourcefile(model)}:{model.__name__}"
        return f"{module}:{model.__name__}"
    raise MnistxError("model must be a spec string (mlp, pkg.mod:fn, file.py:fn, model.keras) or a "
                      "top-level function; lambdas and nested functions cannot reach a child process")


def data_path(data, workdir: Path) -> str | None:
    """A path for the children: a path as given, or arrays (dict, or (x, y)) saved as .npz."""
    if data is None or isinstance(data, (str, Path)):
        return None if data is None else str(data)
    if isinstance(data, tuple) and len(data) == 2:
        x, y = data
        data = {"x": x, "y": y} if not isinstance(x, dict) else {**{f"x_{k}": v for k, v in x.items()}, "y": y}
    if isinstance(data, np.ndarray):
        data = {"x": data}
    if not isinstance(data, dict):
        raise MnistxError("data must be a path, a dict of arrays, (x, y) or an array of inputs")
    path = workdir / "inputs-from-python.npz"
    workdir.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{k: np.asarray(v) for k, v in data.items()})
    return str(path)


@dataclass
class ParityResult:
    """What `mnistx parity` found; `summary` is parity.json's content."""

    summary: dict
    out_dir: Path
    passed: bool = field(init=False)

    def __post_init__(self):
        self.passed = bool(self.summary["passed"])

    @property
    def first_divergence(self) -> dict:
        """pair -> {layer, text, max_abs_diff, ...} for every pair that failed a check."""
        return self.summary.get("first_divergence", {})

    @property
    def failures(self) -> list[dict]:
        return [c for c in self.summary["checks"] if not c["passed"]]

    def table(self) -> str:
        return Path(self.summary["files"]["markdown"]).read_text()

    def to_json(self) -> dict:
        return self.summary

    def __repr__(self) -> str:
        return (f"ParityResult(passed={self.passed}, compared={self.summary['compared']}, "
                f"failures={len(self.failures)}, out_dir='{self.out_dir}')")


def check_parity(model="mlp", data=None, backends=BACKENDS, *, inputs: str | None = None, out=None,
                 images: int = P.n_images, activation_images: int = P.n_activation_images,
                 steps: int = P.steps, batch_size: int = P.batch_size, loss: str | None = None,
                 int_high: int | None = None, optimizer: str = P.optimizer, plant: float = P.plant,
                 plant_layer: str | None = None, timeout_s: float = P.timeout_s, devices: int = P.devices,
                 seq_len: int | None = None, image_size: int | None = None, edge_cases: bool = P.edge_cases,
                 progress=None, **tiers) -> ParityResult:
    """Run `model` on every backend (one child each) on the same weights and inputs; compare.

    data: a path, a dict of arrays (x / y / x_<input name>), (x, y), or None (MNIST, or
    synthetic inputs when inputs="synthetic"). Defaults: ParityConfig's, the command line's. tiers: name=(atol, rtol), e.g. outputs=(1e-5, 1e-4).
    devices > 1: the trajectory again, data-parallel on that many devices (each framework's engine).
    model: any spec --model takes (hub:PRESET_OR_DIR for KerasHub) or a build function.
    seq_len / image_size / edge_cases: the synthetic inputs' unknown dimensions and edge rows.
    progress: called with each progress line (default: printed on stderr; `lambda m: None` for silence).
    out: the report folder (default: a new mnistx-parity-* temp folder, kept: report files and logs,
    a few hundred kB; the bulky inputs and weights are deleted when the run ends).
    """
    from mnistx.parity.runner import run_parity

    out_dir = Path(out) if out else Path(tempfile.mkdtemp(prefix="mnistx-parity-"))
    cfg = ParityConfig(model=model_spec(model), backends=tuple(backends), n_images=images,
                       n_activation_images=activation_images, steps=steps, batch_size=batch_size,
                       inputs=inputs or ("synthetic" if data is None and model != "mlp" and model != "cnn" else "data"),
                       int_high=int_high, loss=loss, optimizer=optimizer, plant=plant, plant_layer=plant_layer,
                       timeout_s=timeout_s, devices=devices, seq_len=seq_len, image_size=image_size,
                       edge_cases=edge_cases, tolerances=Tolerances().with_overrides(**tiers))
    summary = run_parity(cfg, out_dir, data_path(data, out_dir / "input"), progress=progress or _stderr)
    return ParityResult(summary, out_dir)


@dataclass
class BenchResult:
    summary: dict
    out_dir: Path

    def table(self) -> str:
        return Path(self.summary["files"]["markdown"]).read_text()

    def to_json(self) -> dict:
        return self.summary


def benchmark(model="mlp", data=None, backends=BACKENDS, *, inputs: str | None = None, out=None,
              quick: bool = True, modes=B.modes, samples: int | None = None,
              batch_size: int = B.batch_size, loss: str | None = None, int_high: int | None = None,
              timeout_s: float = B.timeout_s, devices: int = B.devices, seq_len: int | None = None,
              image_size: int | None = None, progress=None) -> BenchResult:
    """Time `model` on every backend (one child each, one after another) in each mode; with
    devices > 1, data-parallel scaling on 1 and that many devices instead (scaling.json).
    progress: as for check_parity (default: printed on stderr). out: as for check_parity."""
    from mnistx.bench.runner import run_bench

    out_dir = Path(out) if out else Path(tempfile.mkdtemp(prefix="mnistx-bench-"))
    kw = dict(models=(model_spec(model),), backends=tuple(backends), modes=tuple(modes), timeout_s=timeout_s,
              inputs=inputs or ("synthetic" if data is None and model not in ("mlp", "cnn") else "data"),
              loss=loss, int_high=int_high, batch_size=batch_size, devices=devices, seq_len=seq_len,
              image_size=image_size)
    if samples:
        kw["epoch_samples"] = samples
    cfg = BenchConfig.quick(**kw) if quick else BenchConfig(**kw)
    summary = run_bench(cfg, out_dir, data_path(data, out_dir / "input"), quick=quick,
                        progress=progress or _stderr)
    return BenchResult(summary, out_dir)


@dataclass
class ConvergeResult:
    """What `mnistx converge` found; `summary` is converge.json's content."""

    summary: dict
    out_dir: Path

    def verdict(self, metric: str, pair: str) -> str:
        """'equivalent', 'different', 'inconclusive' or 'not compared', e.g. ("test_loss", "jax vs torch")."""
        return self.summary["metrics"][metric]["pairs"][pair]["verdict"]

    @property
    def verdicts(self) -> list[dict]:
        return self.summary["verdicts"]

    def table(self) -> str:
        return Path(self.summary["files"]["markdown"]).read_text()

    def __repr__(self) -> str:
        shown = ", ".join(f"{v['metric']} {v['pair']}: {v['verdict']}" for v in self.verdicts)
        return f"ConvergeResult({shown}, out_dir='{self.out_dir}')"


def check_convergence(model="mlp", data=None, backends=BACKENDS, *, seeds: int = C.seeds, epochs: int = C.epochs,
                      inputs: str | None = None, out=None, progress=None, **settings) -> ConvergeResult:
    """Train `model` with seeds 1..N on every backend (one child each; per seed the same initial
    weights and batch order everywhere) and compare the final test metrics pair by pair.

    settings: any other ConvergeConfig field, e.g. batch_size=128, train_limit=4096, margin_accuracy=0.003,
    dtype_policy="mixed_bfloat16", plant_lr_factor=1.5 (self-test). data, out, progress: as for check_parity.
    """
    from mnistx.converge.runner import run_converge

    out_dir = Path(out) if out else Path(tempfile.mkdtemp(prefix="mnistx-converge-"))
    try:
        cfg = ConvergeConfig(model=model_spec(model), backends=tuple(backends), seeds=seeds, epochs=epochs,
                             inputs=inputs or ("synthetic" if data is None and model not in ("mlp", "cnn") else "data"),
                             **settings)
    except TypeError as exc:
        raise MnistxError(f"check_convergence: {exc}") from None
    summary = run_converge(cfg, out_dir, data_path(data, out_dir / "input"), progress=progress or _stderr)
    return ConvergeResult(summary, out_dir)
