"""Worksheet Part 1 step 3: a grid of training images with their labels."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def grid_shape(n: int, max_cols: int = 5) -> tuple[int, int]:
    cols = min(n, max_cols)
    return (n + cols - 1) // cols, cols


def image_grid(images: np.ndarray, titles: list[str], suptitle: str, cmap: str = "gray",
               max_cols: int = 5) -> Figure:
    """One panel per image (H, W), titled; returns a Figure with len(images) axes."""
    rows, cols = grid_shape(len(images), max_cols)
    fig = Figure(figsize=(2.1 * cols, 2.3 * rows), layout="constrained")
    for i, (img, title) in enumerate(zip(images, titles)):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(img, cmap=cmap)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(suptitle)
    return fig


def sample_grid(images: np.ndarray, labels: np.ndarray, n: int = 10) -> Figure:
    """images (N, 28, 28) in [0, 1] or 0..255, labels (N,) ints: the first n as a labelled grid."""
    n = min(n, len(images))
    return image_grid(images[:n], [f"Label: {int(y)}" for y in labels[:n]], "Training samples")
