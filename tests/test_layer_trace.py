"""Every layer's output for one forward pass, on this backend, against numpy: Sequential nested
in a functional model (named by path), a shared layer called twice, and a subclassed model whose
call() computes between layers (recorded as ext inputs)."""

import keras
import numpy as np

from mnistx.layer_trace import leaf_layers, trace


def _dense(x, layer):
    k, b = (keras.ops.convert_to_numpy(w) for w in layer.weights)
    return x @ k + b


def test_nested_and_shared_layers(rng):
    inner = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, name="d1")], name="inner")
    shared = keras.layers.Dense(4, name="shared")
    i = keras.Input((5,))
    h = inner(i)
    out = keras.layers.Dense(2, name="head")(shared(shared(h)))
    model = keras.Model(i, out)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    records, arrays = trace(model, x)
    assert [r["name"] for r in records] == ["inner/d1", "shared", "shared#2", "head"]
    assert [r["inbound"] for r in records] == [["input:0"], ["inner/d1:0"], ["shared:0"], ["shared#2:0"]]
    h1 = _dense(x, inner.layers[0])
    h2 = _dense(_dense(h1, shared), shared)
    np.testing.assert_allclose(arrays["inner/d1:0"], h1, atol=1e-5)
    np.testing.assert_allclose(arrays["shared#2:0"], h2, atol=1e-5)
    np.testing.assert_allclose(arrays["output:0"], _dense(h2, model.get_layer("head")), atol=1e-5)
    assert "call" not in vars(shared)  # the hooks are gone afterwards


class _Sub(keras.Model):
    def __init__(self):
        super().__init__()
        self.a, self.b = keras.layers.Dense(4), keras.layers.Dense(2)

    def call(self, x):
        return self.b(self.a(x) * 2.0)


def test_subclassed_model_records_ext_inputs(rng):
    model = _Sub()
    x = rng.standard_normal((3, 6)).astype(np.float32)
    model(x)
    assert [p for p, _ in leaf_layers(model)] == [model.a.name, model.b.name]
    records, arrays = trace(model, x)
    ext = f"ext:{model.b.name}:0"
    assert records[1]["inbound"] == [ext]
    np.testing.assert_allclose(arrays[ext], 2.0 * _dense(x, model.a), atol=1e-5)
    np.testing.assert_allclose(arrays["output:0"], _dense(arrays[ext], model.b), atol=1e-5)
