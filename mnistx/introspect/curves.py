"""Training curves: loss and accuracy per epoch, train and validation."""

from __future__ import annotations

from matplotlib.figure import Figure


def training_curves(history: dict) -> Figure:
    """history as Keras's History.history ({"loss": [...], "val_loss": [...], ...}): 2 axes."""
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key, style in ((metric, "-o"), (f"val_{metric}", "--s")):
            if history.get(key):
                epochs = range(1, len(history[key]) + 1)
                ax.plot(epochs, history[key], style, label=key)
        ax.set_xlabel("Epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric.capitalize())
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
        else:  # a regression model has no accuracy
            ax.text(0.5, 0.5, f"no {metric} recorded", ha="center", va="center", transform=ax.transAxes)
        ax.grid(alpha=0.3)
    return fig
