"""The CLI: --help everywhere, and every bad input is one line on stderr with exit code 2."""

import os
import subprocess
import sys

import numpy as np
import pytest

from mnistx.cli import main


@pytest.mark.parametrize("cmd", [[], ["train"], ["introspect"], ["info"], ["parity"], ["bench"],
                                 ["bench", "compare"], ["compare"], ["ci"], ["ci", "init"]])
def test_help(cmd, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(cmd + ["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: mnistx" in out and "SUPPRESS" not in out and "probe" not in out
    assert "example" in out or cmd == ["bench", "compare"] or cmd == ["ci", "init"]  # their parents show one
    if cmd == []:
        assert "mnistx compare" in out


@pytest.mark.parametrize("cmd", [["train", "--epochs", "1"], ["info"], ["parity", "--backends", "jax"]])
def test_unknown_keras_backend_env_is_one_line(cmd, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_BACKEND", "nosuch")
    assert main(cmd) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "KERAS_BACKEND=nosuch" in err and "tensorflow, jax, torch" in err


def _bad_npz(tmp_path):
    p = tmp_path / "labels.npz"
    np.savez(p, x_train=np.zeros((3, 28, 28), np.uint8), y_train=np.array([1, 2, 11], np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.array([0], np.uint8))
    return p


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "/no/such/mnist.npz"], "not found"),
    (["train", "--data", "{bad}"], "labels outside 0..9"),
    (["train", "--model", "resnet"], "unknown model"),
    (["train", "--epochs", "0"], "at least 1"),
    (["introspect", "/no/such/run"], "does not exist"),
    (["parity", "--backends", "jax,nosuch"], "unknown backend(s) nosuch; choose from tensorflow, jax, torch, numpy"),
    (["compare", "--backends", "numpy,openvino"], "numpy, openvino: inference only; compare needs a training backend"),
    (["ci", "init", "--backends", "jax,numpy"], "numpy: inference only, so `mnistx ci init` cannot use it"),
    (["parity", "--devices", "0"], "--devices must be a whole number from 1 to 64, not 0"),
    (["parity", "--devices", "2", "--batch-size", "33"], "a global batch of 33 does not split evenly over 2 devices"),
    (["bench", "--devices", "65"], "--devices must be a whole number from 1 to 64"),
    (["bench", "--devices", "2", "--backends", "numpy"], "--devices measures training"),
    (["parity", "--devices", "2", "--backends", "numpy,openvino"], "--devices trains data-parallel"),
])
def test_bad_input_one_line_exit_2(args, message, tmp_path, capsys, monkeypatch):
    args = [str(_bad_npz(tmp_path)) if a == "{bad}" else a for a in args]
    monkeypatch.chdir(tmp_path)  # the default --out (out/<command>) is this test's: legs run side by side,
    # and another leg's lock on ./out/parity answered "in use by another mnistx run" (seen once)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mnistx: error:") and message in err and "\n" not in err


def test_numpy_keras_backend_env_refused_where_it_would_train(monkeypatch, capsys):
    """KERAS_BACKEND=numpy is a backend mnistx knows (parity's reference), but it cannot train."""
    monkeypatch.setenv("KERAS_BACKEND", "numpy")
    assert main(["train", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "KERAS_BACKEND=numpy is inference only" in err


def test_no_traceback_from_the_console_entry(tmp_path):
    truncated = tmp_path / "t.npz"
    truncated.write_bytes(b"PK\x03\x04 not really a zip")
    out = subprocess.run([sys.executable, "-m", "mnistx", "train", "--data", str(truncated)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    ours = [line for line in out.stderr.splitlines() if "mnistx" in line]
    assert len(ours) == 1 and ours[0].startswith("mnistx: error:") and "not a readable .npz" in ours[0]
    assert "Traceback" not in out.stderr


def test_train_and_introspect_small(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--train-limit", "2000", "--out", str(run)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert main(["introspect", str(run), "--out", str(tmp_path / "figs")]) == 0
    out = capsys.readouterr().out
    assert "argmax agrees with the training backend on 10000/10000" in out
    assert (tmp_path / "figs" / "misclassified.png").stat().st_size > 0
    assert main(["introspect", str(run), "--image-index", "10000"]) == 2


def test_open_in_browser_uses_browser_env_and_says_when_it_cannot(tmp_path):
    """`compare --open`'s helper, in a fresh process (webbrowser caches its choice per process)."""
    report, got = tmp_path / "report.html", tmp_path / "url.txt"
    report.write_text("<html></html>")
    code = ("import sys; from mnistx.report import open_in_browser; "
            "print(open_in_browser(sys.argv[1])); print(open_in_browser(sys.argv[1] + '.missing'))")
    recorder = f"{sys.executable} -c \"import sys; open(r'{got}', 'w').write(sys.argv[1])\" %s"
    out = subprocess.run([sys.executable, "-c", code, str(report)], capture_output=True, text=True,
                         env={**os.environ, "BROWSER": recorder}, timeout=60)
    assert out.stdout.splitlines() == [f"opened {report} in the browser", f"no report at {report}.missing to open"]
    assert got.read_text() == report.resolve().as_uri()


def test_children_have_one_hidden_entry_and_the_public_cli_no_child_flags(capsys):
    """`python -m mnistx _child KIND DIR` is the only way a child starts; --worker, --dp-worker,
    --scaling-worker, `probe` and `info --probe` are gone from the public commands."""
    from mnistx import children

    for cmd in ("parity", "bench", "compare", "info"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        text = capsys.readouterr().out
        assert "worker" not in text and "--probe" not in text, cmd
    assert children.argv("parity", "/w")[-3:] == ["_child", "parity", "/w"]
    assert main(["_child", "nosuch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mnistx: error: _child: expected one of probe, parity") and "\n" not in err
    with pytest.raises(SystemExit):
        main(["probe", "--worker", "/w"])  # no such public command any more


@pytest.mark.parametrize("command", ["compare", "parity", "bench", "train", "ci", "atlas"])
def test_every_help_says_what_its_exit_codes_mean_and_shows_its_example_once(command, capsys):
    from mnistx.cli import EXAMPLES

    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "exit codes:" in text and "2    bad input (one line on stderr; nothing written)" in text
    assert text.count(EXAMPLES[command]) == 1, text  # ci printed its example twice
    if command == "bench":
        assert "[compare A.json B.json]" in text.split("\n\n")[0]  # not a bare "[compare] ..."


def test_data_help_says_which_layout_each_model_takes(capsys):
    with pytest.raises(SystemExit):
        main(["parity", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "the worksheet's models (mlp, cnn) take MNIST" in text and "your own --model also takes" in text


def test_bench_platform_has_its_older_name_and_is_not_devices():
    """bench --platform (cpu/gpu/auto: where) is apart from --devices (how many); --device still parses."""
    from mnistx.cli import _parser

    for flag in ("--platform", "--device"):
        args = _parser().parse_args(["bench", flag, "cpu"])
        assert args.device == "cpu" and args.devices == _parser().parse_args(["bench"]).devices
    assert _parser().parse_args(["bench"]).device == "auto"
