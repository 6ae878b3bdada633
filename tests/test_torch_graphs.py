"""The torch native loop's CUDA-graph path, on CPU: torch.cuda's graph API replaced by stand-ins,
so capture bookkeeping (warm-up on copies, weights and Adam state restored, static buffers, reset
in place) and the fallback when capture fails are checked against the plain eager loop. The real
capture is measured on a GPU (benchmarks/gpu.sh); these tests are defined in the torch run only."""

import contextlib
import re

import keras
import numpy as np
import pytest
import torch  # collected in the torch run only (tests/conftest.py ONLY_IN)

from mnistx.backends import torch as tb

BS = 16


def _setup(rng):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    init = [w.copy() for w in model.get_weights()]
    x = rng.standard_normal((BS * 4, 12)).astype(np.float32)
    y = rng.integers(0, 3, BS * 4)
    return model, init, x, y


def _losses(model, init, x, y, steps=6, **kw):
    model.set_weights(init)
    t = tb.NativeTrainer(model, keras.losses.SparseCategoricalCrossentropy(), 1e-2, BS, compile=False, **kw)
    out = [t.train_step([x[i * BS % len(y):][:BS]], y[i * BS % len(y):][:BS]) for i in range(steps)]
    return t, out, [w.copy() for w in model.get_weights()]


class _Stand:
    """torch.cuda's stream and graph API on CPU: the graph body runs eagerly; replay re-runs the step."""

    def __init__(self, trainer_box, fail=False):
        self.box, self.fail = trainer_box, fail

    def install(self, monkeypatch):
        stream = type("S", (), {"wait_stream": lambda self, other: None})
        monkeypatch.setattr(torch.cuda, "Stream", stream)
        monkeypatch.setattr(torch.cuda, "current_stream", lambda: stream())
        monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
        box = self.box

        class Graph:
            def replay(self):
                t = box[0]
                sx, sy, sloss = t._static
                t.opt.zero_grad(set_to_none=True)
                loss = t._loss(sx, sy)
                loss.backward()
                t.opt.step()
                sloss.copy_(loss.detach())

        @contextlib.contextmanager
        def graph(g):
            if self.fail:
                raise RuntimeError("operation not permitted when stream is capturing (stand-in)")
            yield

        monkeypatch.setattr(torch.cuda, "CUDAGraph", Graph)
        monkeypatch.setattr(torch.cuda, "graph", graph)


def test_failed_capture_falls_back_from_the_same_weights(rng, monkeypatch):
    model, init, x, y = _setup(rng)
    _, want, w_want = _losses(model, init, x, y, graphs=False)
    _Stand([None], fail=True).install(monkeypatch)
    t, got, w_got = _losses(model, init, x, y, graphs=True)  # 3 warm-up steps ran, then capture failed
    assert t.path == "eager" and "stand-in" in t.graph_error
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-7)
    for a, b in zip(w_got, w_want):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)


def test_captured_step_replays_the_eager_trajectory_and_resets_in_place(rng, monkeypatch):
    model, init, x, y = _setup(rng)
    _, want, w_want = _losses(model, init, x, y, graphs=False)
    box = [None]
    _Stand(box).install(monkeypatch)
    model.set_weights(init)
    t = tb.NativeTrainer(model, keras.losses.SparseCategoricalCrossentropy(), 1e-2, BS, compile=False, graphs=True)
    box[0] = t
    got = [t.train_step([x[i * BS % len(y):][:BS]], y[i * BS % len(y):][:BS]) for i in range(6)]
    assert t.path == "cuda-graph" and t.graph_error is None
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)  # warm-up undone, Adam state fresh
    for a, b in zip(model.get_weights(), w_want):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    state = [v for s in t.opt.state.values() for v in s.values() if torch.is_tensor(v)]
    model.set_weights(init)
    t.reset()
    assert all(float(v.abs().max()) == 0 for v in state)  # the same tensors, zeroed (the graph holds them)
    again = [t.train_step([x[i * BS % len(y):][:BS]], y[i * BS % len(y):][:BS]) for i in range(6)]
    np.testing.assert_allclose(again, want, rtol=0, atol=1e-6)


def test_partial_batches_and_cpu_default_stay_on_the_eager_or_compiled_loop(rng):
    model, init, x, y = _setup(rng)
    t = tb.NativeTrainer(model, keras.losses.SparseCategoricalCrossentropy(), 1e-2, BS, compile=False)
    assert t.graphs is False and t.path == "eager"  # CPU: no capture attempted
    assert np.isfinite(t.train_step([x[:5]], y[:5]))


def test_the_one_graph_step_and_its_chunks_follow_the_stepped_loop(rng):
    """CPU: the whole step (forward, backward, Adam) is one compiled graph, and train_epoch's
    chunks of CHUNK_STEPS steps land on the same weights as one call per step (tolerance 1e-6)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    init = model.get_weights()
    n = 2 * tb.NativeTrainer.CHUNK_STEPS + 1  # two chunks and one stepped remainder
    x, y = rng.random((n * BS, 28, 28), dtype=np.float32), np.eye(10, dtype=np.float32)[rng.integers(0, 10, n * BS)]
    t = tb.NativeTrainer(model, keras.losses.CategoricalCrossentropy(), 1e-2, BS, graphs=False)
    assert t.path == "compiled-step" and t.epoch_loop == "compiled" and t.fused_error is None
    stepped = np.mean([t.train_step([x[i * BS:(i + 1) * BS]], y[i * BS:(i + 1) * BS]) for i in range(n)])
    w_stepped = model.get_weights()
    model.set_weights(init)
    t.reset()
    chunked = t.train_epoch([x], y)
    assert t.epoch_loop == "compiled" and t.chunk_error is None
    assert abs(chunked - stepped) < 1e-6
    assert max(float(np.abs(a - b).max()) for a, b in zip(w_stepped, model.get_weights())) < 1e-6
    assert max(float(np.abs(a - b).max()) for a, b in zip(w_stepped, init)) > 1e-3  # it trained


class _HostCall(keras.layers.Layer):
    """Calls a function torch.compile must not trace (as a host read or a foreign library would be)."""

    def call(self, x):
        return _untraceable(x)


@torch.compiler.disable
def _untraceable(x):
    return x * 1.0


def test_a_step_the_one_graph_cannot_trace_falls_back_and_says_why(rng):
    """A layer the one-graph step cannot trace: the two-graph path trains from the same weights,
    and fused_error names the cause."""
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(16, activation="relu"),
                              _HostCall(), keras.layers.Dense(10, activation="softmax")])
    x, y = rng.random((4 * BS, 28, 28), dtype=np.float32), np.eye(10, dtype=np.float32)[rng.integers(0, 10, 4 * BS)]
    before = [w.copy() for w in model.get_weights()]
    t = tb.NativeTrainer(model, keras.losses.CategoricalCrossentropy(), 1e-2, BS, graphs=False)
    losses = [t.train_step([x[i * BS:(i + 1) * BS]], y[i * BS:(i + 1) * BS]) for i in range(4)]
    assert t.path == "torch.compile" and t.epoch_loop == "python" and t.fused_error
    assert np.isfinite(losses).all()
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # it trained


@pytest.mark.parametrize("isolate", [True, False], ids=["isolate_recompiles", "own-code-copy"])
def test_every_trainer_in_a_process_compiles_its_own_step(rng, monkeypatch, isolate):
    """Trainers one after another in one process, each at its own batch size, a Dropout in the model
    (as bench runs a mode per batch size and model). Dynamo counts recompiles per code object, and
    every trainer compiles the same methods: with the limit at 2, the third trainer's one-graph step
    failed (FailOnRecompileLimitHit); and after a second batch size dynamo made the batch dimension
    symbolic, where functorch's dropout fails. Each trainer now has its own cache, static shapes."""
    from mnistx.backends import _torch_native

    monkeypatch.setattr(_torch_native, "ISOLATE", isolate and _torch_native.ISOLATE)
    x, y = rng.standard_normal((BS, 12)).astype(np.float32), rng.integers(0, 3, BS)
    with torch._dynamo.config.patch(recompile_limit=2):
        for bs in (BS, BS // 2, BS // 4):
            model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(8, activation="relu"),
                                      keras.layers.Dropout(0.5), keras.layers.Dense(3, activation="softmax")])
            t = tb.NativeTrainer(model, keras.losses.SparseCategoricalCrossentropy(), 1e-2, bs, graphs=False)
            loss = t.train_step([x[:bs]], y[:bs])
            assert (bs, t.path, t.fused_error) == (bs, "compiled-step", None) and np.isfinite(loss)


def _keras_tuned_mlp(rng):
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    x, y = rng.standard_normal((BS, 12)).astype(np.float32), rng.standard_normal((BS, 3)).astype(np.float32)
    return lambda: [model.train_on_batch(x, y) for _ in range(2)]


def test_dynamo_giving_up_is_counted_and_forget_compiled_starts_again(rng):
    """Keras compiles every model's train step from the same code, and dynamo's recompile limit
    counts across the process: with the limit at 3, the second model's step is not compiled (it
    runs eager) and compilations() counts it in gave_up, which the bench flags; after
    forget_compiled() (the bench calls it before each mode) a third model's step compiles all its
    graphs again, as the first did."""
    from mnistx import backends
    from mnistx.bench import bookkeeping as B

    def counted(run):
        before = backends.compilations()
        run()
        return B.delta(before, backends.compilations())

    with torch._dynamo.config.patch(recompile_limit=3):
        backends.forget_compiled()
        first, second = counted(_keras_tuned_mlp(rng)), counted(_keras_tuned_mlp(rng))
        backends.forget_compiled()
        third = counted(_keras_tuned_mlp(rng))
    assert first["compiles"] > 0 and first["gave_up"] == 0, first
    assert second["gave_up"] >= 1 and len(second["gave_up_on"]) == second["gave_up"], second
    assert all(re.fullmatch(r"[\w<>]+ \(\S+\.py:\d+\)", name) for name in second["gave_up_on"]), second  # fn (file.py:12)
    assert (third["compiles"], third["gave_up"]) == (first["compiles"], 0), (first, third)  # as fresh as the first
    assert any("dynamo gave up" in f for f in B.flags({"compiles": {"first_call": second}}))


def _structures():
    import collections

    point = collections.namedtuple("point", "b a")
    arr = np.zeros(2)
    nested = {"z": [arr, (1, {"y": 2, "x": 3})], "a": None}
    return [arr, None, 3, (arr, arr), [arr, (arr, [arr])], nested, {"b": 1, "a": {"d": 4, "c": 5}},
            collections.defaultdict(list, {"q": [1], "p": [2]}), collections.OrderedDict([("b", 1), ("a", 2)]),
            point(b=arr, a={"y": 1, "x": 2}), ({"b": 1, "a": 2},), [[{"b": (), "a": []}]]]


def _same(a, b) -> bool:
    """Equal types, dict key order and leaves, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a is b or a == b


def test_the_traceable_tree_helper_orders_every_structure_as_keras_does():
    """mnistx.backends._torch_traceable.ordered_dicts against Keras's own
    torchtree_impl._dict_to_ordered_dict on nested dicts, lists, tuples, a namedtuple, an
    OrderedDict, a defaultdict and leaves: the same types, key order and leaves."""
    from keras.src.tree import torchtree_impl

    from mnistx.backends._torch_traceable import ordered_dicts

    for s in _structures():
        assert _same(ordered_dicts(s), torchtree_impl._dict_to_ordered_dict(s)), s


def test_keras_never_uses_flash_attention_off_cuda_so_the_substitute_may_say_so():
    """The substitute answers False for a CPU tensor without building SDPAParams; Keras's own check
    answers the same for every dtype, mask and is_causal here. The originals are back after the block."""
    from keras.src.backend.torch import nn as torch_nn
    from keras.src.tree import torchtree_impl

    from mnistx.backends._torch_traceable import keras_traceable

    original, tree_helper = torch_nn._can_use_flash_attention, torchtree_impl._dict_to_ordered_dict
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        q = torch.randn(2, 4, 16, 8, dtype=dtype)
        for mask in (None, torch.zeros(2, 4, 16, 16, dtype=dtype)):
            for causal in (False, True):
                assert original(q, q, q, mask, causal) is False
                with keras_traceable():
                    assert torch_nn._can_use_flash_attention(q, q, q, mask, causal) is False
    with pytest.raises(KeyError), keras_traceable():
        assert torchtree_impl._dict_to_ordered_dict is not tree_helper
        raise KeyError("inside")
    assert (torch_nn._can_use_flash_attention, torchtree_impl._dict_to_ordered_dict) == (original, tree_helper)


class _NoMask(keras.layers.Layer):
    """A layer without mask support: Keras warns in Layer.__call__ when a mask reaches it (KerasHub's T5)."""

    def call(self, x):
        return keras.ops.mean(x, axis=1)


def test_a_warning_inside_a_layer_call_does_not_break_the_one_graph_step(rng):
    """dynamo cannot put warnings.warn in a graph, so a model whose layer warns in Layer.__call__
    (a mask reaching a layer without mask support: KerasHub's T5) fell back to the two-graph loop.
    The step now lets dynamo move the call out of the graph (reorderable_logging_functions): one
    graph, training as the eager loop. Keras raised the warning when the model was built; the
    compiled step does not raise it again (measured with torch 2.13; the eager loop does, per step)."""
    inp = keras.Input((6,), dtype="int32")
    out = keras.layers.Dense(3, activation="softmax")(_NoMask()(keras.layers.Embedding(20, 4, mask_zero=True)(inp)))
    model = keras.Model(inp, out)
    init = [w.copy() for w in model.get_weights()]
    x, y = rng.integers(0, 20, (2 * BS, 6)).astype("int32"), rng.integers(0, 3, 2 * BS)
    t = tb.NativeTrainer(model, keras.losses.SparseCategoricalCrossentropy(), 1e-2, BS, graphs=False)
    compiled = [t.train_step([x[i * BS:(i + 1) * BS]], y[i * BS:(i + 1) * BS]) for i in range(2)]
    assert (t.path, t.fused_error) == ("compiled-step", None)
    model.set_weights(init)
    e = tb.NativeTrainer(model, keras.losses.SparseCategoricalCrossentropy(), 1e-2, BS, compile=False)
    eager = [e.train_step([x[i * BS:(i + 1) * BS]], y[i * BS:(i + 1) * BS]) for i in range(2)]
    np.testing.assert_allclose(compiled, eager, rtol=1e-5)
