"""The atlas table from parity and bench summaries (pure Python), families read from a builder
file without importing it, and the command end to end on one KerasHub model."""

import json
from pathlib import Path

import pytest

from mnistx import atlas, atlas_report, modelspec

ROOT = Path(__file__).resolve().parent.parent


def _parity(passed, diff, text=None):
    checks = [{"check": "outputs", "pair": "tensorflow vs jax", "max_abs_diff": diff, "passed": passed},
              {"check": "grad_weights", "pair": "tensorflow vs jax", "max_abs_diff": diff / 10, "passed": True}]
    return {"checks": checks, "passed": passed, "wall_seconds": 12.0, "not_compared": {},
            "first_divergence": {"tensorflow vs jax": {"text": text}} if text else {}}


def test_rows_and_table():
    row = {"model": "m.py:llama", "label": "llama", "family": "decoder", "what": "rotary", "weights": 26784,
           "parity": atlas.parity_row(_parity(True, 1e-7)),
           "edge_cases": atlas.parity_row(_parity(False, 3.4, "differ from self_attention | softmax")),
           "inputs": ["token_ids: int32 (256, 16)"], "seconds": 80.0,
           "environments": {"jax": {"versions": {"jax": "0.10.2"}, "device": "cpu"}},
           "bench": {"jax": {"native": {"s_per_step": 0.0123, "jit_compile": True},
                             "keras-tuned": {"error": "cannot run this model"}}}}
    s = {"rows": [row], "config": {"backends": ["jax"]}, "wall_seconds": 90.0,
         "host": {"date_utc": "2026-12-01T23:00:00+00:00", "cpu_count": 2}}
    md = atlas_report.markdown(s)
    assert "| llama | decoder | 26,784 | PASS 2/2 | FAIL 1/2 | 1.0e-07 |" in md
    assert "differ from self_attention \\| softmax" in md  # a pipe in the text cannot break the table
    assert "12.3" in md and "n/a: cannot run this model" in md and "jax 0.10.2" in md
    assert row["edge_cases"]["diffs"]["outputs"] == 3.4 and row["parity"]["diffs"]["trajectory_weights"] is None


def test_families_are_read_without_importing_the_file():
    spec = modelspec.parse(str(ROOT / "benchmarks/atlas_models.py") + ":llama")
    fam = atlas.families(spec)
    assert fam["llama"][0] == "decoder" and len(fam) >= 15
    kinds = {f for f, _ in fam.values()}
    assert {"text encoder", "decoder", "encoder-decoder", "audio", "vision", "task model"} <= kinds


@pytest.mark.e2e
@pytest.mark.needs_hub
@pytest.mark.needs_backends()
@pytest.mark.only_in("tensorflow")
def test_atlas_command_on_one_model(tmp_path):
    from mnistx.cli import main

    code = main(["atlas", str(ROOT / "benchmarks/atlas_models.py") + ":gpt2", "--no-bench", "--images", "64",
                 "--out", str(tmp_path)])
    assert code == 0
    s = json.loads((tmp_path / "atlas.json").read_text())
    row = s["rows"][0]
    assert row["family"] == "decoder" and row["parity"]["passed"] and "edge_cases" in row
    assert "| gpt2 | decoder |" in (tmp_path / "atlas.md").read_text()
    assert "<table>" in (tmp_path / "atlas.html").read_text()


def test_merge_takes_each_models_latest_results():
    host = {"date_utc": "2026-12-01T23:00:00+00:00", "cpu_count": 2}
    a = {"rows": [{"label": "bert", "parity": {"passed": True}, "bench": None, "seconds": 10.0}],
         "wall_seconds": 10.0, "host": host, "config": {}}
    b = {"rows": [{"label": "bert", "bench": {"jax": {}}, "seconds": 5.0},
                  {"label": "vit", "bench": {"jax": {}}, "seconds": 4.0}], "wall_seconds": 9.0, "host": host, "config": {}}
    m = atlas.merge(a, b)
    rows = {r["label"]: r for r in m["rows"]}
    assert rows["bert"]["parity"] == {"passed": True} and rows["bert"]["bench"] == {"jax": {}}
    assert rows["bert"]["seconds"] == 15.0 and set(rows) == {"bert", "vit"} and m["wall_seconds"] == 19.0
