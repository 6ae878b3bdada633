"""TF32 drift: parity with TF32 matmuls allowed on the GPU, judged against TF32's own tier.

TF32 keeps float32's exponent but rounds the inputs of every matmul and convolution to a 10-bit
mantissa: unit roundoff 2^-11 = 4.9e-4 against float32's 2^-24 = 6.0e-8. That is a documented
precision trade on NVIDIA GPUs (Ampere and newer), not a backend bug, so with TF32 on the verdict
uses config.TF32_TOLERANCES (TIERS here) and the report shows, per pair and quantity, how far each difference goes beyond
the float32 tier (the drift) and whether it stays inside the TF32 tier (the verdict). Without a GPU
there is no TF32: the run says so and keeps the float32 tiers.
"""

from __future__ import annotations

from mnistx.config import TF32_TOLERANCES, Tier, Tolerances

# What each framework does on an Ampere-or-newer GPU when nobody asks (what `parity --tf32` turns on
# for all of them, and what plain runs there get).
DEFAULTS = {
    "tensorflow": "on (tf.config.experimental.enable_tensor_float_32_execution, default True since TF 2.4)",
    "jax": "on (default matmul precision: one TF32 pass for float32 dots and convolutions)",
    "torch": "off for matmuls (torch.backends.cuda.matmul.allow_tf32 = False since 1.12), "
             "on for cuDNN convolutions",
}

TIERS = TF32_TOLERANCES  # config.py: the TF32 tier and why


def resolve(user: Tolerances) -> Tolerances:
    """The tiers that judge under TF32: TIERS, with the user's own --tier overrides (whatever
    differs from the float32 defaults) on top, never replaced by them."""
    default, mine = Tolerances().as_dict(), user.as_dict()
    return TIERS.with_overrides(**{k: tuple(v) for k, v in mine.items() if v != default[k]})


def tier_key(tier: Tier) -> str:
    """How a child labels the excess it computed against `tier` (the parent picks the one that judges)."""
    return f"{tier.atol!r},{tier.rtol!r}"


def state(infos: dict[str, dict]) -> dict[str, bool | None]:
    """backend -> TF32 in force in its child (None: no GPU there, so no TF32)."""
    return {b: i.get("tf32") for b, i in infos.items()}


def judge(results: dict, infos: dict, float32: Tolerances, requested: bool, run_checks) -> tuple[dict, dict | None]:
    """(the verdict to report and exit on, the "TF32 drift" section or None when not requested).

    run_checks(results, infos, tolerances) -> verdict (mnistx.parity.checks.run_checks)."""
    base = run_checks(results, infos, float32)
    if not requested:
        return base, None
    on = state(infos)
    if not any(on.values()):
        return base, {"active": False, "state": on, "defaults": DEFAULTS,
                      "reason": "TF32 exists only on NVIDIA GPUs (Ampere and newer); no child ran on "
                                "one, so the float32 tiers apply"}
    tiers = resolve(float32)
    verdict = run_checks(results, infos, tiers)
    f32 = {(c["check"], c["pair"]): c for c in base["checks"]}
    rows = [{"pair": c["pair"], "check": c["check"], "max_abs_diff": c["max_abs_diff"],
             "float32_excess": f32[(c["check"], c["pair"])]["excess"], "tf32_excess": c["excess"],
             "tf32_tier": [c["atol"], c["rtol"]], "passed": c["passed"]}
            for c in verdict["checks"] if (c["check"], c["pair"]) in f32 and c["check"] != "determinism"]
    return verdict, {"active": True, "state": on, "defaults": DEFAULTS, "tiers": tiers.as_dict(), "rows": rows,
                     "beyond_float32": sum(r["float32_excess"] > 1 for r in rows),
                     "passed": all(r["passed"] for r in rows)}


def markdown(section: dict | None) -> list[str]:
    """The report's "TF32 drift" lines (none when TF32 was not requested)."""
    if not section:
        return []
    lines = ["", "## TF32 drift", ""]
    lines += [f"- {b}: {'TF32 on' if s else 'TF32 off' if s is False else 'no GPU'} in this run; "
              f"default there: {section['defaults'].get(b, '?')}" for b, s in section["state"].items()]
    if not section["active"]:
        return lines + ["", section["reason"] + "."]
    lines += ["", f"{section['beyond_float32']} of {len(section['rows'])} differences go beyond their float32 "
              f"tier; the verdict uses the TF32 tier (atol + rtol·|a|, 2^-11 rounding per product).", "",
              "| pair | quantity | max abs diff | x float32 tier | TF32 tier | x TF32 tier | verdict |",
              "|---|---|---|---|---|---|---|"]
    for r in section["rows"]:
        atol, rtol = r["tf32_tier"]
        lines.append(f"| {r['pair']} | {r['check']} | {r['max_abs_diff']:.2e} | {r['float32_excess']:.3g} | "
                     f"{atol:.0e} + {rtol:.0e}·\\|a\\| | {r['tf32_excess']:.3g} | {'PASS' if r['passed'] else 'FAIL'} |")
    return lines
