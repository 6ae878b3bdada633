"""Worksheet Part 2 step 1: the first layer's learned weights as images."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from mnistx.introspect.samples import image_grid


def weight_images(kernel: np.ndarray, n: int = 10) -> tuple[np.ndarray, list[str]]:
    """First-layer kernel -> n images: Dense (784, units) gives 28x28 per neuron;
    Conv2D (kh, kw, 1, filters) gives kh x kw per filter."""
    kernel = np.asarray(kernel)
    if kernel.ndim == 2 and kernel.shape[0] == 28 * 28:
        n = min(n, kernel.shape[1])
        return kernel[:, :n].T.reshape(n, 28, 28), [f"Neuron {i}" for i in range(n)]
    if kernel.ndim == 4:
        n = min(n, kernel.shape[-1])
        return np.moveaxis(kernel[:, :, 0, :n], -1, 0), [f"Filter {i}" for i in range(n)]
    raise ValueError(f"cannot show a first-layer kernel of shape {kernel.shape} as images")


def first_layer_weights(kernel: np.ndarray, n: int = 10, layer_name: str = "first layer") -> Figure:
    """A grid of n weight images (viridis, as the worksheet), one per neuron or filter."""
    images, titles = weight_images(kernel, n)
    return image_grid(images, titles, f"Weights of {layer_name}", cmap="viridis")
