"""Introspection of a run directory: every worksheet figure, saved as PNG.

A figure function takes arrays (or a model) and returns a matplotlib Figure; `introspect_run`
loads a run of any model, saved by any backend, into the current one and saves the figures that
make sense for it (mnistx/introspect/figures.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnistx import runs
from mnistx.config import IntrospectConfig
from mnistx.introspect.figures import RunData, class_ids, figures_for

FIGURES = ("samples", "weights", "confidence", "misclassified", "curves", "confusion", "saliency")


def load_run_model(run_dir):
    """The run's model.keras, loaded into the current backend (a user's model: its module is
    imported first, so its registered custom classes are known)."""
    import keras

    from mnistx import backends  # noqa: F401  the adapter first: e.g. OpenVINO's f32 pin must precede predict()
    from mnistx.errors import MnistxError, one_line

    run_dir = runs.check_run_dir(run_dir)
    spec = runs.read_json(run_dir / "meta.json").get("model", "")
    from mnistx import losses  # noqa: F401  registers SquaredToZero (a model with several outputs)

    if ":" in str(spec):
        from mnistx import modelspec, models

        parsed = modelspec.parse(spec)
        if parsed.kind == "hub":
            import keras_hub  # noqa: F401  registers KerasHub's classes
        elif parsed.kind in ("module", "file"):
            models._builder(parsed)  # imports the module: registers its classes
    from mnistx.models import auto_jit

    try:
        return auto_jit(keras.saving.load_model(run_dir / "model.keras"))
    except Exception as exc:
        raise MnistxError(f"{run_dir}/model.keras could not be loaded: {type(exc).__name__}: "
                          f"{one_line(exc)}") from None


def read_run_data(run_dir, meta: dict) -> RunData:
    """The run's eval.npz (written by mnistx.train.train); meta: its meta.json."""
    with np.load(Path(run_dir) / "eval.npz", allow_pickle=False) as f:
        xs = [f[f"x{i}"] for i in range(len([k for k in f.files if k[1:].isdigit()]))]
        return RunData(xs, f["y"], f["sample_x0"], f["sample_y"], meta.get("data_source") != "synthetic")


def introspect_run(run_dir, out_dir=None, cfg: IntrospectConfig = IntrospectConfig()) -> dict:
    """Load the run in this backend, predict its evaluation inputs again, save every figure that
    makes sense for the model as PNG (figures.py says which), with the skipped ones' reasons.

    Returns a summary: figure paths, and how this backend's outputs compare with the training
    backend's saved test_probs.npy (argmax agreement count, max abs difference).
    """
    import keras

    from mnistx.backends._common import pack_inputs
    from mnistx.errors import MnistxError

    run_dir = runs.check_run_dir(run_dir)
    backend = keras.backend.backend()
    out_dir = Path(out_dir) if out_dir else run_dir / f"introspect-{backend}"
    meta = runs.read_json(run_dir / "meta.json")
    run = read_run_data(run_dir, meta)
    n = len(run.y)
    if not 0 <= cfg.image_index < n:
        raise MnistxError(f"--image-index {cfg.image_index} is outside the run's {n} evaluation samples "
                          f"(0..{n - 1})")
    model = load_run_model(run_dir)
    out = keras.tree.flatten(model.predict(pack_inputs(model, run.xs), batch_size=256, verbose=0))[0]
    outputs = np.asarray(out, np.float32)
    saved = np.load(run_dir / "test_probs.npy")
    if saved.shape != outputs.shape:
        raise MnistxError(f"{run_dir}: test_probs.npy has shape {saved.shape} but eval.npz gives "
                          f"{outputs.shape}; the run directory is damaged: train it again")
    figures, skipped = figures_for(model, run, outputs, runs.read_json(run_dir / "history.json"),
                                   bool(meta.get("classifier")), cfg)
    classifier = bool(meta.get("classifier")) and outputs.ndim == 2  # one class per sample
    paths = {name: str(runs.save_figure(fig, out_dir / f"{name}.png")) for name, fig in figures.items()}
    summary = {"run_dir": str(run_dir), "backend": backend, "trained_on": meta.get("backend"),
               "model": meta.get("model"), "test_images": len(outputs),
               "argmax_agree": int((outputs.argmax(-1) == saved.argmax(-1)).sum())
               if classifier else None,
               "max_abs_prob_diff": float(np.abs(outputs - saved).max()),
               "test_accuracy": float((outputs.argmax(-1) == class_ids(run.y)).mean()) if classifier else None,
               "figures": paths, "skipped": skipped}
    runs.write_json(out_dir / "introspect.json", summary)
    return summary
