"""Bad input through every command that trains or compares (compare, parity, bench, converge, train): one line
on stderr, exit 2, checked in the parent before any training child starts, and no --out left behind.

`compare` used to start every backend, print the failure three times on stdout, exit 1 and write a
full report; NaN data trained to `loss: nan` with every column "ok"."""

import numpy as np
import pytest

from mnistx import data
from mnistx.cli import main

MODEL = '''import keras


def build():
    i = keras.Input((4,), name="x")
    return keras.Model(i, keras.layers.Dense(3)(i))


def as_dict():
    return {"model": 1}
'''


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("first_hour")
    (d / "m.py").write_text(MODEL)
    (d / "bad_import.py").write_text("raise ImportError('No module named mylib')\n\ndef build():\n    pass\n")
    x = np.ones((10, 4), np.float32)
    np.savez(d / "ok.npz", x=x, y=np.zeros(10, np.int64))
    np.savez(d / "len.npz", x=x, y=np.zeros(7, np.int64))
    x[2, 1], x[4, 0] = np.nan, np.inf
    np.savez(d / "nan.npz", x=x, y=np.zeros(10, np.int64))
    (d / "text.npz").write_text("hello, I am not numpy")
    return d


CASES = {  # name -> (arguments, the line's message)
    "nan": (["--model", "{d}/m.py:build", "--data", "{d}/nan.npz"], "'x' holds 1 NaN and 1 inf of 40 values"),
    "lengths": (["--model", "{d}/m.py:build", "--data", "{d}/len.npz"], "7 labels for 10 inputs"),
    "import": (["--model", "{d}/bad_import.py:build", "--data", "{d}/ok.npz"],
               "failed: ImportError: No module named mylib"),
    "dict": (["--model", "{d}/m.py:as_dict", "--data", "{d}/ok.npz"], "as_dict() returned dict, not a keras.Model"),
    "text": (["--model", "{d}/m.py:build", "--data", "{d}/text.npz"],
             "not a NumPy .npz archive: it starts with b'hello, I'"),
    "offline": ([], "MNIST is not in Keras's cache"),
}
COMMANDS = {"compare": ["compare", "--backends", "jax,torch", "--bench", "none"],
            "parity": ["parity", "--backends", "jax,torch"],
            "bench": ["bench", "--quick", "--backends", "jax,torch"],
            "converge": ["converge", "--backends", "jax,torch", "--seeds", "2"],
            "train": ["train"]}


@pytest.mark.only_in("jax")
@pytest.mark.needs_backends("jax", "torch")
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_exit_2_and_nothing_written(command, case, files, tmp_path, monkeypatch, capsys):
    args, message = CASES[case]
    if case == "offline":  # no --data, no $MNISTX_DATA, nothing cached, the URL unreachable
        monkeypatch.delenv("MNISTX_DATA", raising=False)
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
        monkeypatch.setattr(data, "MNIST_URL", "http://127.0.0.1:9/mnist.npz")
    out = tmp_path / "out"
    code = main([*COMMANDS[command], *(a.format(d=files) for a in args), "--out", str(out)])
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, (captured.out[-800:], err)
    assert err.startswith("mnistx: error:") and "\n" not in err and message in err, err
    assert message not in captured.out  # said once, on stderr
    assert not out.exists()


@pytest.mark.only_in("jax")
@pytest.mark.parametrize("backends, message", [("jax,jax", "named twice: jax"), ("jax,nosuch", "unknown backend")])
def test_backends_named_twice_or_unknown(backends, message, tmp_path, capsys):
    assert main(["compare", "--backends", backends, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and not (tmp_path / "o").exists()


@pytest.mark.only_in("jax")
def test_out_that_is_a_file_says_what_to_do(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["parity", "--out", str(tmp_path / "f")]) == 2
    assert "is a file, not a folder; choose a folder you can write" in capsys.readouterr().err
    assert (tmp_path / "f").read_text() == "x"


def test_a_column_whose_loss_went_non_finite_is_failed(tmp_path):
    from mnistx import compare, runs

    runs.write_json(tmp_path / "history.json", {"loss": [2.3, float("nan")]})
    col = {"metrics": {"test_loss": 52.03}, "run_dir": str(tmp_path)}
    assert compare._non_finite(col) == "training diverged: epoch 2 loss is nan (check the data and learning rate)"
    runs.write_json(tmp_path / "history.json", {"loss": [2.3, 0.4]})
    assert compare._non_finite(col) is None
    assert "test loss is inf" in compare._non_finite({**col, "metrics": {"test_loss": float("inf")}})


SLOW_FIRST_BUILD = '''import os
import time

import keras


def build():
    marker = os.environ["MNISTX_TEST_SLOW_MARKER"]
    if os.path.exists(marker):  # the first build only: the probe
        os.unlink(marker)
        time.sleep(12)
    i = keras.Input((4,), name="x")
    return keras.Model(i, keras.layers.Dense(3)(i))
'''


@pytest.mark.only_in("jax")
@pytest.mark.needs_backends("jax", "torch")
def test_the_python_api_is_never_silent_even_in_the_probe(tmp_path, monkeypatch, capsys):
    """The probe used to run silently (40.6 s on MobileNetV2), and the API printed nothing at all."""
    import time

    import mnistx

    (tmp_path / "slow.py").write_text(SLOW_FIRST_BUILD)
    (tmp_path / "marker").write_text("")
    monkeypatch.setenv("MNISTX_TEST_SLOW_MARKER", str(tmp_path / "marker"))
    seen = []
    r = mnistx.check_parity(f"{tmp_path}/slow.py:build", backends=("jax", "torch"), images=16, steps=1,
                            out=tmp_path / "p", progress=lambda m: seen.append((time.perf_counter(), m)))
    assert r.passed and not (tmp_path / "marker").exists()
    lines = [m for _, m in seen]
    probe = lines[:next(i for i, m in enumerate(lines) if "evaluation samples" in m)]  # before the children
    assert any("[jax] running" in m for m in probe), probe  # a heartbeat while the probe builds
    gaps = [b - a for (a, _), (b, _) in zip(seen, seen[1:])]
    assert max(gaps) < 10.0, max(gaps)
    assert not list((tmp_path / "p" / "work").rglob("*.npz"))  # bulky intermediates gone, logs kept
    assert list((tmp_path / "p" / "work").rglob("*.log"))
    mnistx.check_parity("mlp", backends=("jax", "torch"), images=16, steps=1, out=tmp_path / "q")
    assert "mnistx parity: mlp on jax, torch" in capsys.readouterr().err  # printed by default


@pytest.mark.only_in("jax")
def test_plant_layer_that_is_not_a_layer_is_bad_input(tmp_path, capsys):
    """Used to be exit 1 after 37 s of child work; now the probe refuses it, before any child."""
    out = tmp_path / "out"
    assert main(["parity", "--backends", "jax,torch", "--plant", "1e-3", "--plant-layer", "dense_9",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "--plant-layer dense_9: no layer with weights by that path; layers with weights: dense, dense_1" in err
    assert "\n" not in err and not out.exists()


@pytest.mark.only_in("jax")
def test_a_single_backend_compare_that_succeeds_exits_0(tmp_path, capsys):
    """It used to exit 1: parity cannot run on one backend, and "not run" counted as a failure."""
    code = main(["compare", "--backends", "jax", "--epochs", "1", "--train-limit", "2000", "--bench", "none",
                 "--out", str(tmp_path / "c")])
    out = capsys.readouterr().out
    assert code == 0 and "parity skipped: fewer than two backends trained" in out, out[-600:]
