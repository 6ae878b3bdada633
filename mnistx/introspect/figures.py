"""The worksheet's figures for a run of any model: those that make sense for it, and why the
others were skipped (never an error). The worksheet's MLP on MNIST draws all seven.

    curves          always (the run's history)
    samples         the first input is image-like: (H, W), (H, W, 1) or (H, W, 3)
    weights         the first Dense/Conv2D kernel reshapes to the input image (Dense: H*W rows;
                    Conv2D: 1 or 3 input channels)
    confidence, misclassified    classifiers with an image-like input
    confusion       classifiers
    saliency        classifiers with an image-like float input (|d p(class) / d pixel|)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistx.config import IntrospectConfig
from mnistx.introspect.curves import training_curves
from mnistx.introspect.predictions import confidence, confusion_matrix, misclassified_grid
from mnistx.introspect.samples import image_grid
from mnistx.introspect.saliency import not_supported as saliency_not_supported
from mnistx.introspect.saliency import saliency, saliency_grid
from mnistx.introspect.weights import first_layer_weights


@dataclass(frozen=True)
class RunData:
    """A run's eval.npz: evaluation inputs xs (one (N, ...) array per model input), labels y
    ((N,) ids, (N, C) one-hot or float targets), the first training inputs sample_x (n, ...) with
    their labels sample_y; on_test: xs is a test split (else synthetic inputs)."""

    xs: list
    y: np.ndarray
    sample_x: np.ndarray
    sample_y: np.ndarray
    on_test: bool


def as_images(x: np.ndarray) -> np.ndarray | None:
    """(N, H, W) images to draw, or None when x is not image-like."""
    if x.ndim == 3 and min(x.shape[1:]) >= 4 and np.issubdtype(x.dtype, np.floating):
        return x
    if x.ndim == 4 and x.shape[-1] in (1, 3) and min(x.shape[1:3]) >= 4:
        return x[..., 0] if x.shape[-1] == 1 else np.clip(x, 0, 1)
    return None


def class_ids(y: np.ndarray) -> np.ndarray:
    """(N,) int64 class ids from ids or one-hot rows."""
    return (y.argmax(-1) if y.ndim > 1 else y).astype(np.int64)


def _weights(model, x0: np.ndarray, n: int):
    import keras

    from mnistx.models import first_weighted_layer

    try:
        layer = first_weighted_layer(model)
    except Exception as exc:  # no Dense/Conv2D at all
        return None, str(exc)
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    hw = x0.shape[1:3]
    if kernel.ndim == 2 and kernel.shape[0] == int(np.prod(x0.shape[1:])) and x0.shape[1:] in (hw, (*hw, 1)):
        n = min(n, kernel.shape[1])
        images = kernel[:, :n].T.reshape(n, *hw)
        return image_grid(images, [f"Neuron {i}" for i in range(n)], f"Weights of {layer.name}", cmap="viridis"), None
    if kernel.ndim == 4 and kernel.shape[2] in (1, 3):
        return first_layer_weights(kernel[:, :, :1, :], n, layer.name), None
    return None, f"the first layer's kernel {kernel.shape} does not reshape to the input {x0.shape[1:]}"


def figures_for(model, run: RunData, outputs: np.ndarray, history: dict, classifier: bool,
                cfg: IntrospectConfig = IntrospectConfig()) -> tuple[dict, dict]:
    """(name -> Figure, name -> why skipped) for a run's model on its evaluation inputs;
    outputs: the model's first output on run.xs in this backend ((N, 10) for the MLP)."""
    figs, skipped = {"curves": training_curves(history)}, {}
    images = as_images(run.xs[0])
    labels = class_ids(run.y) if classifier else None
    shown = as_images(run.sample_x)
    if images is None or shown is None:
        for name in ("samples", "weights", "confidence", "misclassified", "saliency"):
            skipped[name] = f"the first input {run.xs[0].shape[1:]} is not an image"
    else:
        shown = shown[: cfg.n_samples]
        titles = ([f"Label: {int(v)}" for v in class_ids(run.sample_y)] if classifier
                  else [f"#{i}" for i in range(len(shown))])
        figs["samples"] = image_grid(shown, titles[: len(shown)], "Training samples")
        fig, why = _weights(model, run.xs[0], cfg.n_neurons)
        if fig:
            figs["weights"] = fig
        else:
            skipped["weights"] = why
    if not classifier:
        for name in ("confidence", "misclassified", "confusion", "saliency"):
            skipped.setdefault(name, "the model is not a classifier (no cross-entropy loss over classes)")
        return figs, skipped
    figs["confusion"] = confusion_matrix(outputs, labels)
    if images is not None:
        i = cfg.image_index
        what = "Test image" if run.on_test else "Evaluation sample"
        figs["confidence"] = confidence(images[i], outputs[i], labels[i], f"{what} #{i}")
        figs["misclassified"] = misclassified_grid(images, outputs, labels, cfg.n_errors)
        if saliency_not_supported():
            skipped["saliency"] = saliency_not_supported()
        elif np.issubdtype(run.xs[0].dtype, np.floating):
            idx = np.array([j for j in cfg.saliency_indices if j < len(images)], dtype=np.int64)
            maps = saliency(model, [x[idx] for x in run.xs], labels[idx])
            maps = maps.max(-1) if maps.ndim == 4 else maps
            import keras

            figs["saliency"] = saliency_grid(images[idx], {keras.backend.backend(): maps}, labels[idx])
        else:
            skipped["saliency"] = "the first input holds integers: no gradient"
    return figs, skipped
