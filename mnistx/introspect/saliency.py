"""Saliency maps: |d class probability / d input pixel| for chosen test images.

The gradient comes from the backend adapter (jax.grad, tf.GradientTape or torch.autograd).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def saliency(model, images: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """images (N, 28, 28) float32, classes (N,) ints -> (N, 28, 28) float32 |d p_class / d x|.

    The objective sums each image's probability of its own class, so one backward pass gives
    every image's map (images do not interact in these models).
    """
    import keras

    from mnistx import backends

    mask = keras.ops.one_hot(keras.ops.convert_to_tensor(np.asarray(classes, np.int32)), 10)
    _, _, grad_x = backends.gradients(model, images, lambda p: keras.ops.sum(p * mask))
    return np.abs(grad_x).astype(np.float32)


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
