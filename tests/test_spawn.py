"""Children's progress reaches the parent's console: their stage and epoch lines are relayed as
they appear, framework noise is not, and a quiet child gets a heartbeat line (never silent)."""

import sys

from mnistx import spawn
from mnistx.errors import error_line

CHILD = """
import sys, time
print("I0000 framework start-up noise", flush=True)
print("[jax] stage one", flush=True)
print("Epoch 1/2", flush=True)
print("1500/1500 - 4s - 3ms/step - accuracy: 0.9 - loss: 0.3", flush=True)
time.sleep(float(sys.argv[1]))
print("[jax] stage two", flush=True)
"""


def test_relay_and_heartbeat(tmp_path):
    lines = []
    res = spawn.run_children({"jax": [sys.executable, "-c", CHILD, "4"]}, tmp_path, timeout_s=60,
                             progress=lines.append, heartbeat_s=1.0)
    assert res["jax"].ok
    for want in ("  [jax] stage one", "  [jax] Epoch 1/2", "  [jax] 1500/1500 - 4s - 3ms/step - accuracy: 0.9 - loss: 0.3",
                 "  [jax] stage two"):
        assert want in lines, lines
    assert not any("noise" in m for m in lines)
    one, two = lines.index("  [jax] stage one"), lines.index("  [jax] stage two")
    # the 4 s quiet spell between the stages, heartbeat every 1 s: at least 2 "running" lines there
    # (counted in lines, not timed: the wall-clock gaps depend on the machine's load)
    assert one < two and sum("[jax] running," in m for m in lines[one:two]) >= 2, lines


JAX_LOG = """[jax] load done (1.2 s)
Traceback (most recent call last):
  File "/x/worker.py", line 10, in run
    out = model(x)
ValueError: Exception encountered when calling BertBackbone.call().

Index 5 is out of range for a table of 2 rows

Arguments received by BertBackbone.call():
  \u2022 inputs=torch.Tensor(shape=torch.Size([500, 1]), dtype=int32)
--------------------
For simplicity, JAX has removed its internal frames from the traceback of the following exception. Set JAX_TRACEBACK_FILTERING=off to include these."""


def test_failure_line_quotes_the_exception_not_the_last_log_line():
    """JAX's note on its frames and Keras's argument list ended the log, and were quoted as the reason."""
    line = error_line(JAX_LOG.splitlines())
    assert line.startswith("ValueError: Exception encountered when calling BertBackbone.call().")
    assert "Index 5 is out of range" in line and "JAX" not in line and "inputs=" not in line
    assert error_line(["noise", "mnistx: error: the model is bad", "more noise"]) == "the model is bad"
    assert error_line(["just a line"]) == "just a line"


def test_children_import_the_installed_package_from_any_folder(tmp_path, monkeypatch):
    """A working folder that holds a `mnistx/` directory shadowed the package in every child
    (`python -m mnistx` puts the working folder first): "cannot import name '__version__'"."""
    (tmp_path / "mnistx").mkdir()
    (tmp_path / "mnistx" / "__init__.py").write_text("raise ImportError('the wrong mnistx')\n")
    (tmp_path / "mymodels.py").write_text("X = 1\n")  # the folder's own modules still import
    monkeypatch.chdir(tmp_path)
    code = "import mnistx, mymodels; print(mnistx.__version__, mymodels.X)"
    res = spawn.run_children({"numpy": [sys.executable, "-c", code]}, tmp_path / "logs", 60, progress=lambda m: None)
    assert res["numpy"].ok, res["numpy"].tail()
    from mnistx import __version__

    assert f"{__version__} 1" in res["numpy"].tail()
