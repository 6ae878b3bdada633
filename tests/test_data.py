"""The loader: canonical MNIST checks, IDX == npz, and one clear error per bad input."""

import gzip

import numpy as np
import pytest

from mnistx import data
from mnistx.errors import DataError


def test_canonical_mnist(raw):
    assert raw.x_train.shape == (60000, 28, 28) and raw.x_test.shape == (10000, 28, 28)
    assert raw.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert raw.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(raw.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    x = raw.x_train / 255.0
    assert abs(x.mean() - 0.1307) < 1e-4 and abs(x.std() - 0.3081) < 1e-4


def test_prepare_matches_worksheet_numpy(raw):
    p = data.worksheet_split(raw, validation_split=0.2)
    assert p.x_train.shape == (48000, 28, 28) and p.x_val.shape == (12000, 28, 28)
    assert p.x_train.dtype == np.float32 and p.y_train.dtype == np.float32
    # worksheet: x / 255.0 in float64; float32 rounding only
    np.testing.assert_allclose(p.x_val, raw.x_train[48000:] / 255.0, atol=6e-8)
    # the LAST 20% is validation, as Keras's validation_split takes it
    np.testing.assert_array_equal(p.y_val.argmax(1), raw.y_train[48000:])
    np.testing.assert_array_equal(p.y_test.sum(1), np.ones(10000, np.float32))


def test_one_hot_matches_keras(rng):
    import keras

    y = rng.integers(0, 10, 50)
    np.testing.assert_array_equal(data.one_hot(y), keras.utils.to_categorical(y, 10))


# The original distribution's file names and magic numbers (yann.lecun.com/exdb/mnist), written
# out here rather than taken from the loader's own table, so a wrong entry there fails the test.
IDX_FILES = {"x_train": ("train-images-idx3-ubyte", 0x00000803), "y_train": ("train-labels-idx1-ubyte", 0x00000801),
             "x_test": ("t10k-images-idx3-ubyte", 0x00000803), "y_test": ("t10k-labels-idx1-ubyte", 0x00000801)}


def _write_idx(folder, raw, n, gz):
    for key, (filename, magic) in IDX_FILES.items():
        arr = getattr(raw, key)[:n]
        body = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape) + arr.tobytes()
        name = folder / filename
        if gz:
            with gzip.open(str(name) + ".gz", "wb") as f:
                f.write(body)
        else:
            name.write_bytes(body)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_equals_npz(tmp_path, raw, gz):
    _write_idx(tmp_path, raw, 300, gz)
    got = data.load(tmp_path)
    np.testing.assert_array_equal(got.x_train, raw.x_train[:300])
    np.testing.assert_array_equal(got.y_test, raw.y_test[:300])


def test_env_var_is_used(tmp_path, raw, monkeypatch):
    path = tmp_path / "small.npz"
    np.savez(path, x_train=raw.x_train[:20], y_train=raw.y_train[:20], x_test=raw.x_test[:5],
             y_test=raw.y_test[:5])
    monkeypatch.setenv("MNISTX_DATA", str(path))
    assert len(data.load().x_train) == 20
    other = tmp_path / "other.npz"
    np.savez(other, x_train=raw.x_train[:7], y_train=raw.y_train[:7], x_test=raw.x_test[:3], y_test=raw.y_test[:3])
    assert len(data.load(other).x_train) == 7  # an explicit path (--data) wins over $MNISTX_DATA


def _npz(tmp_path, **over):
    arrays = dict(x_train=np.zeros((4, 28, 28), np.uint8), y_train=np.arange(4, dtype=np.uint8),
                  x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.arange(2, dtype=np.uint8))
    arrays.update(over)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("over, message", [
    (dict(y_test=None), "missing keys"),
    (dict(x_train=np.zeros((4, 28, 27), np.uint8)), "expected (N, 28, 28)"),
    (dict(y_train=np.array([0, 1, 2, 10], np.uint8)), "labels outside 0..9"),
    (dict(y_train=np.arange(3, dtype=np.uint8)), "expected (4,)"),
    (dict(x_test=np.full((2, 28, 28), 300, np.int32)), "0..255"),
])
def test_bad_npz_is_one_clear_line(tmp_path, over, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        data.load(_npz(tmp_path, **over))
    assert str(tmp_path / "bad.npz") in str(err.value)  # names the file (one line: tests/faults)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        data.load(tmp_path / "nope.npz")
    good = _npz(tmp_path).read_bytes()
    (tmp_path / "trunc.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="not a readable .npz"):
        data.load(tmp_path / "trunc.npz")
    with pytest.raises(DataError, match="no train-images"):
        data.load(tmp_path)  # a folder without IDX files


def test_truncated_idx(tmp_path, raw):
    _write_idx(tmp_path, raw, 10, gz=False)
    f = tmp_path / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-7])
    with pytest.raises(DataError, match="truncated"):
        data.load(tmp_path)
    f.write_bytes(b"\x00\x00\x08\x01" + f.read_bytes()[4:])
    with pytest.raises(DataError, match="magic number 2051"):
        data.load(tmp_path)


def test_download_failure_is_clear(monkeypatch):
    import keras

    def offline():
        raise OSError("URL fetch failure: no network")

    monkeypatch.delenv("MNISTX_DATA", raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.setattr(data, "check_download", lambda: "reachable")  # the URL answers, the download fails
    with pytest.raises(DataError, match="could not download MNIST.*--data PATH"):
        data.load()


def test_the_download_is_checked_before_any_child_starts(tmp_path, monkeypatch):
    """Without --data, Keras's cache or its URL must be there; else one line in a few seconds."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(data, "MNIST_URL", "http://127.0.0.1:9/mnist.npz")  # nothing listens on port 9
    with pytest.raises(DataError, match=r"not in Keras's cache .*cannot be reached.*pass --data PATH"):
        data.check_download(timeout_s=2)
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"PK")
    assert "Keras's cache" in data.check_download(timeout_s=2)
