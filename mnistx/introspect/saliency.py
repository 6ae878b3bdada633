"""Saliency maps: |d class probability / d input pixel| for chosen test images.

The gradient comes from the backend adapter (jax.grad, tf.GradientTape or torch.autograd).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def not_supported() -> str | None:
    """Why this backend cannot draw saliency (it has no gradients: numpy, openvino), else None."""
    from mnistx import backends

    why = backends.UNSUPPORTED.get("gradients")
    return f"not supported by {backends.NAME}: {why}" if why else None


def saliency(model, images, classes: np.ndarray | None = None) -> np.ndarray:
    """|d output / d input| for the model's first float input, one map per sample.

    images: (N, ...) float32, or a list of arrays in the model's input order; classes (N,) ints:
    the objective sums each sample's output for its own class (one backward pass gives every
    map, as samples do not interact in inference mode); None: the sum of all outputs
    (regression). Returns |gradient| with the shape of that input, float32.
    """
    import keras

    from mnistx import backends

    xs = list(images) if isinstance(images, (list, tuple)) else [images]

    def objective(out):
        out = keras.tree.flatten(out)[0]
        if classes is None:
            return keras.ops.sum(out)
        cls = keras.ops.convert_to_tensor(np.asarray(classes, np.int32))
        return keras.ops.sum(out * keras.ops.one_hot(cls, out.shape[-1], dtype=out.dtype))

    _, _, grads_x = backends.gradients(model, xs, objective)
    first = next((g for g in grads_x if g is not None), None)
    if first is None:
        raise ValueError("the model has no floating-point input to take a saliency map of")
    return np.abs(first).astype(np.float32)


def saliency_grid(images: np.ndarray, maps: dict[str, np.ndarray], labels: np.ndarray) -> Figure:
    """Rows: images; columns: the image, then one map per backend (name -> (N, 28, 28))."""
    names = list(maps)
    rows, cols = len(images), 1 + len(names)
    fig = Figure(figsize=(2.0 * cols, 2.0 * rows), layout="constrained")
    axes = np.asarray(fig.subplots(rows, cols, squeeze=False))
    for r in range(rows):
        axes[r, 0].imshow(images[r], cmap="gray")
        axes[r, 0].set_title(f"Label {int(labels[r])}", fontsize=9)
        for c, name in enumerate(names, start=1):
            axes[r, c].imshow(maps[name][r], cmap="hot")
            if r == 0:
                axes[r, c].set_title(name, fontsize=9)
        for ax in axes[r]:
            ax.axis("off")
    fig.suptitle("Saliency |d p(class) / d pixel|")
    return fig
