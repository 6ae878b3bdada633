"""Introspection for any model: the worksheet's figures that make sense for it, and why the
others were skipped (never an error).

    curves          always (the run's history)
    samples         the first input is image-like: (H, W), (H, W, 1) or (H, W, 3)
    weights         the first Dense/Conv2D kernel reshapes to the input image (Dense: H*W rows;
                    Conv2D: 1 or 3 input channels)
    confidence, misclassified    classifiers with an image-like input
    confusion       classifiers
    saliency        classifiers with an image-like float input (|d p(class) / d pixel|)
"""

from __future__ import annotations

import numpy as np

from mnistx.introspect.curves import training_curves
from mnistx.introspect.predictions import confidence, confusion_matrix, misclassified_grid
from mnistx.introspect.samples import image_grid
from mnistx.introspect.saliency import not_supported as saliency_not_supported
from mnistx.introspect.saliency import saliency, saliency_grid
from mnistx.introspect.weights import first_layer_weights


def as_images(x: np.ndarray) -> np.ndarray | None:
    """(N, H, W) images to draw, or None when x is not image-like."""
    if x.ndim == 3 and min(x.shape[1:]) >= 4 and np.issubdtype(x.dtype, np.floating):
        return x
    if x.ndim == 4 and x.shape[-1] in (1, 3) and min(x.shape[1:3]) >= 4:
        return x[..., 0] if x.shape[-1] == 1 else np.clip(x, 0, 1)
    return None


def _weights(model, x0: np.ndarray):
    import keras

    from mnistx.models import first_weighted_layer

    try:
        layer = first_weighted_layer(model)
    except Exception as exc:  # no Dense/Conv2D at all
        return None, str(exc)
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    hw = x0.shape[1:3]
    if kernel.ndim == 2 and kernel.shape[0] == int(np.prod(x0.shape[1:])) and x0.shape[1:] in (hw, (*hw, 1)):
        n = min(10, kernel.shape[1])
        images = kernel[:, :n].T.reshape(n, *hw)
        return image_grid(images, [f"Neuron {i}" for i in range(n)], f"Weights of {layer.name}", cmap="viridis"), None
    if kernel.ndim == 4 and kernel.shape[2] in (1, 3):
        return first_layer_weights(kernel[:, :, :1, :], 10, layer.name), None
    return None, f"the first layer's kernel {kernel.shape} does not reshape to the input {x0.shape[1:]}"


def figures_for(model, xs: list, y: np.ndarray, outputs: np.ndarray, history: dict, classifier: bool,
                image_index: int = 0) -> tuple[dict, dict]:
    """(name -> Figure, name -> why skipped) for a run of any model on its evaluation inputs."""
    figs, skipped = {"curves": training_curves(history)}, {}
    images = as_images(xs[0])
    labels = (y.argmax(-1) if y.ndim > 1 else y).astype(np.int64) if classifier else None
    if images is None:
        for name in ("samples", "weights", "confidence", "misclassified", "saliency"):
            skipped[name] = f"the first input {xs[0].shape[1:]} is not an image"
    else:
        titles = [f"Label: {int(v)}" for v in labels[:10]] if classifier else [f"#{i}" for i in range(10)]
        figs["samples"] = image_grid(images[:10], titles[: len(images[:10])], "Evaluation samples")
        fig, why = _weights(model, xs[0])
        figs.update({"weights": fig} if fig else {}) or (skipped.update({"weights": why}) if why else None)
    if not classifier:
        for name in ("confidence", "misclassified", "confusion", "saliency"):
            skipped.setdefault(name, "the model is not a classifier (no cross-entropy loss over classes)")
        return figs, skipped
    figs["confusion"] = confusion_matrix(outputs, labels)
    if images is not None:
        i = min(max(image_index, 0), len(images) - 1)
        figs["confidence"] = confidence(images[i], outputs[i], labels[i], f"Evaluation sample #{i}")
        figs["misclassified"] = misclassified_grid(images, outputs, labels)
        if saliency_not_supported():
            skipped["saliency"] = saliency_not_supported()
        elif np.issubdtype(xs[0].dtype, np.floating):
            idx = np.arange(min(5, len(images)))
            maps = saliency(model, [x[idx] for x in xs], labels[idx])
            maps = maps.max(-1) if maps.ndim == 4 else maps
            import keras

            figs["saliency"] = saliency_grid(images[idx], {keras.backend.backend(): maps}, labels[idx])
        else:
            skipped["saliency"] = "the first input holds integers: no gradient"
    return figs, skipped
