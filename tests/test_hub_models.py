"""KerasHub models in this backend's process, small configs from benchmarks/atlas_models.py (built
once per module): the layer trace of a task model and into a block's sublayers, what each input is
for (followed through the graph), synthetic inputs that are what the model expects, and the loss of
a model with a dict of outputs against numpy."""

import importlib.util
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from mnistx import inputs as I
from mnistx import losses, models, probe
from mnistx.backends._common import pack_inputs
from mnistx.layer_trace import leaf_layers, trace, traced_layers

pytestmark = pytest.mark.needs_hub
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def atlas():
    if importlib.util.find_spec("keras_hub") is None:
        pytest.skip("keras_hub is not installed")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import atlas_models

    keras.utils.set_random_seed(1)
    built = {n: getattr(atlas_models, n)() for n in ("bert", "bert_classifier", "opt", "vit", "resnet")}
    yield built
    sys.path.remove(str(ROOT / "benchmarks"))


def _synthetic(model, n=8, seed=0, **kw):
    info = probe.inspect(model, **kw)
    return info, I.synthetic(info["inputs"], info["output_shapes"][0], n, seed, info["int_high"], "float",
                             info["seq_len"], info["image_size"], info["max_length"], kw.get("edge_cases", False))


def test_task_model_traces_each_layer_once(atlas):
    """BertTextClassifier lists its backbone's InputLayers again: they were wrapped twice and the
    trace failed ('InputLayer' object has no attribute 'call') in every child."""
    model = atlas["bert_classifier"]
    layers = leaf_layers(model)
    assert not any(isinstance(layer, keras.layers.InputLayer) for _, layer in layers)
    assert len({id(layer) for _, layer in layers}) == len(layers)
    _, data = _synthetic(model)
    records, arrays = trace(model, pack_inputs(model, data.eval_x))
    assert records and "call" not in vars(model.backbone.get_layer("token_embedding"))
    np.testing.assert_allclose(arrays["output:0"], keras.ops.convert_to_numpy(
        model(pack_inputs(model, data.eval_x), training=False)), atol=1e-5)


def test_trace_goes_into_a_blocks_sublayers(atlas):
    """ViT's blocks call their attention, norms and dense layers inside their own call(): 2 of 37
    layers were traced; now each sublayer is a record of its own, named by path, before its block."""
    model = atlas["vit"]
    _, data = _synthetic(model, n=2)
    records, arrays = trace(model, data.eval_x[0])
    names = [r["name"] for r in records]
    inner = [n for n in names if n.startswith("transformer_block_1/") or "/transformer_block_1/" in n]
    assert len(records) > 20 and len(inner) >= 4, names
    block = next(i for i, r in enumerate(records) if r["name"].endswith("transformer_block_1"))
    assert all(names.index(n) < block for n in inner)
    assert all(records[names.index(n)]["parent"] is not None for n in inner)
    assert {p for p, _ in traced_layers(model)} >= {n.split("#")[0] for n in names}


def test_each_input_gets_the_range_of_the_embedding_it_feeds(atlas):
    """BERT's segment_ids feed a 2-row table: drawn from the token table (128) they went out of
    range (TF and torch fail, JAX returns NaN). Through a task model, the same."""
    for name in ("bert", "bert_classifier"):
        info, data = _synthetic(atlas[name], n=64)
        spec = {s["name"]: s for s in info["inputs"]}
        assert spec["segment_ids"]["high"] == 2 and spec["token_ids"]["high"] == 128, spec
        assert spec["padding_mask"]["role"] == "mask"
        x = dict(zip([s["name"] for s in info["inputs"]], data.eval_x))
        assert x["segment_ids"].max() <= 1 and x["token_ids"].max() < 128
        assert x["token_ids"].shape == (64, 16)  # the stated default length, not 1
        mask = x["padding_mask"].astype(bool)
        assert mask[:, 0].all() and not mask.all()  # never a fully masked row; some rows padded
        assert (np.diff(mask.astype(int), axis=1) <= 0).all()  # a prefix of ones
        assert (x["token_ids"][~mask] == 0).all()  # padding ids under the mask
        out = keras.ops.convert_to_numpy(keras.tree.flatten(atlas[name](pack_inputs(atlas[name], data.eval_x)))[0])
        assert np.isfinite(out).all()


def test_unknown_dimensions_come_from_stated_defaults(atlas):
    """A ResNet with image_shape (None, None, 3) 'passed' on 1x1 images; OPT's sequence is capped
    by its position embeddings (32)."""
    info, data = _synthetic(atlas["resnet"], n=2)
    assert data.eval_x[0].shape == (2, 32, 32, 3) and info["inputs"][0]["role"] == "image"
    _, data = _synthetic(atlas["resnet"], n=2, image_size=24)
    assert data.eval_x[0].shape == (2, 24, 24, 3)
    info, data = _synthetic(atlas["opt"], n=2, seq_len=100)
    assert info["max_length"] == 32 and data.eval_x[1].shape == (2, 32)
    assert any("padding mask" in line for line in I.describe(data.eval_x, info["inputs"]))
    info, data = _synthetic(atlas["opt"], n=8, edge_cases=True)  # the longest sequence, in the labels too
    assert data.eval_x[1].shape == (8, 32) and data.eval_y.shape == (8, 32, 32)
    mask = data.eval_x[0].astype(bool)
    assert not mask[3].any() and not mask[2, 0] and mask[2, -1]  # a fully masked row, a left-padded one


def test_dict_outputs_take_part_in_loss_and_training(atlas):
    """BertBackbone returns {pooled_output, sequence_output}: compile() with one loss failed ('The
    path ... can't be found'), and the gradients used the first output only."""
    model = atlas["bert"]
    info, data = _synthetic(model, n=8)
    xs = pack_inputs(model, data.eval_x)
    outs = [keras.ops.convert_to_numpy(o) for o in keras.tree.flatten(model(xs, training=False))]
    y = data.eval_y
    assert y.shape == (8, *outs[0].shape[1:])
    value = keras.ops.convert_to_numpy(losses.objective(keras.losses.MeanSquaredError(), y)(model(xs, training=False)))
    expect = np.mean((outs[0] - y) ** 2) + sum(np.mean(o ** 2) for o in outs[1:])
    np.testing.assert_allclose(value, expect, rtol=1e-5)
    twin = models.build_spec({"kind": "file", "target": str(ROOT / "benchmarks/atlas_models.py"), "function": "bert"})
    loss, ys = losses.structured(twin, keras.losses.MeanSquaredError(), y)
    assert isinstance(loss, dict) and set(loss) == {"pooled_output", "sequence_output"}
    twin.compile(optimizer=keras.optimizers.SGD(1e-2), loss=loss)
    first = float(twin.train_on_batch(xs, ys, return_dict=True)["loss"])
    assert np.isfinite(first) and first > 0


def _native_follows_keras(seed: int, **trainer_kw) -> dict:
    """The atlas GPT-2 trained 3 steps by the torch native loop and by Keras's own Adam (train_on_batch)
    from the same weights: each step's loss within 1e-5 (relative), the weights after within 1e-5, and
    they moved. Returns whether torch saw any parameter before the loop and the path of each step."""
    from mnistx.backends._torch_native import NativeTrainer

    spec = {"kind": "file", "target": str(ROOT / "benchmarks/atlas_models.py"), "function": "gpt2"}
    keras.utils.set_random_seed(seed)
    model, twin = models.build_spec(spec), models.build_spec(spec)
    init = model.get_weights()
    twin.set_weights(init)
    seen = {"parameters_before": len(list(model.parameters())), "paths": []}
    _, data = _synthetic(model, n=96)
    xs, y = data.eval_x, data.eval_y
    trainer = NativeTrainer(model, keras.losses.MeanSquaredError(), 1e-3, 32, **trainer_kw)
    twin.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mean_squared_error")
    for i in range(3):
        part = slice(32 * i, 32 * (i + 1))
        mine = trainer.train_step([x[part] for x in xs], y[part])
        seen["paths"].append((trainer.path, trainer.fused_error))
        keras_loss = float(twin.train_on_batch(pack_inputs(twin, [x[part] for x in xs]), y[part]))
        assert abs(mine - keras_loss) <= 1e-5 * abs(keras_loss), (i, mine, keras_loss)
    trainer.write_back()
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), init))  # it trained
    return seen


@pytest.mark.only_in("torch")
def test_torch_native_loop_trains_a_hub_model_that_never_ran_fit(atlas):
    """Keras's torch backend registers a KerasHub model's variables as torch parameters only once fit()
    has run. The native loop took model.parameters() and refused a fresh GPT-2 ("optimizer got an empty
    parameter list": `bench --modes native` alone), yet ran after the keras modes had fit the model. It
    trains the Keras variables themselves: 3 steps follow Keras's own Adam (train_on_batch), same weights."""
    seen = _native_follows_keras(2, compile=False)
    assert seen["parameters_before"] == 0  # the state the loop met: nothing registered with torch yet


@pytest.mark.only_in("torch")
def test_torch_one_graph_step_trains_a_hub_decoder_as_keras_does(atlas):
    """The native loop's one-graph step (forward, backward and Adam in one torch.compile graph) failed
    on every KerasHub model ("Failed to trace builtin operator": Keras's tree helper) and GPT-2 ran the
    two-graph path. With the helpers swapped during the step (backends/_torch_traceable.py) it traces,
    and its 3 steps follow Keras's own train_on_batch."""
    seen = _native_follows_keras(3, graphs=False)
    assert seen["paths"] == [("compiled-step", None)] * 3, seen


@pytest.mark.only_in("torch")
def test_torch_data_parallel_sees_every_weight_of_a_hub_model(atlas):
    """Keras's torch backend registers none of a KerasHub model's variables as torch parameters (OPT,
    GPT-2, BERT, ViT, ResNet: 0 of each), so DistributedDataParallel refused every one ("not needed when
    a module doesn't have any parameter") and `bench --devices 2` / `parity --devices 2` lost torch.
    The adapter registers them before it wraps the model."""
    from mnistx.backends.distribute.torch import _track_parameters

    model = atlas["opt"]
    _track_parameters(model)
    params = {id(p) for p in model.parameters() if p.requires_grad}
    assert {id(v.value) for v in model.trainable_variables} <= params
