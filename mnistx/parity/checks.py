"""Compare the children's results, pair by pair, each quantity against its tolerance tier.

Pure numpy. A result is the dict of arrays a parity child saved (see worker.py); an info is its
JSON (checkpoint cross-loads, environment). Every check is a dict:
{"check", "pair", "max_abs_diff", "tolerance", "passed", "detail"}.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from mnistx.config import Tolerances

# check name -> (tolerance field, array key prefix or exact key)
ARRAY_CHECKS = {
    "weights": ("weights", "weight_"),
    "probs": ("probs", "probs"),
    "logits": ("logits", "logits"),
    "activations": ("activations", "act_"),
    "loss": ("loss", "loss"),
    "grad_weights": ("grads", "grad_w"),
    "grad_input": ("grads", "grad_input"),
    "saliency": ("saliency", "saliency"),
    "trajectory_loss": ("trajectory_loss", "traj_loss"),
    "trajectory_weights": ("trajectory", "traj_weights"),
}
CHECK_ORDER = [*ARRAY_CHECKS, "argmax", "checkpoint", "determinism"]


def _keys(result: dict, prefix: str) -> list[str]:
    if prefix in result:
        return [prefix]
    return sorted((k for k in result if k.startswith(prefix)), key=lambda k: int(k[len(prefix):]))


def max_abs_diff(a: dict, b: dict, prefix: str) -> tuple[float, str]:
    """Largest |a - b| over every array under `prefix`, and which array held it."""
    worst, where = 0.0, ""
    keys = _keys(a, prefix)
    if keys != _keys(b, prefix):
        return float("inf"), f"different arrays: {keys} vs {_keys(b, prefix)}"
    for k in keys:
        x, y = np.asarray(a[k], np.float64), np.asarray(b[k], np.float64)
        if x.shape != y.shape:
            return float("inf"), f"{k}: shapes {x.shape} vs {y.shape}"
        d = float(np.abs(x - y).max()) if x.size else 0.0
        if d > worst or not where:
            worst, where = d, k
    return worst, where


def _check(name, pair, diff, tol, detail="") -> dict:
    return {"check": name, "pair": pair, "max_abs_diff": float(diff), "tolerance": float(tol),
            "passed": bool(diff <= tol), "detail": detail}


def compare_pair(a: dict, b: dict, pair: str, tol: Tolerances) -> list[dict]:
    """Every array check plus argmax agreement, for one pair of backends."""
    checks = []
    for name, (tier, prefix) in ARRAY_CHECKS.items():
        diff, where = max_abs_diff(a, b, prefix)
        checks.append(_check(name, pair, diff, getattr(tol, tier), f"worst in {where}"))
    wrong = np.flatnonzero(a["probs"].argmax(1) != b["probs"].argmax(1))
    detail = f"{len(wrong)} of {len(a['probs'])} images disagree" + (
        f": {wrong[:20].tolist()}" if len(wrong) else "")
    checks.append({**_check("argmax", pair, len(wrong), 0, detail), "disagreeing": wrong.tolist()})
    return checks


def divergence_curve(a: dict, b: dict) -> list[float]:
    """Max |weights_a - weights_b| after each training step (K,)."""
    return np.abs(a["traj_weights"].astype(np.float64) - b["traj_weights"]).max(axis=1).tolist()


def checkpoint_checks(infos: dict[str, dict], tol: Tolerances) -> list[dict]:
    """Saver -> loader: each backend's .keras and .weights.h5 predicted in each backend."""
    checks = []
    for loader, info in infos.items():
        for saver, row in info.get("checkpoints", {}).items():
            pair = f"{saver} -> {loader}"
            if "error" in row:
                checks.append(_check("checkpoint", pair, float("inf"), tol.checkpoint, row["error"]))
                continue
            for fmt, r in row.items():
                c = _check("checkpoint", pair, r["max_abs_diff"], tol.checkpoint,
                           f".{fmt}: {r['argmax_disagree']} argmax disagreements")
                c["passed"] = c["passed"] and r["argmax_disagree"] == 0
                c["format"] = fmt
                checks.append(c)
    return checks


def determinism_checks(results: dict[str, dict]) -> list[dict]:
    return [_check("determinism", name, 0.0 if bool(r["deterministic"]) else float("inf"), 0.0,
                   "predict twice: bit-identical" if bool(r["deterministic"]) else "predict twice: differs")
            for name, r in results.items()]


def run_checks(results: dict[str, dict], infos: dict[str, dict], tol: Tolerances) -> dict:
    """All checks over all pairs of backends that produced results."""
    checks, curves = [], {}
    for x, y in combinations(list(results), 2):
        pair = f"{x} vs {y}"
        checks += compare_pair(results[x], results[y], pair, tol)
        curves[pair] = divergence_curve(results[x], results[y])
    checks += checkpoint_checks(infos, tol) + determinism_checks(results)
    return {"checks": checks, "curves": curves, "passed": all(c["passed"] for c in checks)}


def failed_tiers(checks: list[dict]) -> set[str]:
    return {c["check"] for c in checks if not c["passed"]}
