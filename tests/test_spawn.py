"""Children's progress reaches the parent's console: their stage and epoch lines are relayed as
they appear, framework noise is not, and a quiet child gets a heartbeat line (never silent)."""

import sys

from mnistx import faults, spawn
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


ENV_CHILD = """
import os
keys = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "JAX_COMPILATION_CACHE_DIR")
print("[x] " + " ".join(f"{k}={os.environ.get(k, '-')}" for k in keys), flush=True)
"""


def _env_lines(tmp_path, names, parallel, **kw) -> dict:
    lines = []
    done = spawn.run_children({b: [sys.executable, "-c", ENV_CHILD] for b in names}, tmp_path / "logs",
                              timeout_s=60, parallel=parallel, progress=lines.append, **kw)
    assert all(r.ok for r in done.values())
    return {b: open(done[b].log).read().strip() for b in names}


def test_children_side_by_side_share_the_cores(tmp_path, monkeypatch):
    """Three 2-thread children on 2 cores waited for each other (a torch forward pass of a small
    Llama: 21.8 s instead of 1.2 s): side by side, each gets cores // children threads; one after
    another, each gets every core; a variable the user set is kept."""
    from mnistx import devices

    for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "JAX_COMPILATION_CACHE_DIR", devices.JAX_CACHE_ENV):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(devices, "cores", lambda: 2)
    side = _env_lines(tmp_path / "a", ["tensorflow", "torch", "numpy"], parallel=True)
    assert all("OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1" in v for v in side.values()), side
    alone = _env_lines(tmp_path / "b", ["tensorflow", "torch", "numpy"], parallel=False)
    assert all("OMP_NUM_THREADS=- TF_NUM_INTRAOP_THREADS=-" in v for v in alone.values()), alone
    monkeypatch.setattr(devices, "cores", lambda: 16)
    assert devices.thread_env(3, environ={})["OMP_NUM_THREADS"] == "5"
    assert devices.thread_env(3, environ={"OMP_NUM_THREADS": "7"}).get("OMP_NUM_THREADS") is None
    assert devices.thread_env(1, environ={}) == {}


def test_jax_children_keep_their_compiled_code_but_not_a_benchmark(tmp_path, monkeypatch):
    """JAX's persistent compilation cache for jax children (every executable kept), under
    $XDG_CACHE_HOME/mnistx/jax; not for other backends, not with compile_cache=False (the bench
    times first calls), and not when the user chose otherwise."""
    from mnistx import devices

    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.delenv(devices.JAX_CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    got = _env_lines(tmp_path / "a", ["jax", "torch"], parallel=False)
    assert f"JAX_COMPILATION_CACHE_DIR={tmp_path / 'cache' / 'mnistx' / 'jax'}" in got["jax"], got
    assert "JAX_COMPILATION_CACHE_DIR=-" in got["torch"], got
    assert "JAX_COMPILATION_CACHE_DIR=-" in _env_lines(tmp_path / "b", ["jax"], False, compile_cache=False)["jax"]
    assert devices.compile_cache_env({devices.JAX_CACHE_ENV: "off"}) == {}
    assert devices.compile_cache_env({"JAX_COMPILATION_CACHE_DIR": "/mine"}) == {}
    assert devices.compile_cache_env({devices.JAX_CACHE_ENV: "/here"})["JAX_COMPILATION_CACHE_DIR"] == "/here"


def test_an_injected_fault_can_name_the_kind_of_child(monkeypatch):
    """$MNISTX_FAULT items BACKEND[:MODE][@KIND]: with @KIND only a child of that kind fails."""
    monkeypatch.setenv(faults.FAULT_ENV, "torch:hang@parity-dp,jax")
    assert faults.faults("parity-dp") == {"torch": "hang", "jax": "error"}
    assert faults.faults("parity") == {"jax": "error"} and faults.faults(None) == {"jax": "error"}
