"""Array comparison shared by the checks and the locator (pure numpy): which arrays a prefix names,
max |a - b| and its excess over an (atol, rtol) tier, and the noise floor of a trajectory."""

from __future__ import annotations

import numpy as np

from mnistx.config import NOISE_FACTOR, Tier


def keys(result: dict, prefix: str) -> list[str]:
    """The arrays under `prefix`: the exact key, numbered ones (`grad_x0`), or named ones
    (`weight_:dense/kernel`, as by_name() keys them), in the order the child wrote them."""
    if prefix in result:
        return [prefix]
    found = [k for k in result if k.startswith(prefix) and k[len(prefix):].isdigit()]
    named = [k for k in result if k.startswith(prefix + ":")]
    return sorted(found, key=lambda k: int(k[len(prefix):])) + named


def compare_arrays(a, b, tier: Tier, floor: float = 0.0) -> dict:
    """max |a - b|, max relative diff (where |a| > 0), and excess over the tier (<= 1 passes):
    |a - b| <= atol + rtol * |a| + floor, elementwise."""
    x, y = np.atleast_1d(np.asarray(a, np.float64)), np.atleast_1d(np.asarray(b, np.float64))
    if x.shape != y.shape:
        return {"max_abs_diff": float("inf"), "max_rel_diff": float("inf"), "excess": float("inf"),
                "shape": f"shapes {x.shape} vs {y.shape}"}
    if not x.size:
        return {"max_abs_diff": 0.0, "max_rel_diff": 0.0, "excess": 0.0}
    d = np.abs(x - y)
    d[np.isnan(x) & np.isnan(y)] = 0.0  # NaN where both have NaN agrees
    bound = tier.atol + tier.rtol * np.abs(x) + floor
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(d == 0, 0.0, d / bound)
        rel = np.where(np.abs(x) > 0, d / np.abs(x), 0.0)
    return {"max_abs_diff": float(np.nan_to_num(d.max(), nan=np.inf, posinf=np.inf)),
            "max_rel_diff": float(np.nan_to_num(rel.max(), nan=np.inf, posinf=np.inf)),
            "excess": float(np.nan_to_num(excess.max(), nan=np.inf, posinf=np.inf))}


def noise_floor(a: dict, b: dict, key: str) -> float:
    """NOISE_FACTOR x the larger backend's own sensitivity for `key` (0 where not measured)."""
    na, nb = a.get(f"noise_{key}"), b.get(f"noise_{key}")
    if na is None or nb is None or not np.size(na):
        return 0.0
    return NOISE_FACTOR * float(max(np.max(na), np.max(nb)))
