"""Compare the children's results pair by pair, each quantity against its (atol, rtol) tier.

Pure numpy. A result is the dict of arrays a parity child saved (see worker.py); an info is its
JSON (layer records, checkpoint cross-loads, environment). Every check is a dict:
{"check", "pair", "max_abs_diff", "max_rel_diff", "excess", "atol", "rtol", "passed", "detail"},
where excess = max |a - b| / (atol + rtol * |a|): a check passes when excess <= 1.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from mnistx.config import Tier, Tolerances
from mnistx.parity import locator  # noqa: F401,E402
from mnistx.parity.arrays import NOISE_FACTOR, compare_arrays, keys, noise_floor  # noqa: F401
from mnistx.parity.tf32 import tier_key
from mnistx.parity.locator import (backward_only, layer_diffs, locate, only_in, training_only,  # noqa: F401
                                   weight_locate)

# check name -> (tier name, array key prefix or exact key)
ARRAY_CHECKS = {
    "weights": ("weights", "weight_"),
    "outputs": ("outputs", "out_"),
    "activations": ("activations", "act_"),
    "loss": ("loss", "loss"),
    "grad_weights": ("grads", "grad_w"),
    "grad_input": ("grads", "grad_x"),
    "saliency": ("saliency", "saliency"),
    "trajectory_loss": ("trajectory_loss", "traj_loss"),
    "trajectory_weights": ("trajectory", "traj_w"),
    "trajectory_state": ("trajectory", "traj_state_"),
}
# a capability a backend may lack (its adapter file's UNSUPPORTED) -> the checks that need it
NEEDS = {"gradients": ("loss", "grad_weights", "grad_input", "saliency"),
         "training": ("trajectory_loss", "trajectory_weights", "trajectory_state")}
ORACLE = "numpy"  # the plain-NumPy forward pass every training backend is measured against


# positional array prefix in a child's .npz -> the info list that names them (variable paths)
NAMED_BY = {"weight_": "weight_paths", "grad_w": "grad_paths", "traj_w": "trainable_paths",
            "traj_state_": "state_paths"}


def by_name(arrays: dict, info: dict) -> tuple[dict, dict]:
    """A child's result with its positional arrays keyed by what they are, so that backends are
    matched by name, never by position (torch lists BART's variables in another order, and records
    one layer fewer in OPT): weight_<i> -> weight_:<variable path> (likewise grad_w, traj_w,
    traj_state_ and their noise_ twins), act_<j> -> act_:<layer>:<k>. Returns (arrays, info), the
    info's layer records pointing at the new keys."""
    rename = {}
    for prefix, field in NAMED_BY.items():
        paths = info.get(field) or []
        for i, path in enumerate(paths):
            rename[f"{prefix}{i}"] = f"{prefix}:{path}"
    records = []
    for r in info.get("layers") or []:
        new = [f"act_:{name}" for name in r.get("outputs", [])]
        rename.update(zip(r.get("output_keys", []), new))
        records.append({**r, "output_keys": new})
    out = {}
    for k, v in arrays.items():
        base = k.removeprefix("noise_")
        name = rename.get(base, base)
        out[("noise_" if k.startswith("noise_") else "") + name] = v
    return out, ({**info, "layers": records} if records else info)




def _check(name, pair, stats: dict, tier: Tier, detail="") -> dict:
    return {"check": name, "pair": pair, "max_abs_diff": stats["max_abs_diff"],
            "noise_floor": stats.get("floor", 0.0),
            "max_rel_diff": stats.get("max_rel_diff", 0.0), "excess": stats["excess"],
            "atol": tier.atol, "rtol": tier.rtol, "passed": bool(stats["excess"] <= 1.0),
            "detail": stats.get("shape") or detail}


def _names(ks: list[str]) -> str:
    shown = [k.split(":", 1)[-1] for k in ks[:3]]
    return ", ".join(shown) + (f" and {len(ks) - 3} more" if len(ks) > 3 else "")


def compare_prefix(a: dict, b: dict, prefix: str, tier: Tier, strict: bool = True) -> tuple[dict, str]:
    """The worst array under `prefix` (by excess), and its key; arrays matched by key (name).

    An array only one side has fails the check when `strict` (a weight one backend lacks), else is
    named in the detail and left out (a layer one backend runs as a fused op, unrecorded)."""
    ka, kb = keys(a, prefix), keys(b, prefix)
    only_a, only_b = [k for k in ka if k not in b], [k for k in kb if k not in a]
    note = "; ".join(f"{len(o)} only in {side}: {_names(o)}" for o, side in ((only_a, "the first"),
                                                                         (only_b, "the second")) if o)
    if note and strict:
        return {"max_abs_diff": float("inf"), "excess": float("inf"), "shape": f"different arrays: {note}"}, ""
    worst, where = {"max_abs_diff": 0.0, "max_rel_diff": 0.0, "excess": 0.0}, ""
    for k in (k for k in ka if k in b):
        floor = noise_floor(a, b, k)
        s = {**compare_arrays(a[k], b[k], tier, floor), "floor": floor}
        if s["excess"] > worst["excess"] or not where:
            worst, where = s, k
    if note:
        worst = {**worst, "missing": note}
    return worst, where


def argmax_check(a: dict, b: dict, pair: str, tier: Tier) -> dict | None:
    """Classifier outputs only: samples whose top class differs, ignoring near-ties (top two
    within the outputs tier of each other, where rounding may pick either)."""
    pa, pb = a.get("out_0"), b.get("out_0")
    if pa is None or pb is None or pa.ndim != 2 or pa.shape[-1] < 2 or pa.shape != pb.shape:
        return None
    wrong = np.flatnonzero(pa.argmax(1) != pb.argmax(1))
    top2 = np.sort(pa[wrong], axis=1)[:, -2:] if len(wrong) else np.zeros((0, 2))
    near = (top2[:, 1] - top2[:, 0]) <= tier.atol + tier.rtol * np.abs(top2[:, 1])
    real = wrong[~near]
    detail = f"{len(real)} of {len(pa)} samples disagree" + (f": {real[:20].tolist()}" if len(real) else "")
    if near.any():
        detail += f" ({int(near.sum())} near-ties within the outputs tier not counted)"
    stats = {"max_abs_diff": float(len(real)), "excess": float(len(real) > 0) * 2}
    return {**_check("argmax", pair, stats, Tier(0.0), detail), "disagreeing": real.tolist()}


def compare_pair(a: dict, b: dict, pair: str, tol: Tolerances, skip=()) -> list[dict]:
    """Every array check (but those in `skip`) plus argmax agreement, for one pair of backends."""
    checks = []
    for name, (tier_name, prefix) in ARRAY_CHECKS.items():
        if name in skip or (not keys(a, prefix) and not keys(b, prefix)):
            continue  # not measured for this model (e.g. no BatchNorm state, no float input)
        tier = getattr(tol, tier_name)
        stats, where = compare_prefix(a, b, prefix, tier, strict=name != "activations")
        detail = f"worst in {where.split(':', 1)[-1]}" if where else ""
        if stats.get("missing"):
            detail += f" (not compared: {stats['missing']})"
        checks.append(_check(name, pair, stats, tier, detail))
    am = argmax_check(a, b, pair, tol.outputs)
    return checks + ([am] if am else [])


def checkpoint_checks(infos: dict[str, dict], tol: Tolerances) -> list[dict]:
    """Saver -> loader: each backend's .keras and .weights.h5 predicted in each backend."""
    checks = []
    for loader, info in infos.items():
        for saver, row in info.get("checkpoints", {}).items():
            if saver not in infos:  # the saver's child failed: said once, in not_compared, not per cell
                continue
            pair = f"{saver} -> {loader}"
            if "error" in row:
                checks.append(_check("checkpoint", pair, {"max_abs_diff": float("inf"), "excess": float("inf")},
                                     tol.checkpoint, row["error"]))
                continue
            for fmt, r in row.items():
                if "skipped" in r:
                    continue
                judged = r.get("excess_at", {}).get(tier_key(tol.checkpoint), r["excess"])  # against the judging tier
                stats = {"max_abs_diff": r["max_abs_diff"], "excess": judged}
                c = _check("checkpoint", pair, stats, tol.checkpoint, f".{fmt}: " + (
                    r["error"] if "error" in r else f"{r.get('argmax_disagree', 0)} argmax disagreements"))
                c["passed"] = c["passed"] and r.get("argmax_disagree", 0) == 0
                c["format"] = fmt
                checks.append(c)
    return checks


def determinism_checks(results: dict[str, dict]) -> list[dict]:
    """Each backend's outputs predicted twice (ParityConfig.determinism_images again) are bit-identical."""
    out = []
    for name, r in results.items():
        same = bool(r["deterministic"])
        out.append(_check("determinism", name, {"max_abs_diff": 0.0 if same else float("inf"),
                                                "excess": 0.0 if same else float("inf")}, Tier(0.0),
                          "predict twice: bit-identical" if same else "predict twice: differs"))
    return out


def not_supported(infos: dict[str, dict]) -> dict[str, dict[str, str]]:
    """backend -> {check: reason} for the checks its backend cannot compute (e.g. numpy: no
    gradients, no training); these are listed, never counted as failures."""
    return {b: {c: why for cap, why in (i.get("unsupported") or {}).items() for c in NEEDS.get(cap, ())}
            for b, i in infos.items()}


def oracle(checks: list[dict]) -> dict | None:
    """Each backend's outputs and activations against the NumPy forward pass of the same weights,
    and which one is furthest from it (by the outputs' max |diff|, then the activations')."""
    rows: dict[str, dict] = {}
    for c in checks:
        x, _, y = c["pair"].partition(" vs ")
        if y == ORACLE and c["check"] in ("outputs", "activations"):
            rows.setdefault(x, {})[c["check"]] = {k: c[k] for k in ("max_abs_diff", "excess", "passed")}
    if not rows:
        return None
    zero = {"max_abs_diff": 0.0, "excess": 0.0}
    key = {b: (r.get("outputs", zero)["max_abs_diff"], r.get("activations", zero)["max_abs_diff"])
           for b, r in rows.items()}
    far = max(key, key=key.get)
    ties = [b for b in key if key[b] == key[far]]
    out, act = rows[far].get("outputs", {**zero, "passed": True}), rows[far].get("activations")
    who = f"{far} is" if len(ties) == 1 else f"{', '.join(ties[:-1])} and {ties[-1]} are equally"
    text = (f"{who} furthest from the NumPy reference: outputs by {out['max_abs_diff']:.1e} "
            f"({out['excess']:.2g}x the outputs tier)")
    if act:
        text += f", any layer by {act['max_abs_diff']:.1e} ({act['excess']:.2g}x the activations tier)"
    if key[far] == (0.0, 0.0):
        text = "every backend matches the NumPy reference bit for bit"
    return {"reference": ORACLE, "backends": rows, "furthest": ties, "text": text}


def run_checks(results: dict[str, dict], infos: dict[str, dict], tol: Tolerances) -> dict:
    """All checks over all pairs of backends that produced results, plus the divergence locator."""
    checks, curves, layers, located, missing = [], {}, {}, {}, {}
    measured = {n for n, (_, prefix) in ARRAY_CHECKS.items() if any(keys(r, prefix) for r in results.values())}
    cannot = {b: {c: why for c, why in d.items() if c in measured}
              for b, d in not_supported({b: infos.get(b, {}) for b in results}).items()}
    for x, y in combinations(list(results), 2):
        pair = f"{x} vs {y}"
        checks += compare_pair(results[x], results[y], pair, tol, {*cannot[x], *cannot[y]})
        if "traj_curve" in results[x] and "traj_curve" in results[y]:
            d = np.abs(results[x]["traj_curve"].astype(np.float64) - results[y]["traj_curve"])
            curves[pair] = d.max(axis=1).tolist() if d.size else []
            for b_ in (x, y):
                if "noise_traj_curve" in results[b_] and f"{b_} (own sensitivity)" not in curves:
                    curves[f"{b_} (own sensitivity)"] = results[b_]["noise_traj_curve"].max(axis=1).tolist()
        records = infos[x].get("layers") or []
        if records:
            theirs = infos[y].get("layers")
            rows = layer_diffs(results[x], results[y], records, tol.activations, theirs)
            gone = {x: [r["name"] for r in rows if r["missing"]], y: only_in(records, theirs or [])}
            if any(gone.values()):
                missing[pair] = {f"only in {b_}": v for b_, v in gone.items() if v}
            sx, sy = infos[x].get("sources", {}), infos[y].get("sources", {})  # each child names its own
            sources = {s: compare_arrays(results[x][k], results[y][sy[s]], tol.activations)["excess"]
                       for s, k in sx.items() if s in sy}  # a copy of an input is `ext:` in some backends only
            layers[pair] = [{k: r[k] for k in ("name", "class", "max_abs_diff", "excess", "missing")} for r in rows]
            failing = [c for c in checks if c["pair"] == pair and not c["passed"]]
            if failing:
                once = [n for v in gone.values() for n in v]
                located[pair] = locate(rows, sources, once) or weight_locate(results[x], results[y], infos[x]) or \
                    backward_only(failing) or training_only(failing, [c for c in checks if c["pair"] == pair], infos[x], results[x],
                                  results[y], tol.trajectory, pair) or {
                    "layer": None, "text": "every recorded layer agrees within its tier; the difference "
                    "arises outside the recorded layers (ops in call(), the loss or training)"}
    checks += checkpoint_checks(infos, tol) + determinism_checks(results)
    return {"checks": checks, "curves": curves, "layers": layers, "first_divergence": located,
            "layers_recorded_once": missing,
            "not_supported": [{"backend": b, "check": c, "reason": why} for b, d in cannot.items()
                              for c, why in d.items()],
            "oracle": oracle(checks), "passed": all(c["passed"] for c in checks)}


def failed_tiers(checks: list[dict]) -> set[str]:
    return {c["check"] for c in checks if not c["passed"]}
