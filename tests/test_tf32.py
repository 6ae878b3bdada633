"""TF32 drift (parity --tf32 on a GPU): judged against its own tier, reported per pair and quantity;
on a machine without a GPU it says there is no TF32 and keeps the float32 tiers. Synthetic
results through the real checks (numpy only)."""

import numpy as np

from mnistx.config import Tolerances
from mnistx.parity import checks as C
from mnistx.parity import report, tf32


def _results(rng, diff):
    p = rng.dirichlet(np.ones(10), size=64).astype(np.float32)
    q = p.copy()
    q[:, 0] += diff  # one column moved: argmax mostly unchanged
    return {"jax": {"out_0": p, "deterministic": True}, "torch": {"out_0": q, "deterministic": True}}


def _judge(results, gpu_tf32, requested=True):
    infos = {b: {"tf32": gpu_tf32} for b in results}
    return tf32.judge(results, infos, Tolerances(), requested, C.run_checks)


def test_tf32_sized_drift_passes_its_own_tier_and_is_shown_beyond_float32(rng):
    verdict, section = _judge(_results(rng, 6.25e-5), gpu_tf32=True)  # the H200's measured MLP drift
    assert verdict["passed"] and section["active"] and section["passed"]
    row = next(r for r in section["rows"] if r["check"] == "outputs")
    assert row["float32_excess"] > 1 >= row["tf32_excess"] and section["beyond_float32"] >= 1
    np.testing.assert_allclose(row["max_abs_diff"], 6.25e-5, rtol=1e-3)
    md = "\n".join(tf32.markdown(section))
    assert "## TF32 drift" in md and "| jax vs torch | outputs | 6.25e-05 |" in md and "default there" in md


def test_drift_beyond_the_tf32_tier_still_fails(rng):
    verdict, section = _judge(_results(rng, 0.05), gpu_tf32=True)
    assert not verdict["passed"] and not section["passed"]
    assert any(r["check"] == "outputs" and not r["passed"] for r in section["rows"])


def test_without_a_gpu_there_is_no_tf32_and_float32_tiers_judge(rng):
    verdict, section = _judge(_results(rng, 6.25e-5), gpu_tf32=None)
    assert not verdict["passed"] and section["active"] is False and "only on NVIDIA GPUs" in section["reason"]
    assert _judge(_results(rng, 6.25e-5), gpu_tf32=None, requested=False)[1] is None


def test_parity_markdown_carries_the_section(rng):
    verdict, section = _judge(_results(rng, 6.25e-5), gpu_tf32=True)
    summary = {"model": "mlp", "compared": ["jax", "torch"], "n_images": 64, "steps": 0, "tf32": True,
               "tolerances": tf32.TIERS.as_dict(), "not_compared": {}, **verdict, "tf32_drift": section}
    md = report.markdown(summary)
    assert "Verdict: **PASS**" in md and "## TF32 drift" in md


def test_html_section_matches(rng):
    """report.html renders parity.md itself: the section arrives as a table, pipes intact."""
    from mnistx.report import md_html

    _, section = _judge(_results(rng, 0.05), gpu_tf32=True)
    text = md_html.render("\n".join(tf32.markdown(section)), drop_title=False)
    assert "<h4>TF32 drift</h4>" in text and '<td class="fail">FAIL</td>' in text and "<th>x TF32 tier</th>" in text
    assert "·|a|</td>" in text  # the escaped pipe in the tier column is text, not a column break
    head = text.split("<tr>")[1]
    assert all(row.count("<td") == head.count("<th>") for row in text.split("<tr>")[2:])


def test_the_users_tiers_stay_on_top_of_tf32(rng):
    """--tier outputs=1e-9 used to become TF32's (1e-3, 1e-2) silently under --tf32."""
    strict = Tolerances().with_overrides(outputs=(1e-9, 0.0))
    eff = tf32.resolve(strict)
    assert eff.outputs.atol == 1e-9 and eff.outputs.rtol == 0.0  # the user's, kept
    assert eff.grads == tf32.TIERS.grads and eff.checkpoint == tf32.TIERS.checkpoint  # the rest: TF32's
    infos = {b: {"tf32": True} for b in ("jax", "torch")}
    verdict, section = tf32.judge(_results(rng, 6.25e-5), infos, strict, True, C.run_checks)
    assert not verdict["passed"] and section["tiers"]["outputs"] == [1e-9, 0.0]


def test_a_checkpoint_is_judged_by_the_excess_against_the_tier_that_judges():
    """The child computes the excess against the float32 and the TF32 tier; the check used to show
    the TF32 tier while failing on the float32 excess (a 1e-4 difference: "excess 14.3")."""
    f32, t32 = Tolerances().checkpoint, tf32.TIERS.checkpoint
    row = {"keras": {"max_abs_diff": 1e-4, "excess": 14.3, "argmax_disagree": 0,
                     "excess_at": {tf32.tier_key(f32): 14.3, tf32.tier_key(t32): 0.1}}}
    infos = {"jax": {"checkpoints": {"torch": row}}, "torch": {"checkpoints": {}}}
    under_tf32 = C.checkpoint_checks(infos, tf32.TIERS)[0]
    assert under_tf32["passed"] and under_tf32["excess"] == 0.1 and under_tf32["atol"] == t32.atol
    under_f32 = C.checkpoint_checks(infos, Tolerances())[0]
    assert not under_f32["passed"] and under_f32["excess"] == 14.3
