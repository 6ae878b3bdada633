"""The comparison logic on planted differences: each must fail its own tier and only that one;
the (atol, rtol) arithmetic against numpy's isclose; the noise floor; the divergence locator."""

import numpy as np
import pytest

from mnistx.config import Tier, Tolerances
from mnistx.parity import checks as C


def _result(rng):
    out = rng.dirichlet(np.ones(10) * 0.3, size=200).astype(np.float32)
    r = {f"weight_{i}": rng.standard_normal(s).astype(np.float32) for i, s in enumerate([(784, 8), (8,)])}
    r.update(out_0=out, act_0=rng.random((32, 784), dtype=np.float32), act_1=rng.random((32, 8), dtype=np.float32),
             loss=np.array(0.7, np.float32), grad_w0=rng.standard_normal((784, 8)).astype(np.float32),
             grad_w1=rng.standard_normal(8).astype(np.float32),
             grad_x0=rng.standard_normal((32, 28, 28)).astype(np.float32) * 1e-3,
             saliency=rng.random((5, 28, 28), dtype=np.float32) * 1e-3,
             traj_loss=rng.random(20, dtype=np.float32),
             traj_w0=rng.standard_normal((784, 8)).astype(np.float32) * 0.05,
             traj_state_0=rng.random(8, dtype=np.float32), deterministic=np.array(True))
    return r


def _copy(r):
    return {k: np.array(v, copy=True) for k, v in r.items()}


PLANTS = {  # array key -> the one check it must fail
    "weight_0": "weights", "out_0": "outputs", "act_1": "activations", "loss": "loss",
    "grad_w1": "grad_weights", "grad_x0": "grad_input", "saliency": "saliency",
    "traj_loss": "trajectory_loss", "traj_w0": "trajectory_weights", "traj_state_0": "trajectory_state",
}


def _bound(tier: Tier, value: float) -> float:
    return tier.atol + tier.rtol * abs(value)


@pytest.mark.parametrize("key", list(PLANTS))
def test_planted_change_fails_its_tier_only(key, rng):
    """3x the tier's bound at that element fails it (and only it); a third of it passes."""
    tol = Tolerances()
    tier = getattr(tol, C.ARRAY_CHECKS[PLANTS[key]][0])
    a = _result(rng)
    i = 3 if a[key].ndim else 0
    bound = _bound(tier, float(a[key].reshape(-1)[i]))
    b = _copy(a)
    b[key].reshape(-1)[i] += np.float32(max(3 * bound, 1e-5))
    failed = C.failed_tiers(C.compare_pair(a, b, "a vs b", tol))
    assert failed - {"argmax"} == {PLANTS[key]}
    if bound > 0:
        b = _copy(a)
        b[key].reshape(-1)[i] += np.float32(bound / 3)
        assert C.failed_tiers(C.compare_pair(a, b, "a vs b", tol)) == set()


def test_excess_matches_numpy_isclose(rng):
    """|a - b| <= atol + rtol * |a| is numpy.isclose(b, a, rtol, atol): same verdict, elementwise."""
    tier = Tier(1e-5, 1e-3)
    for _ in range(20):
        a = rng.standard_normal(50) * 10 ** rng.uniform(-6, 2)
        b = a + rng.standard_normal(50) * 10 ** rng.uniform(-8, -2)
        s = C.compare_arrays(a, b, tier)
        assert (s["excess"] <= 1.0) == bool(np.isclose(b, a, rtol=tier.rtol, atol=tier.atol).all())
        assert s["max_abs_diff"] == pytest.approx(np.abs(a - b).max())


def test_zero_tier_fails_any_difference_and_reports_inf():
    s = C.compare_arrays(np.ones(3), np.array([1.0, 1.0, 1.0 + 2 ** -20]), Tier(0.0, 0.0))
    assert s["excess"] == float("inf") and s["max_abs_diff"] == pytest.approx(2 ** -20)
    # identical arrays pass a zero tier: |a - b| / bound is 0/0 there, which must read 0, not inf
    # (without compare_arrays' d == 0 guard this is nan -> inf and the weights check always fails)
    assert C.compare_arrays(np.ones(3), np.ones(3), Tier(0.0))["excess"] == 0
    assert C.compare_arrays(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), Tier(0.0))["excess"] == 0
    assert C.compare_arrays(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), Tier(0.0))["excess"] == float("inf")


def test_noise_floor_allows_the_models_own_sensitivity(rng):
    """A trajectory that differs by 1e-2 fails, unless each backend moves as much by itself."""
    a = _result(rng)
    b = _copy(a)
    b["traj_w0"][0, 0] += 1e-2
    assert "trajectory_weights" in C.failed_tiers(C.compare_pair(a, b, "p", Tolerances()))
    a["noise_traj_w0"] = np.full_like(a["traj_w0"], 4e-3)  # 3 x 4e-3 = 1.2e-2 floor
    b["noise_traj_w0"] = np.full_like(a["traj_w0"], 1e-3)
    check = [c for c in C.compare_pair(a, b, "p", Tolerances()) if c["check"] == "trajectory_weights"][0]
    assert check["passed"] and check["noise_floor"] == pytest.approx(1.2e-2)


def test_argmax_disagreement_lists_the_samples_and_skips_near_ties(rng):
    a = _result(rng)
    b = _copy(a)
    for i in (7, 150):
        b["out_0"][i] = np.roll(b["out_0"][i], 1)
    a["out_0"][9] = b["out_0"][9] = 0.1
    a["out_0"][9, 2], b["out_0"][9, 3] = 0.1 + 1e-7, 0.1 + 1e-7  # a near-tie: either may win
    arg = [c for c in C.compare_pair(a, b, "p", Tolerances()) if c["check"] == "argmax"][0]
    assert not arg["passed"] and arg["disagreeing"] == [7, 150] and "1 near-ties" in arg["detail"]


def test_shape_mismatch_fails():
    stats, _ = C.compare_prefix({"weight_0": np.zeros((3, 2))}, {"weight_0": np.zeros((2, 3))}, "weight_", Tier(0))
    assert stats["excess"] == float("inf") and "shapes" in stats["shape"]


def test_checkpoint_and_determinism_checks():
    infos = {"jax": {"checkpoints": {"torch": {"keras": {"max_abs_diff": 0.0, "excess": 0.0, "argmax_disagree": 0},
                                               "weights.h5": {"max_abs_diff": 1e-3, "excess": 50.0,
                                                              "argmax_disagree": 4}},
                                     "tensorflow": {"error": "tensorflow produced no checkpoint"}}},
             "torch": {}, "tensorflow": {}}
    got = C.checkpoint_checks(infos, Tolerances())
    assert [(c["pair"], c.get("format"), c["passed"]) for c in got] == [
        ("torch -> jax", "keras", True), ("torch -> jax", "weights.h5", False),
        ("tensorflow -> jax", None, False)]
    del infos["tensorflow"]  # its child failed: that is said once (not_compared), not as a failed cell here
    assert [c["pair"] for c in C.checkpoint_checks(infos, Tolerances())] == ["torch -> jax"] * 2
    det = C.determinism_checks({"a": {"deterministic": np.array(True)}, "b": {"deterministic": np.array(False)}})
    assert [c["passed"] for c in det] == [True, False]


def _rows(excess: list[float], inbound=None):
    names = [f"l{i}" for i in range(len(excess))]
    inbound = inbound or [["input:0"]] + [[f"l{i - 1}:0"] for i in range(1, len(excess))]
    return [{"name": n, "class": "Dense", "inbound": inb, "outputs": [f"{n}:0"], "excess": e,
             "max_abs_diff": e * 1e-5} for n, e, inb in zip(names, excess, inbound)]


def test_locator_names_the_first_layer_whose_inputs_agree():
    loc = C.locate(_rows([0.1, 0.2, 5.0, 40.0, 90.0]), {"input:0": 0.0})
    assert loc["layer"] == "l2" and loc["agree_up_to"] == "l1" and "differ from l2" in loc["text"]


def test_locator_skips_a_layer_whose_input_already_differs():
    """l2 fails but its second input (an ext tensor computed outside any layer) differs too:
    the first difference is there, not in l2; with nothing recorded failing first, no layer."""
    rows = _rows([0.1, 0.2, 5.0], inbound=[["input:0"], ["l0:0"], ["l1:0", "ext:0"]])
    assert C.locate(rows, {"input:0": 0.0, "ext:0": 3.0}) is None
    assert C.locate(rows, {"input:0": 0.0, "ext:0": 0.5})["layer"] == "l2"


def test_weight_locator_names_the_variable():
    a = {"weight_0": np.zeros(3, np.float32), "weight_1": np.ones(2, np.float32)}
    b = _copy(a)
    b["weight_1"][1] += 1e-3
    info = {"weight_paths": ["dense/kernel", "block/bn/gamma"]}
    loc = C.weight_locate(C.by_name(a, info)[0], C.by_name(b, info)[0], info)
    assert loc["variable"] == "block/bn/gamma" and loc["layer"] == "block/bn"
    assert loc["max_abs_diff"] == pytest.approx(1e-3, rel=1e-3)


def _forward_only(r):
    """What an inference-only child (numpy) writes: no loss, gradients, saliency or trajectory."""
    return {k: np.array(v, copy=True) for k, v in r.items()
            if k.startswith(("weight_", "out_", "act_")) or k == "deterministic"}


NUMPY_INFO = {"unsupported": {"gradients": "no autodiff", "training": "no autodiff"}}


def test_inference_only_backend_is_listed_not_failed(rng):
    """numpy lacks gradients and training: those checks are listed once per backend with the
    reason (only the ones the others measured), never counted; its forward checks still run."""
    a = _result(rng)
    results = {"jax": a, "torch": _copy(a), "numpy": _forward_only(a)}
    infos = {"jax": {}, "torch": {}, "numpy": NUMPY_INFO}
    v = C.run_checks(results, infos, Tolerances())
    assert v["passed"]
    listed = {(n["backend"], n["check"]) for n in v["not_supported"]}
    needs = {"loss", "grad_weights", "grad_input", "saliency", "trajectory_loss", "trajectory_weights",
             "trajectory_state"}
    assert listed == {("numpy", c) for c in needs}
    assert {c["check"] for c in v["checks"] if c["pair"] == "jax vs numpy"} == {"weights", "outputs", "activations",
                                                                               "argmax"}
    assert {c["check"] for c in v["checks"] if c["pair"] == "jax vs torch"} >= needs
    del results["torch"]["traj_state_0"], results["jax"]["traj_state_0"]  # a model without BatchNorm
    v = C.run_checks(results, infos, Tolerances())
    assert ("numpy", "trajectory_state") not in {(n["backend"], n["check"]) for n in v["not_supported"]}


def test_a_training_backend_missing_gradients_still_fails(rng):
    """Only a declared capability skips a check: missing arrays without a declaration fail."""
    a = _result(rng)
    v = C.run_checks({"jax": a, "torch": _forward_only(a)}, {"jax": {}, "torch": {}}, Tolerances())
    assert not v["passed"] and "grad_weights" in C.failed_tiers(v["checks"])


def test_oracle_names_the_backend_furthest_from_numpy(rng):
    """Outputs 1e-7 / 4e-7 away from the NumPy reference: torch is furthest, by 4e-7 (measured in float64)."""
    ref = _result(rng)
    far, near = _copy(ref), _copy(ref)
    near["out_0"][0, 0] += np.float32(1e-7)
    far["out_0"][1, 2] += np.float32(4e-7)
    results = {"jax": near, "torch": far, "numpy": _forward_only(ref)}
    v = C.run_checks(results, {"jax": {}, "torch": {}, "numpy": NUMPY_INFO}, Tolerances())
    o = v["oracle"]
    want = float(np.abs(far["out_0"].astype(np.float64) - ref["out_0"]).max())
    assert o["furthest"] == ["torch"] and o["backends"]["torch"]["outputs"]["max_abs_diff"] == pytest.approx(want)
    assert o["text"].startswith(f"torch is furthest from the NumPy reference: outputs by {want:.1e}")
    assert o["backends"]["jax"]["outputs"]["max_abs_diff"] < want
    same = C.run_checks({"jax": _copy(ref), "numpy": _forward_only(ref)}, {"jax": {}, "numpy": NUMPY_INFO},
                        Tolerances())["oracle"]
    assert same["text"] == "every backend matches the NumPy reference bit for bit"
    assert C.run_checks({"jax": ref, "torch": far}, {"jax": {}, "torch": {}}, Tolerances())["oracle"] is None


def test_oracle_names_every_backend_tied_for_furthest(rng):
    ref = _result(rng)
    a, b = _copy(ref), _copy(ref)
    a["out_0"][0, 0] += np.float32(2e-7)
    b["out_0"][0, 0] += np.float32(2e-7)
    v = C.run_checks({"jax": a, "torch": b, "tensorflow": _copy(ref), "numpy": _forward_only(ref)},
                     {"jax": {}, "torch": {}, "tensorflow": {}, "numpy": NUMPY_INFO}, Tolerances())
    assert v["oracle"]["furthest"] == ["jax", "torch"]
    assert v["oracle"]["text"].startswith("jax and torch are equally furthest from the NumPy reference")


def test_one_line_drops_terminal_colour_codes():
    from mnistx.errors import one_line

    assert one_line(ValueError("\x1b[1mCould not\x1b[0m infer")) == "Could not infer"


def test_weights_are_matched_by_path_not_position():
    """torch lists BART's variables in another order than TensorFlow: by position every weight,
    gradient and trajectory check read inf; by path they agree exactly."""
    w = {"enc/ln/gamma": np.ones(4, np.float32), "dec/pos/embeddings": np.arange(6, dtype=np.float32)}
    order_a, order_b = list(w), list(w)[::-1]
    a = {f"weight_{i}": w[p] for i, p in enumerate(order_a)}
    b = {f"weight_{i}": w[p] for i, p in enumerate(order_b)}
    a["grad_w0"], b["grad_w1"] = w["enc/ln/gamma"], w["enc/ln/gamma"]
    a["grad_w1"], b["grad_w0"] = w["dec/pos/embeddings"], w["dec/pos/embeddings"]
    ra, _ = C.by_name(a, {"weight_paths": order_a, "grad_paths": order_a})
    rb, _ = C.by_name(b, {"weight_paths": order_b, "grad_paths": order_b})
    tol = Tolerances()
    by_pos = C.compare_pair(a, b, "a vs b", tol)
    assert not all(c["passed"] for c in by_pos)  # what the old positional match reported
    checks = {c["check"]: c for c in C.compare_pair(ra, rb, "a vs b", tol)}
    assert checks["weights"]["passed"] and checks["weights"]["max_abs_diff"] == 0.0
    assert checks["grad_weights"]["passed"]
    del rb["weight_:enc/ln/gamma"]  # a weight one backend lacks still fails, by name
    assert not {c["check"]: c for c in C.compare_pair(ra, rb, "a vs b", tol)}["weights"]["passed"]


def test_layers_are_matched_by_name_and_a_missing_one_is_reported():
    """OPT: torch records one layer fewer (the token embedding inside TokenAndPositionEmbedding);
    the parent indexed every backend by the first one's list (KeyError 'act_4')."""
    recs = [{"name": n, "class": "Dense", "outputs": [f"{n}:0"], "output_keys": [f"act_{i}"],
             "inbound": ["input:0" if i == 0 else f"{prev}:0"], "parent": None}
            for i, (n, prev) in enumerate([("emb", None), ("emb/token", "emb"), ("dense", "emb/token")])]
    x = {f"act_{i}": np.full(3, i, np.float32) for i in range(3)} | {"deterministic": np.array(True)}
    y = {"act_0": x["act_0"], "act_1": x["act_2"] + 1.0, "deterministic": np.array(True)}  # no emb/token; dense differs
    info_x = {"layers": recs}
    info_y = {"layers": [{**recs[0]}, {**recs[2], "output_keys": ["act_1"]}]}
    ra, ia = C.by_name(x, info_x)
    rb, ib = C.by_name(y, info_y)
    out = C.run_checks({"x": ra, "y": rb}, {"x": ia, "y": ib}, Tolerances())
    assert out["layers_recorded_once"]["x vs y"] == {"only in x": ["emb/token"]}
    assert out["first_divergence"]["x vs y"]["layer"] == "dense"
    act = next(c for c in out["checks"] if c["check"] == "activations")
    assert not act["passed"] and "emb/token" in act["detail"]


def test_training_only_difference_in_embedding_tables_is_explained():
    """BertTextClassifier with its compiled Adam: forward and gradients agree, the trajectory of
    token_embedding/embeddings differs on TensorFlow only (its IndexedSlices update)."""
    base = {"deterministic": np.array(True), "grad_w0": np.ones(3, np.float32),
            "traj_loss": np.ones(5, np.float32)}
    a = {**base, "traj_w:token_embedding/embeddings": np.zeros((4, 2), np.float32),
         "traj_w:dense/kernel": np.ones(2, np.float32)}
    b = {**_copy(a), "traj_w:token_embedding/embeddings": np.full((4, 2), 2e-4, np.float32)}
    a["act_:dense:0"] = b["act_:dense:0"] = np.ones(2, np.float32)
    info = {"optimizer": "the model's compiled Adam", "layers": [
        {"name": "dense", "class": "Dense", "outputs": ["dense:0"], "output_keys": ["act_:dense:0"],
         "inbound": ["input:0"]}]}
    out = C.run_checks({"tensorflow": a, "jax": b}, {"tensorflow": info, "jax": info}, Tolerances())
    loc = out["first_divergence"]["tensorflow vs jax"]
    assert loc["variables"] == ["token_embedding/embeddings"] and "IndexedSlices" in loc["text"]
    out = C.run_checks({"jax": a, "torch": b}, {"jax": info, "torch": info}, Tolerances())
    assert "IndexedSlices" not in out["first_divergence"]["jax vs torch"]["text"]  # not TF: float noise


def test_the_samples_that_differ_are_traced_again():
    """Llama/Qwen3 with left padding differ in the samples whose query rows are all masked; the
    trace covered only the first 64, so the report said 'outside the recorded layers'."""
    a = {"out_0": np.zeros((200, 3), np.float32)}
    b = _copy(a)
    b["out_0"][[150, 10, 120]] += np.array([[3.0], [1.0], [2.0]], np.float32)
    checks = C.compare_pair(a, b, "tensorflow vs jax", Tolerances())
    pick = C.locator.worst_samples({"tensorflow": a, "jax": b}, checks, Tolerances().outputs, 2, traced=64)
    assert pick["indices"] == [150, 120] and pick["beyond"] == 3  # worst first, at most n
    b2 = _copy(a)
    b2["out_0"][10] += 1.0  # only inside the traced samples: nothing to trace again
    checks = C.compare_pair(a, b2, "tensorflow vs jax", Tolerances())
    assert C.locator.worst_samples({"tensorflow": a, "jax": b2}, checks, Tolerances().outputs, 2, 64) is None


def test_each_clause_of_the_checkpoint_check_fails_on_its_own():
    """A checkpoint row fails on its excess alone and on argmax disagreements alone (a check that
    ignored either clause used to pass the suite: the failing row had both)."""
    def row(excess, disagree):
        return {"torch": {"keras": {"max_abs_diff": excess * 2e-6, "excess": excess, "argmax_disagree": disagree}}}

    def verdict(r):
        return C.checkpoint_checks({"jax": {"checkpoints": r}, "torch": {}}, Tolerances())[0]["passed"]

    assert verdict(row(0.5, 0))
    assert not verdict(row(0.5, 3))  # within the tier, but 3 top classes flipped
    assert not verdict(row(14.3, 0))  # no class flipped, but beyond the tier


def test_compare_arrays_matches_the_plain_formula_on_awkward_values():
    """The in-place compare_arrays against the formula written plainly (numpy, float64): NaN, inf,
    zeros and -0.0 on either side, float32 and float64, every tier shape; equal to the last bit."""
    from mnistx.parity.arrays import compare_arrays

    def plain(a, b, tier, floor):
        x, y = np.atleast_1d(np.asarray(a, np.float64)), np.atleast_1d(np.asarray(b, np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.abs(x - y)
            d[np.isnan(x) & np.isnan(y)] = 0.0
            excess = np.where(d == 0, 0.0, d / (tier.atol + tier.rtol * np.abs(x) + floor))
            rel = np.where(np.abs(x) > 0, d / np.abs(x), 0.0)
        top = lambda v: float(np.nan_to_num(v.max(), nan=np.inf, posinf=np.inf))  # noqa: E731
        return {"max_abs_diff": top(d), "max_rel_diff": top(rel), "excess": top(excess)}

    rng = np.random.default_rng(0)
    specials = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-30])
    for _ in range(2000):
        k = int(rng.integers(1, 8))
        a = rng.normal(size=k).astype(rng.choice([np.float32, np.float64]))
        b = a.copy() if rng.random() < 0.2 else a + rng.normal(size=k) * rng.choice([0.0, 1e-7, 1e-3, 1.0])
        for arr in (a, b):
            hit = rng.random(k) < 0.3
            arr[hit] = rng.choice(specials, int(hit.sum()))
        tier = Tier(float(rng.choice([0, 1e-6, 1e-3])), float(rng.choice([0, 1e-5, 1e-2])))
        floor = float(rng.choice([0, 1e-4]))
        assert compare_arrays(a, b, tier, floor) == plain(a, b, tier, floor), (a, b, tier, floor)
