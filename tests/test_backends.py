"""The adapter's gradients against the closed-form softmax-regression gradient (numpy)."""

import keras
import numpy as np

from mnistx import backends


def _softmax_regression(rng):
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="softmax")])
    w = rng.standard_normal((6, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    model.set_weights([w, b])
    return model, w, b


def test_loss_gradients_match_closed_form(rng):
    model, w, b = _softmax_regression(rng)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 8)]
    z = x @ w + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    loss_ref = -np.mean(np.sum(y * np.log(p), 1))
    dz = (p - y) / len(x)  # d mean-CCE / d logits
    objective = lambda out: keras.ops.mean(keras.losses.categorical_crossentropy(y, out))  # noqa: E731
    loss, (gw, gb), (gx,) = backends.gradients(model, [x], objective)
    assert abs(loss - loss_ref) < 1e-5
    np.testing.assert_allclose(gw, x.T @ dz, atol=1e-6)
    np.testing.assert_allclose(gb, dz.sum(0), atol=1e-6)
    np.testing.assert_allclose(gx, dz @ w.T, atol=1e-6)


def test_describe_and_sync():
    d = backends.describe()
    assert d["backend"] == keras.backend.backend() and d["versions"]["keras"] == keras.__version__
    assert d["device"] and d["threads"] >= 1
    x = keras.ops.ones((3,))
    assert backends.sync(x) is x
    if backends.has_gpu():  # x lives there: the peak counts it
        assert backends.gpu_peak_bytes() > 0
    else:
        assert backends.gpu_peak_bytes() is None  # no GPU: no figure, never a made-up 0


def test_sync_and_gpu_peak_call_the_framework_on_a_gpu(monkeypatch):
    """On this CPU the GPU branches never run; pretend a GPU and record that sync() waits on the
    framework's own device sync and gpu_peak_bytes() reads the framework's own counter."""
    impl, calls = backends._impl, []
    monkeypatch.setattr(impl, "has_gpu", lambda: True)
    if backends.NAME == "torch":
        import torch

        monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: calls.append("synchronize"))
        monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a: 123)
    elif backends.NAME == "tensorflow":
        import tensorflow as tf

        monkeypatch.setattr(tf.test.experimental, "sync_devices", lambda: calls.append("sync_devices"))
        monkeypatch.setattr(tf.config.experimental, "get_memory_info", lambda dev: {"peak": 123, "current": 1})
    else:
        import jax

        class Dev:
            def memory_stats(self):
                return {"peak_bytes_in_use": 123}

        monkeypatch.setattr(jax, "block_until_ready", lambda x: calls.append("block_until_ready") or x)
        monkeypatch.setattr(jax, "devices", lambda *a: [Dev()])
    x = keras.ops.ones((3,))
    assert impl.sync(x) is x and len(calls) == 1, calls
    assert impl.gpu_peak_bytes() == 123


def test_gradients_with_two_inputs_and_token_ids(rng):
    """out = Dense(concat(x, mean(embed(ids)))): d sum(out) / d x is the kernel's x rows summed;
    the integer input gets None (not differentiable), its embedding a gradient."""
    x_in = keras.Input((3,), name="x")
    ids = keras.Input((4,), dtype="int32", name="ids")
    e = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(10, 2)(ids))
    model = keras.Model([x_in, ids], keras.layers.Dense(5)(keras.layers.Concatenate()([x_in, e])))
    x = rng.standard_normal((6, 3)).astype(np.float32)
    tok = rng.integers(0, 10, (6, 4)).astype(np.int32)
    _, grads_w, (gx, gids) = backends.gradients(model, [x, tok], lambda out: keras.ops.sum(out))
    kernel = keras.ops.convert_to_numpy(model.layers[-1].kernel)
    np.testing.assert_allclose(gx, np.tile(kernel[:3].sum(1), (6, 1)), atol=1e-6)
    assert gids is None
    emb_grad = grads_w[0]  # Embedding (10, 2): rows of tokens that occur get 1/4 x kernel rows
    counts = np.bincount(tok.ravel(), minlength=10)[:, None] / 4.0
    np.testing.assert_allclose(emb_grad, counts * kernel[3:].sum(1)[None, :], atol=1e-5)


SEEDED_DRAWS = """
import json, random, sys
import keras, numpy as np
from mnistx import backends


def draws():
    dense = keras.layers.Dense(3)
    dense.build((None, 4))
    drop = keras.ops.convert_to_numpy(keras.layers.Dropout(0.5)(np.ones((2, 8), "float32"), training=True))
    return [random.random(), np.random.rand(2).tolist(), keras.ops.convert_to_numpy(keras.random.normal((3,))).tolist(),
            keras.ops.convert_to_numpy(dense.kernel).ravel().tolist(), drop.ravel().tolist()]


backends.set_random_seed(7)
ours, tf_loaded = draws(), "tensorflow" in sys.modules
keras.utils.set_random_seed(7)
print(json.dumps({"ours": ours, "keras": draws(), "tf_loaded": tf_loaded}))
"""


def test_set_random_seed_draws_what_keras_does_without_importing_tensorflow_to_seed_it(tmp_path):
    """backends.set_random_seed(7) then Python's, NumPy's and Keras's draws (a normal, a Dense's initial
    kernel, a Dropout mask) equal those after keras.utils.set_random_seed(7), bit for bit, in a fresh
    process of this leg's backend; and only the tensorflow leg has TensorFlow loaded by then (Keras's
    function imports it to seed it: 1.7 s per child)."""
    import json
    import subprocess
    import sys

    from mnistx import spawn

    me = keras.backend.backend()
    out = subprocess.run([sys.executable, "-c", SEEDED_DRAWS], capture_output=True, text=True, timeout=300,
                         env=spawn.child_env(me))
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["ours"] == got["keras"]
    assert got["tf_loaded"] == (me == "tensorflow")


SAVED_BOTH_WAYS = r"""
import json, sys, zipfile
import keras
from mnistx import backends

inp = keras.Input((6,), name="x")
model = keras.Model(inp, keras.layers.Dense(3, name="d")(keras.layers.Reshape((2, 3))(inp)))
backends.save_model(model, sys.argv[1] + "/ours.keras")
tf_loaded = "tensorflow" in sys.modules
back = keras.saving.load_model(sys.argv[1] + "/ours.keras")
import tensorflow  # noqa: E402,F401  (now Keras's own check finds it)
model.save(sys.argv[1] + "/keras.keras")
cfg = [zipfile.ZipFile(f"{sys.argv[1]}/{n}.keras").read("config.json").decode() for n in ("ours", "keras")]
same_weights = all((a == b).all() for a, b in zip(model.get_weights(), back.get_weights()))
print(json.dumps({"tf_loaded": tf_loaded, "same_config": cfg[0] == cfg[1], "same_weights": bool(same_weights)}))
"""


def test_save_model_writes_what_keras_writes_without_importing_tensorflow(tmp_path):
    """backends.save_model writes the .keras file model.save writes (config.json the same, byte for
    byte; it loads back with the same weights), in a fresh process of this leg's backend; only the
    tensorflow leg has TensorFlow loaded by then (Keras's serializer imports it only to ask whether
    a config value is a tf.TensorShape: 1.6 s per child)."""
    import json
    import subprocess
    import sys

    from mnistx import spawn

    me = keras.backend.backend()
    out = subprocess.run([sys.executable, "-c", SAVED_BOTH_WAYS, str(tmp_path)], capture_output=True, text=True,
                         timeout=300, env=spawn.child_env(me))
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"tf_loaded": me == "tensorflow", "same_config": True, "same_weights": True}
