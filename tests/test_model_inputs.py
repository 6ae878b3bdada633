"""Bring your own model: spec parsing and input fitting in the parent (no Keras), bad input as
one line; the loss guess; synthetic inputs from an input spec."""

import json
import zipfile

import numpy as np
import pytest

from mnistx import inputs as I
from mnistx import modelspec
from mnistx.errors import DataError, MnistxError

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def test_spec_forms():
    assert modelspec.parse("mlp") == modelspec.ModelSpec("registry", "mlp")
    spec = modelspec.parse("examples/models/mobilenet.py:build")
    assert spec.kind == "file" and spec.target.endswith("mobilenet.py") and spec.function == "build"
    assert modelspec.parse("mnistx.models:cnn") == modelspec.ModelSpec("module", "mnistx.models", "cnn")
    assert modelspec.ModelSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize("text, message", [
    ("nosuch", "unknown model 'nosuch'"),
    ("", "--model is empty"),
    ("/no/such/file.py:build", "not found"),
    ("examples/models/mobilenet.py:nosuch", r"defines no function 'nosuch' \(functions there: build\)"),
    ("examples/models/mobilenet.py:2x", "is not a Python function name"),
    ("no_such_pkg_xyz.mod:build", "cannot find module"),
    ("mnistx.models:nosuch", "defines no function 'nosuch'"),
    ("/no/such/model.keras", "not found"),
])
def test_bad_specs_are_one_line(text, message):
    with pytest.raises(MnistxError, match=message) as e:
        modelspec.parse(text)
    assert "\n" not in str(e.value)


def _keras_zip(path, config):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
    return path


def test_keras_file_checks(tmp_path):
    (tmp_path / "text.keras").write_text("not a zip")
    with pytest.raises(MnistxError, match="is not a Keras .keras archive"):
        modelspec.parse(str(tmp_path / "text.keras"))
    lam = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "Dense", "config": {"name": "d"}},
        {"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "sq"}}]}}]}}
    with pytest.raises(MnistxError, match=r"Lambda layer\(s\) sq: Keras's safe_mode refuses"):
        modelspec.parse(str(_keras_zip(tmp_path / "lam.keras", lam)))
    ok = _keras_zip(tmp_path / "ok.keras", {"class_name": "Sequential", "config": {"layers": []}})
    assert modelspec.parse(str(ok)).kind == "keras"


SPECS = [{"name": "image", "shape": [28, 28, 1], "dtype": "float32"},
         {"name": "meta", "shape": [6], "dtype": "float32"}]


def test_multi_input_arrays_are_matched_by_name(rng):
    arrays = {"x_meta": rng.random((5, 6)), "x_image": rng.integers(0, 256, (5, 28, 28, 1)).astype(np.uint8),
              "y": rng.random((5, 1)).astype(np.float32)}
    got = I.from_arrays(arrays, SPECS, "d.npz")
    assert [x.shape for x in got.eval_x] == [(5, 28, 28, 1), (5, 6)]
    np.testing.assert_allclose(got.eval_x[0], arrays["x_image"] / 255.0, atol=1e-7)  # uint8 scaled
    assert got.eval_x[1].dtype == np.float32 and I.label_kind(got.eval_y) == "float"


def test_train_test_layout_and_label_kinds(rng):
    arrays = {"x_train": rng.random((8, 3)), "y_train": rng.integers(0, 4, 8),
              "x_test": rng.random((4, 3)), "y_test": rng.integers(0, 4, 4)}
    got = I.from_arrays(arrays, [{"name": "x", "shape": [3], "dtype": "float32"}], "t.npz")
    assert len(got.eval_y) == 4 and len(got.train_y) == 8 and I.label_kind(got.eval_y) == "int"
    assert I.label_kind(np.eye(3, dtype=np.float32)[[0, 2, 1]]) == "onehot"


@pytest.mark.parametrize("arrays, message", [
    ({"x_image": np.zeros((5, 28, 28)), "x_meta": np.zeros((5, 6)), "y": np.zeros(5)},
     r"input 'image' has shape \(5, 28, 28\); the model expects \(N, 28, 28, 1\)"),
    ({"x_image": np.zeros((5, 28, 28, 1))}, r"missing arrays x_meta"),
    ({"x_image": np.zeros((5, 28, 28, 1)), "x_meta": np.zeros((4, 6)), "y": np.zeros(5)}, "different lengths"),
    ({"x_image": np.zeros((5, 28, 28, 1)), "x_meta": np.zeros((5, 6)), "y": np.zeros(3)}, "3 labels for 5 inputs"),
])
def test_misfit_data_is_one_line(arrays, message):
    with pytest.raises(DataError, match=message):
        I.from_arrays(arrays, SPECS, "d.npz")


def test_token_inputs_need_integers_and_a_range():
    tokens = [{"name": "tokens", "shape": [16], "dtype": "int32"}]
    with pytest.raises(DataError, match="takes integer ids .* holds float64"):
        I.fit_inputs({"tokens": np.zeros((2, 16))}, tokens, "d.npz")
    with pytest.raises(DataError, match="pass --int-high N"):
        I.synthetic(tokens, [4], 8, 0, None, "int")
    s = I.synthetic(tokens, [4], 8, 0, 100, "int")
    assert s.eval_x[0].dtype == np.int32 and 0 <= s.eval_x[0].min() and s.eval_x[0].max() < 100
    assert s.eval_y.shape == (8,) and s.eval_y.max() < 4
    again = I.synthetic(tokens, [4], 8, 0, 100, "int")
    assert np.array_equal(s.eval_x[0], again.eval_x[0])  # seeded


def test_pickles_and_text_files_are_named(tmp_path):
    (tmp_path / "t.npz").write_text("hello, not numpy")
    with pytest.raises(DataError, match="t.npz: not a NumPy .npz archive: it starts with b'hello"):
        I.read_npz(tmp_path / "t.npz")
    np.savez(tmp_path / "o.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="holding Python objects"):
        I.read_npz(tmp_path / "o.npz")


def test_loss_guess():
    assert I.guess_loss("int", True, 10) == {"name": "sparse_categorical_crossentropy", "from_logits": False}
    assert I.guess_loss("int", False, 10)["from_logits"] is True
    assert I.guess_loss("int", True, 1)["name"] == "binary_crossentropy"
    assert I.guess_loss("onehot", True, 10)["name"] == "categorical_crossentropy"
    assert I.guess_loss("float", False, 1)["name"] == "mean_squared_error"


def test_non_finite_data_is_refused_with_its_key_and_count(tmp_path):
    """NaN in x trained to `loss: nan` on two backends and 52.03 on the third, all shown as ok."""
    x = np.ones((10, 4), np.float32)
    x[3, 1], x[5, 0], x[6, 2] = np.nan, np.nan, np.inf
    np.savez(tmp_path / "nan.npz", x=x, y=np.zeros(10, np.int64))
    with pytest.raises(DataError, match="'x' holds 2 NaN and 1 inf of 40 values"):
        I.read_npz(tmp_path / "nan.npz")
    np.savez(tmp_path / "one.npz", x=np.ones(3))
    np.save(tmp_path / "one.npy", np.ones(3))
    (tmp_path / "one.npy").rename(tmp_path / "single.npz")
    with pytest.raises(DataError, match="a single .npy array"):
        I.read_npz(tmp_path / "single.npz")
    assert I.read_npz(tmp_path / "one.npz")["x"].shape == (3,)
