"""The registry: exactly the worksheet's MLP, and its forward pass against numpy."""

import keras
import numpy as np
import pytest

from mnistx import models
from mnistx.errors import MnistxError


def test_mlp_is_the_worksheet_network():
    m = models.mlp()
    kinds = [(type(l).__name__, getattr(l, "units", None), getattr(getattr(l, "activation", None),
              "__name__", None)) for l in m.layers]
    assert kinds == [("Flatten", None, None), ("Dense", 128, "relu"), ("Dense", 64, "relu"),
                     ("Dense", 10, "softmax")]
    assert m.count_params() == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10 == 109386
    assert models.first_weighted_layer(m) is m.layers[1]  # the worksheet's model.layers[1]


def test_cnn_shape_and_size():
    m = models.cnn()
    assert m.output_shape == (None, 10)
    assert m.count_params() == 34826


def test_mlp_forward_matches_numpy(rng):
    """Same weights, numpy reference forward pass; float32 tolerance 2e-6."""
    m = models.mlp()
    x = rng.random((16, 28, 28), dtype=np.float32)
    w1, b1, w2, b2, w3, b3 = m.get_weights()
    h = np.maximum(x.reshape(16, -1) @ w1 + b1, 0)
    h = np.maximum(h @ w2 + b2, 0)
    z = h @ w3 + b3
    ref = np.exp(z - z.max(1, keepdims=True))
    ref /= ref.sum(1, keepdims=True)
    got = keras.ops.convert_to_numpy(m(x))
    np.testing.assert_allclose(got, ref, atol=2e-6)
    penult = keras.ops.convert_to_numpy(keras.Model(m.inputs[0], [layer.output for layer in m.layers])(x)[2])
    np.testing.assert_allclose(penult, h, atol=1e-5)  # the second hidden layer, as numpy computes it


def test_unknown_model():
    with pytest.raises(MnistxError, match="unknown model 'resnet'.*mlp, cnn"):
        models.build("resnet")


def test_keras20713_cnn_is_the_issues_network_and_the_registry_cnn_without_dropout(rng):
    """examples/models/keras20713_cnn.py: the layers keras-team/keras#20713 names, the registry
    cnn's weights (34,826) with no Dropout, and the same function: cnn's weights give its outputs."""
    from mnistx import modelspec

    m = models.build_spec(modelspec.parse("examples/models/keras20713_cnn.py:build"))
    names = [layer.name for layer in m.layers[1:]]
    assert names == ["channel", "conv_1", "pool_1", "conv_2", "pool_2", "flatten", "dense"]
    assert m.count_params() == 34826 and m.output_shape == (None, 10)
    ref = models.cnn()
    m.set_weights(ref.get_weights())
    x = rng.random((8, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(m(x)), keras.ops.convert_to_numpy(ref(x, training=False)),
                               atol=1e-6)
