"""Worksheet Part 2 steps 2-3, plus a confusion matrix: what the model predicts and gets wrong."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from mnistx.introspect.samples import image_grid


def confidence(image: np.ndarray, probs: np.ndarray, true_label: int, title: str = "") -> Figure:
    """The test image (28, 28) beside its predicted probabilities (10,) as bars: 2 axes."""
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax_img, ax_bar = fig.subplots(1, 2, width_ratios=[1, 2])
    ax_img.imshow(image, cmap="gray")
    ax_img.set_title(f"True Label: {int(true_label)}")
    ax_img.axis("off")
    k = len(probs)
    colors = ["tab:green" if d == int(true_label) else "tab:blue" for d in range(k)]
    ax_bar.bar(range(k), probs, color=colors)
    ax_bar.set_xticks(range(k) if k <= 20 else range(0, k, max(1, k // 10)))
    ax_bar.set_ylim(0, 1)
    ax_bar.set_xlabel("Digit" if k == 10 else "Class")
    ax_bar.set_ylabel("Probability")
    ax_bar.set_title(f"Prediction Confidence: {int(np.argmax(probs))} ({float(np.max(probs)):.3f})")
    if title:
        fig.suptitle(title)
    return fig


def misclassified_indices(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices where argmax(probs) != labels, most confident mistakes first."""
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != labels)
    return wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")]


def misclassified_grid(images: np.ndarray, probs: np.ndarray, labels: np.ndarray, n: int = 10) -> Figure:
    """Up to n wrong predictions: panel titles say prediction, truth and confidence."""
    idx = misclassified_indices(probs, labels)[:n]
    if len(idx) == 0:
        fig = Figure(figsize=(4, 2))
        fig.text(0.5, 0.5, "No misclassified images", ha="center", va="center")
        return fig
    pred = probs.argmax(axis=1)
    titles = [f"Pred: {pred[i]}, Truth: {labels[i]}\n({probs[i, pred[i]]:.2f})" for i in idx]
    return image_grid(images[idx], titles, f"Misclassified test images ({len(idx)} of "
                      f"{len(misclassified_indices(probs, labels))})")


def confusion_counts(probs: np.ndarray, labels: np.ndarray, k: int = 10) -> np.ndarray:
    """(k, k) int counts: rows true label, columns predicted label."""
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels), probs.argmax(axis=1)), 1)
    return counts


def confusion_matrix(probs: np.ndarray, labels: np.ndarray) -> Figure:
    """Heatmap of confusion_counts with each count written in its cell."""
    counts = confusion_counts(probs, labels, probs.shape[-1])
    fig = Figure(figsize=(6, 5.4), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(counts, cmap="Blues")
    for (t, p), c in np.ndenumerate(counts):
        ax.text(p, t, str(c), ha="center", va="center", fontsize=9,
                color="white" if c > counts.max() / 2 else "black")
    ax.set_xticks(range(len(counts)))
    ax.set_yticks(range(len(counts)))
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    acc = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"Confusion matrix (accuracy {acc:.4f})")
    fig.colorbar(im, ax=ax)
    return fig
