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
    with np.errstate(divide="ignore", invalid="ignore"):  # in place: 4x faster on a 10M-element output
        d = np.subtract(x, y)
        np.abs(d, out=d)
        if np.isnan(d).any():
            d[np.isnan(x) & np.isnan(y)] = 0.0  # NaN where both have NaN agrees
        ax = np.abs(x)
        rel = np.divide(d, ax)
        rel[~(ax > 0)] = 0.0  # only where |a| > 0 (a NaN in a is judged by the excess)
        max_rel = rel.max()
        bound = np.multiply(ax, tier.rtol, out=ax)  # atol + rtol * |a| + floor, in that order
        bound += tier.atol
        bound += floor
        excess = np.divide(d, bound, out=rel)
        excess[d == 0] = 0.0  # 0 / 0 where the bound is 0 agrees
    return {"max_abs_diff": float(np.nan_to_num(d.max(), nan=np.inf, posinf=np.inf)),
            "max_rel_diff": float(np.nan_to_num(max_rel, nan=np.inf, posinf=np.inf)),
            "excess": float(np.nan_to_num(excess.max(), nan=np.inf, posinf=np.inf))}


def noise_floor(a: dict, b: dict, key: str) -> float:
    """NOISE_FACTOR x the larger backend's own sensitivity for `key` (0 where not measured)."""
    na, nb = a.get(f"noise_{key}"), b.get(f"noise_{key}")
    if na is None or nb is None or not np.size(na):
        return 0.0
    return NOISE_FACTOR * float(max(np.max(na), np.max(nb)))
