"""KerasHub models through `mnistx parity`, end to end (children on every backend): a backbone
with a dict of outputs, a task model loaded from a save_to_preset folder (`--model hub:DIR`), and a
planted change in one sublayer of a transformer block, located to that sublayer. Each runs in one
leg of the matrix (its children span every backend anyway)."""

import json
from pathlib import Path

import pytest

from mnistx.cli import main
from mnistx.config import BACKENDS

pytestmark = [pytest.mark.e2e, pytest.mark.needs_hub, pytest.mark.needs_backends()]
ATLAS = str(Path(__file__).resolve().parent.parent / "benchmarks" / "atlas_models.py")
FAST = ["--inputs", "synthetic", "--images", "256", "--activation-images", "16", "--steps", "5"]


def _parity(tmp_path, model, *extra) -> tuple[int, dict]:
    code = main(["parity", "--model", model, *FAST, "--out", str(tmp_path), *extra])
    return code, json.loads((tmp_path / "parity.json").read_text())


@pytest.mark.only_in("tensorflow")
def test_backbone_with_dict_outputs(tmp_path):
    """BertBackbone: every child failed in the trajectory stage and the report said
    'parity FAIL: 0/0 checks within tolerance across nothing'."""
    code, s = _parity(tmp_path, f"{ATLAS}:bert")
    assert code == 0, (tmp_path / "parity.md").read_text()
    assert sorted(s["compared"]) == sorted(BACKENDS)
    checks = {c["check"] for c in s["checks"]}
    assert {"outputs", "activations", "grad_weights", "trajectory_loss", "trajectory_weights"} <= checks
    assert "2 outputs" in s["outputs_note"]
    described = " ".join(s["inputs_described"])
    assert "(256, 16)" in described and "segment_embedding: 2 ids" in described and "rows padded" in described


@pytest.mark.only_in("tensorflow")
def test_planted_change_in_one_attention_projection_is_located(tmp_path):
    layer = "transformer_layer_0/self_attention_layer/query"
    code, s = _parity(tmp_path, f"{ATLAS}:bert", "--plant", "1e-2", "--plant-layer", layer)
    assert code == 1
    for pair in ("tensorflow vs torch", "jax vs torch"):  # the planted copy is the last backend's
        loc = s["first_divergence"][pair]
        assert loc["layer"] == layer and "agree_up_to" in loc, loc  # the activation locator's answer
    assert "tensorflow vs jax" not in s["first_divergence"]


@pytest.mark.only_in("jax")
def test_task_model_from_a_preset_folder(tmp_path):
    """BertTextClassifier (preprocessor=None): 'InputLayer' object has no attribute 'call' in every
    child. Loaded here through hub:DIR, the way a user's saved preset comes in."""
    import sys

    sys.path.insert(0, str(Path(ATLAS).parent))
    try:
        import atlas_models

        atlas_models.bert_classifier().save_to_preset(str(tmp_path / "preset"))
    finally:
        sys.path.remove(str(Path(ATLAS).parent))
    code, s = _parity(tmp_path / "run", f"hub:{tmp_path / 'preset'}")
    assert s["model_info"]["class"] == "BertTextClassifier" and sorted(s["compared"]) == sorted(BACKENDS)
    failing = [c for c in s["checks"] if not c["passed"]]
    if code == 1:  # the model's own compiled Adam on float-noise gradients: explained, not a fault
        assert all(c["check"].startswith("trajectory") for c in failing), failing
        assert all("only training" in d["text"] for d in s["first_divergence"].values())
    else:
        assert code == 0 and not failing


@pytest.mark.only_in("jax")
def test_left_padding_finding_is_located_in_the_attention(tmp_path):
    """The real-models finding: with the same weights, KerasHub's Llama attention differs between
    TensorFlow (a Softmax layer with the mask) and JAX/torch (the fused ops.dot_product_attention)
    at query rows whose keys are all masked. --edge-cases makes such rows; the samples that differ
    lie outside the first traced ones, so they are traced again, and the block is named."""
    code, s = _parity(tmp_path, f"{ATLAS}:llama", "--edge-cases")
    assert code == 1
    assert max(s["traced_samples"]["indices"]) >= 16, s["traced_samples"]  # beyond the first 16 traced
    outputs = {c["pair"]: c for c in s["checks"] if c["check"] == "outputs"}
    assert outputs["jax vs torch"]["passed"] and not outputs["tensorflow vs jax"]["passed"]
    for pair in ("tensorflow vs jax", "tensorflow vs torch"):
        loc = s["first_divergence"][pair]
        assert loc["layer"] == "transformer_layer_0/self_attention", loc
        assert "attention_softmax" in loc["text"] and "one backend only" in loc["text"]
    assert "left" in " ".join(s["inputs_described"])


@pytest.mark.only_in("jax")
def test_train_and_introspect_a_backbone_with_dict_outputs(tmp_path):
    """train compiled one loss for a dict of outputs (Keras: 'The path ... can't be found');
    a run trained here loads and predicts the same on torch."""
    run = tmp_path / "run"
    assert main(["train", "--model", f"{ATLAS}:bert", "--inputs", "synthetic", "--epochs", "1",
                 "--train-limit", "256", "--out", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    history = json.loads((run / "history.json").read_text())
    assert {"pooled_output_loss", "sequence_output_loss"} <= set(history) and metrics["test_loss"] > 0
    assert main(["introspect", str(run), "--backend", "torch"]) == 0
    assert (run / "introspect-torch" / "curves.png").exists()


@pytest.mark.only_in("tensorflow")
def test_compare_a_task_model_from_a_preset_folder(tmp_path):
    """`mnistx compare --model hub:DIR`: each backend trains and introspects the task model, the
    figures that need an image say why they are skipped, parity runs on the trained weights."""
    import sys

    sys.path.insert(0, str(Path(ATLAS).parent))
    try:
        import atlas_models

        atlas_models.bert_classifier().save_to_preset(str(tmp_path / "preset"))
    finally:
        sys.path.remove(str(Path(ATLAS).parent))
    out = tmp_path / "cmp"
    code = main(["compare", "--model", f"hub:{tmp_path / 'preset'}", "--inputs", "synthetic", "--backends", "jax,torch",
                 "--epochs", "1", "--train-limit", "256", "--parity-images", "64", "--parity-steps", "2",
                 "--bench", "none", "--out", str(out)])
    s = json.loads((out / "compare.json").read_text())
    assert code == 0 and s["parity"]["passed"], s["parity"].get("first_divergence")
    for b in ("jax", "torch"):
        col = s["columns"][b]
        assert col["status"] == "ok" and {"curves", "confusion"} <= set(col["introspect"]["figures"])
        assert "is not an image" in col["introspect"]["skipped"]["weights"]
    assert "BertTextClassifier" in json.dumps(s["parity"]["model_info"])


@pytest.mark.only_in("jax")
def test_converge_a_task_model_on_learnable_token_data(tmp_path):
    """BertTextClassifier (2 layers) on benchmarks/converge_text_data.py's keyword task: every seed
    learns it on every backend (chance is 1/3), and the pair gets a verdict from 3 seeds."""
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("converge_text_data", Path(ATLAS).parent / "converge_text_data.py")
    text = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(text)
    rng, arrays = np.random.default_rng(0), {}
    for split, n in (("train", 2048), ("test", 512)):
        d = text.make(n, rng)
        arrays[f"y_{split}"] = d.pop("y")
        arrays.update({f"x_{k}_{split}": v for k, v in d.items()})
    np.savez(tmp_path / "text.npz", **arrays)
    out = tmp_path / "cv"
    code = main(["converge", "--model", f"{ATLAS}:bert_classifier", "--data", str(tmp_path / "text.npz"),
                 "--backends", "jax,torch", "--seeds", "3", "--epochs", "3", "--out", str(out)])
    s = json.loads((out / "converge.json").read_text())
    assert code in (0, 1) and not s["failed"], s["failed"]
    for b in ("jax", "torch"):
        assert min(s["metrics"]["test_accuracy"]["per_backend"][b]["values"]) > 0.6, (out / "converge.md").read_text()
    assert s["metrics"]["test_accuracy"]["pairs"]["jax vs torch"]["verdict"] in ("equivalent", "different", "inconclusive")
