"""Shared fixtures. The suite runs once per backend: pytest --keras-backends=tensorflow,jax,torch
(mnistx/pytest_plugin.py) sets KERAS_BACKEND and KERAS_HOME=backends/<name> per child."""

import importlib.util
import os

import numpy as np
import pytest

# Like Keras's own conftest: torch must be imported before tensorflow in one process.
if importlib.util.find_spec("torch") is not None:
    import torch  # noqa: F401

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Collected in one backend's run only: a backend's own loop, and files whose work does not depend on
# the leg's backend (their children span every backend, or they run before Keras loads): running
# them in every leg repeated the same work three times (compare: ~4.5 min a leg). Placed so that,
# with two legs side by side (README's test command), torch's leg about equals the other two.
ONLY_IN = {"test_torch_graphs.py": "torch", "test_processes.py": "jax", "test_damaged_inputs.py": "jax",
           "test_fuzz_loaders.py": "jax", "test_report_escaping.py": "jax", "test_warmstart.py": "jax",
           "test_cnn_e2e.py": "tensorflow", "test_parity_e2e.py": "tensorflow",
           "test_inference_backends_e2e.py": "tensorflow", "test_notebook.py": "torch",
           "test_data_parallel_e2e.py": "tensorflow", "test_converge_e2e.py": "torch"}
# test_compare_e2e.py places its two tests with @pytest.mark.only_in: the five-column report in the
# torch leg, the failed-backend report (~85 s) in the JAX leg, to even the two lanes out.


def pytest_report_header(config):
    """A plain `pytest` on one backend leaves out the files placed in other legs: say which."""
    import keras

    me = keras.backend.backend()
    elsewhere = sorted(f"{f} ({b})" for f, b in ONLY_IN.items() if b != me)
    return [f"mnistx: this is the {me} leg; files that run in another leg only, not here: {', '.join(elsewhere)}; "
            "tests marked only_in(<other>) are deselected too. --keras-backends=torch,tensorflow,jax runs every leg."]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The same line after the results: `pytest -q` prints no header."""
    if config.get_verbosity() < 0:
        terminalreporter.write_line(pytest_report_header(config)[0])


def pytest_ignore_collect(collection_path, config):
    want = ONLY_IN.get(collection_path.name)
    if want:
        import keras

        return keras.backend.backend() != want
    return None


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.only_in("jax")`: the test runs in that backend's leg only (its work does not
    depend on the leg's backend); the other legs deselect it, so it is neither repeated nor skipped.
    A file in ONLY_IN named on the command line is collected (pytest_ignore_collect does not see
    such paths) and deselected here: test_torch_graphs.py failed 8 tests in the tensorflow leg."""
    marked = [i for i in items if i.get_closest_marker("only_in") or ONLY_IN.get(i.path.name)]
    if not marked:
        return
    import keras

    me = keras.backend.backend()
    drop = [i for i in marked if me not in (i.get_closest_marker("only_in").args if i.get_closest_marker("only_in")
                                            else (ONLY_IN[i.path.name],))]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [i for i in items if i not in drop]


REQUIRE_ALL = "MNISTX_REQUIRE_ALL_BACKENDS"  # .ci/run sets it: there a missing backend fails, never skips


def pytest_runtest_setup(item):
    """`@pytest.mark.needs_backends("jax", "torch")` (no names: all three) for tests whose children
    span backends. In a per-backend environment (nox, the GitHub matrix) they skip with the reason;
    under $MNISTX_REQUIRE_ALL_BACKENDS a missing backend is a failure."""
    if item.get_closest_marker("needs_hub") and importlib.util.find_spec("keras_hub") is None:
        why = "needs KerasHub (pip install --no-deps -r backends/hub/requirements-cpu.txt)"
        if os.environ.get(REQUIRE_ALL):
            pytest.fail(why + f"; ${REQUIRE_ALL} is set")
        pytest.skip(why)
    marker = item.get_closest_marker("needs_backends")
    if marker is None:
        return
    from mnistx import spawn
    from mnistx.config import BACKENDS

    missing = [b for b in (marker.args or BACKENDS) if not spawn.installed(b)]
    if missing:
        why = (f"needs {', '.join(missing)} installed too (this is a per-backend environment; "
               f"the all-backends run covers it)")
        if os.environ.get(REQUIRE_ALL):
            pytest.fail(why + f"; ${REQUIRE_ALL} is set")
        pytest.skip(why)


@pytest.fixture(scope="session")
def backend():
    import keras

    return keras.backend.backend()


@pytest.fixture(scope="session")
def raw():
    """The real MNIST ($MNISTX_DATA in CI, else Keras's download)."""
    from mnistx import data

    return data.load()


@pytest.fixture(scope="session")
def worksheet_run(tmp_path_factory, raw):
    """The worksheet's full recipe (mlp, 5 epochs, batch 32) trained once per backend."""
    from mnistx import train
    from mnistx.config import TrainConfig

    run_dir = tmp_path_factory.mktemp("run")
    metrics = train.train(TrainConfig(), run_dir, raw=raw, verbose=0)
    return run_dir, metrics


@pytest.fixture
def rng():
    return np.random.default_rng(0)
