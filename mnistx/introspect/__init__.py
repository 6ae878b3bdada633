"""Introspection of a run directory: every worksheet figure, saved as PNG.

A figure function takes arrays (or a model) and returns a matplotlib Figure; `introspect_run`
loads a run saved by any backend into the current one and saves them all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnistx import runs
from mnistx.config import IntrospectConfig
from mnistx.data import MNIST, normalize
from mnistx.introspect.curves import training_curves
from mnistx.introspect.predictions import confidence, confusion_matrix, misclassified_grid
from mnistx.introspect.samples import sample_grid
from mnistx.introspect.saliency import not_supported as saliency_not_supported
from mnistx.introspect.saliency import saliency, saliency_grid
from mnistx.introspect.weights import first_layer_weights

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


def make_figures(model, raw: MNIST, probs: np.ndarray, history: dict,
                 cfg: IntrospectConfig = IntrospectConfig()) -> dict:
    """name -> Figure for every name in FIGURES (saliency only where the backend has gradients);
    probs (N_test, 10) from `model`."""
    from mnistx.models import first_weighted_layer

    x_test, labels = normalize(raw.x_test), raw.y_test.astype(np.int64)
    if not 0 <= cfg.image_index < len(x_test):
        raise IndexError(f"image index {cfg.image_index} outside the {len(x_test)} test images")
    layer = first_weighted_layer(model)
    idx = np.array([i for i in cfg.saliency_indices if i < len(x_test)], dtype=np.int64)
    gradients = not saliency_not_supported()
    maps = saliency(model, x_test[idx], labels[idx]) if gradients else None
    import keras

    figures = {
        "samples": sample_grid(raw.x_train, raw.y_train, cfg.n_samples),
        "weights": first_layer_weights(keras.ops.convert_to_numpy(layer.kernel), cfg.n_neurons,
                                       layer.name),
        "confidence": confidence(x_test[cfg.image_index], probs[cfg.image_index],
                                 labels[cfg.image_index], f"Test image #{cfg.image_index}"),
        "misclassified": misclassified_grid(x_test, probs, labels, cfg.n_errors),
        "curves": training_curves(history),
        "confusion": confusion_matrix(probs, labels),
    }
    if gradients:
        figures["saliency"] = saliency_grid(x_test[idx], {keras.backend.backend(): maps}, labels[idx])
    return figures


def introspect_run(run_dir, raw: MNIST, out_dir=None, cfg: IntrospectConfig = IntrospectConfig()) -> dict:
    """Load the run in this backend, re-predict the test set, save every figure as PNG.

    Returns a summary: figure paths, and how the predictions compare with the training backend's
    saved test_probs.npy (argmax agreement count, max abs probability difference).
    """
    import keras

    from mnistx.errors import MnistxError

    run_dir = runs.check_run_dir(run_dir)
    backend = keras.backend.backend()
    out_dir = Path(out_dir) if out_dir else run_dir / f"introspect-{backend}"
    if (run_dir / "eval.npz").is_file():  # a run of any model (mnistx.train.train_any)
        return introspect_any(run_dir, out_dir, cfg)
    model = load_run_model(run_dir)
    probs = np.asarray(model.predict(normalize(raw.x_test), batch_size=256, verbose=0), np.float32)
    saved = np.load(run_dir / "test_probs.npy")
    if saved.shape != probs.shape:
        raise MnistxError(f"{run_dir}: test_probs.npy has shape {saved.shape} but this test set gives "
                          f"{probs.shape}; introspect with the data the run was trained on")
    try:
        figures = make_figures(model, raw, probs, runs.read_json(run_dir / "history.json"), cfg)
    except IndexError as exc:
        raise MnistxError(str(exc)) from None
    paths = {name: str(runs.save_figure(fig, out_dir / f"{name}.png")) for name, fig in figures.items()}
    summary = {
        "run_dir": str(run_dir), "backend": backend,
        "trained_on": runs.read_json(run_dir / "meta.json").get("backend"),
        "test_images": len(probs),
        "argmax_agree": int((probs.argmax(1) == saved.argmax(1)).sum()),
        "max_abs_prob_diff": float(np.abs(probs - saved).max()),
        "test_accuracy": float((probs.argmax(1) == raw.y_test).mean()),
        "figures": paths,
        "skipped": {} if "saliency" in paths else {"saliency": saliency_not_supported()},
    }
    runs.write_json(out_dir / "introspect.json", summary)
    return summary


def introspect_any(run_dir: Path, out_dir: Path, cfg: IntrospectConfig) -> dict:
    """The figures that make sense for the run's model (mnistx/introspect/any_model.py), the
    skipped ones with the reason, and how this backend's outputs compare with the trainer's."""
    import keras

    from mnistx.backends._common import pack_inputs
    from mnistx.introspect.any_model import figures_for

    meta = runs.read_json(run_dir / "meta.json")
    model = load_run_model(run_dir)
    with np.load(run_dir / "eval.npz", allow_pickle=False) as f:
        xs = [f[f"x{i}"] for i in range(len([k for k in f.files if k.startswith("x")]))]
        y = f["y"]
    out = keras.tree.flatten(model.predict(pack_inputs(model, xs), batch_size=256, verbose=0))[0]
    outputs = np.asarray(out, np.float32)
    saved = np.load(run_dir / "test_probs.npy")
    figures, skipped = figures_for(model, xs, y, outputs, runs.read_json(run_dir / "history.json"),
                                   bool(meta.get("classifier")), cfg.image_index)
    paths = {name: str(runs.save_figure(fig, out_dir / f"{name}.png")) for name, fig in figures.items()}
    classifier = bool(meta.get("classifier")) and outputs.ndim == 2
    labels = (y.argmax(-1) if y.ndim > 1 else y) if classifier else None
    summary = {"run_dir": str(run_dir), "backend": keras.backend.backend(), "trained_on": meta.get("backend"),
               "model": meta.get("model"), "test_images": len(outputs),
               "argmax_agree": int((outputs.argmax(-1) == saved.argmax(-1)).all(axis=tuple(range(1, outputs.ndim - 1))).sum())
               if classifier else None,
               "max_abs_prob_diff": float(np.abs(outputs - saved).max()),
               "test_accuracy": float((outputs.argmax(-1) == labels).mean()) if classifier else None,
               "figures": paths, "skipped": skipped}
    runs.write_json(out_dir / "introspect.json", summary)
    return summary
