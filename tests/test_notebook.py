"""The classroom notebook: kept paired with its jupytext source, stored without outputs, and
executed end to end on this backend (1 epoch) with its figures and parity table in the outputs."""

import os
from pathlib import Path

import jupytext
import keras
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "portability.ipynb"
SOURCE = ROOT / "examples" / "portability.py"


def test_notebook_is_paired_and_stripped():
    nb, py = jupytext.read(NOTEBOOK), jupytext.read(SOURCE)
    assert [(c.cell_type, c.source) for c in nb.cells] == [(c.cell_type, c.source) for c in py.cells], \
        "examples/portability.ipynb and .py differ: run `jupytext --sync examples/portability.ipynb`"
    raw = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in raw.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code), \
        "store the notebook without outputs (jupyter nbconvert --clear-output, or jupytext --sync from .py)"


@pytest.mark.e2e
@pytest.mark.needs_backends()
def test_notebook_runs_end_to_end(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("MNISTX_NB_EPOCHS", "1")
    monkeypatch.setenv("KERAS_BACKEND", keras.backend.backend())
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs)
    markdown = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert f"on {keras.backend.backend()}" in text and "test accuracy 0.9" in text, text[-2000:]
    assert len(pngs) == 3, "weights, confidence and misclassified figures inline"
    assert "all backends agree" in text and "| outputs |" in markdown, markdown[:2000]
    assert "native" in markdown and "keras-default" in markdown, "the timing table, side by side"
    assert not [o for o in outputs if o.output_type == "error"]
