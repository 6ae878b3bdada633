"""Damaged, truncated or foreign run directories given to `introspect` and `parity --run`:
one line on stderr, exit 2, nothing written -- checked in the parent before Keras or any child."""

import json
import shutil
import zipfile

import numpy as np
import pytest

from mnistx.cli import main


@pytest.fixture(scope="module")
def good_run(tmp_path_factory, raw):
    from mnistx import train
    from mnistx.config import TrainConfig

    run = tmp_path_factory.mktemp("good")
    train.train(TrainConfig(epochs=1, train_limit=2000), run, raw=raw, verbose=0)
    return run


def _half(p):
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _foreign_zip(p):
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", "not a model")


def _lambda_model(p):
    import keras

    inp = keras.Input((28, 28))
    out = keras.layers.Lambda(lambda t: t * 2.0, name="double")(keras.layers.Flatten()(inp))
    keras.Model(inp, keras.layers.Dense(10)(out)).save(p)


DAMAGE = {  # case -> (file, how, words the error must contain)
    "keras truncated": ("model.keras", _half, "not a .keras zip archive"),
    "keras foreign zip": ("model.keras", _foreign_zip, "no config.json"),
    "keras Lambda layer": ("model.keras", _lambda_model, "safe_mode"),
    "weights.h5 is text": ("model.weights.h5", lambda p: p.write_text("hello"), "not an HDF5 file"),
    "metrics.json garbage": ("metrics.json", lambda p: p.write_bytes(b'{"a": \xff'), "damaged"),
    "probs truncated": ("test_probs.npy", _half, "truncated"),
    "probs header garbled": ("test_probs.npy",  # numpy's header parser raises SyntaxError/TokenError here
                             lambda p: p.write_bytes(p.read_bytes().replace(b"(10000, 10)", b"(10000( 10)", 1)),
                             "damaged"),
    "probs pickled": ("test_probs.npy", lambda p: np.save(p, np.array([{}], dtype=object)), "Python objects"),
    "meta.json missing": ("meta.json", lambda p: p.unlink(), "missing meta.json"),
    "eval.npz truncated": ("eval.npz", _half, "not an .npz archive"),
    "eval.npz missing (an older run)": ("eval.npz", lambda p: p.unlink(), "written by an older mnistx"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_run_is_one_line_exit_2(tmp_path, good_run, capsys, case):
    name, damage, words = DAMAGE[case]
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    damage(run / name)
    for argv in (["introspect", str(run), "--out", str(tmp_path / "fig")],
                 ["parity", "--run", str(run), "--out", str(tmp_path / "par")]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("mnistx: error: ") and words in err[0], err
        assert not (tmp_path / "fig").exists() and not (tmp_path / "par").exists()  # nothing written


def test_the_good_run_passes_the_same_check(good_run):
    from mnistx import runs

    assert runs.check_run_dir(good_run) == good_run
    assert json.loads((good_run / "meta.json").read_text())["model"] == "mlp"
