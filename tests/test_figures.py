"""Figure functions on small synthetic arrays: panel counts and the numbers they show."""

import numpy as np
import pytest

from mnistx.introspect import curves, predictions, samples, weights


def _probs(rng, labels, wrong):
    p = rng.random((len(labels), 10)).astype(np.float32) * 0.1
    p[np.arange(len(labels)), labels] = 1.0
    for i in wrong:
        p[i, (labels[i] + 1) % 10] = 2.0 + i / 100  # confidently wrong
    return p / p.sum(1, keepdims=True)


def test_sample_grid_panels(rng):
    fig = samples.sample_grid(rng.random((12, 28, 28)), np.arange(12) % 10, n=10)
    assert len(fig.axes) == 10
    assert fig.axes[3].get_title() == "Label: 3"


@pytest.mark.parametrize("shape, n, img", [((784, 128), 10, (28, 28)), ((3, 3, 1, 32), 8, (3, 3))])
def test_weight_images(shape, n, img, rng):
    kernel = rng.standard_normal(shape).astype(np.float32)
    images, titles = weights.weight_images(kernel, n)
    assert images.shape == (n, *img) and len(titles) == n
    if len(shape) == 2:  # neuron i's image is column i of the kernel
        np.testing.assert_array_equal(images[4].ravel(), kernel[:, 4])
    assert len(weights.first_layer_weights(kernel, n).axes) == n


def test_misclassified_most_confident_first(rng):
    labels = np.arange(40) % 10
    p = _probs(rng, labels, wrong=[3, 7, 20])
    idx = predictions.misclassified_indices(p, labels)
    assert sorted(idx.tolist()) == [3, 7, 20] and idx[0] == 20  # 20 was made the most confident
    fig = predictions.misclassified_grid(rng.random((40, 28, 28)), p, labels, n=10)
    assert len(fig.axes) == 3
    assert fig.axes[0].get_title().startswith(f"Pred: {(labels[20] + 1) % 10}, Truth: {labels[20]}")


def test_confusion_counts_against_a_loop(rng):
    labels = rng.integers(0, 10, 500)
    p = rng.random((500, 10))
    counts = predictions.confusion_counts(p, labels)
    ref = np.zeros((10, 10), int)
    for t, q in zip(labels, p.argmax(1)):
        ref[t, q] += 1
    np.testing.assert_array_equal(counts, ref)
    assert len(predictions.confusion_matrix(p, labels).axes) == 2  # matrix + colorbar


def test_confidence_and_curves(rng):
    p = _probs(rng, np.array([4]), wrong=[])[0]
    fig = predictions.confidence(rng.random((28, 28)), p, 4)
    assert len(fig.axes) == 2
    assert [b.get_height() for b in fig.axes[1].patches] == pytest.approx(p.tolist())
    h = {"loss": [0.3, 0.2], "val_loss": [0.25, 0.2], "accuracy": [0.9, 0.95], "val_accuracy": [0.92, 0.94]}
    fig = curves.training_curves(h)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
