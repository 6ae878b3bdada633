"""Do two backends train as well? Paired per-seed differences, tested with scipy.stats.

For one metric and one pair of backends (a, b), d[k] = b[k] - a[k] over seeds k (the same initial
weights and batch order on both sides, so the pairing removes the seed-to-seed spread):

    t 95% interval of mean(d)              scipy.stats.t (the paired t-test's own: it decides)
    bootstrap 95% interval of mean(d)      scipy.stats.bootstrap (percentile, seeded; shown beside
                                           it: with few seeds it is narrower than it should be)
    TOST against +-margin                  two one-sided scipy.stats.ttest_1samp (alternative=...)
    paired t-test against 0                scipy.stats.ttest_1samp (two-sided)

Verdict: **equivalent** when TOST rejects both one-sided nulls (p < alpha: the difference lies
within the margin); else **different** when the paired t-test rejects 0 (with the interval); else
**inconclusive**, with the number of seeds that would decide at 80% power, from the observed mean
and spread (a t-based search). Units are the metric's own (accuracy as a fraction, loss as is).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

POWER = 0.8  # for the "seeds that would decide" estimate
MAX_SEEDS = 10_000  # the estimate says "more than this" beyond it


def describe(values) -> dict:
    """mean, sd (ddof=1), min, max and the values of one backend's metric over seeds."""
    v = np.asarray(values, np.float64)
    return {"n": int(len(v)), "mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max()), "values": [float(x) for x in v]}


def bootstrap_interval(d, confidence: float = 0.95, resamples: int = 9999, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(d); (d, d) when every difference is the same."""
    d = np.asarray(d, np.float64)
    if np.ptp(d) == 0:
        return float(d[0]), float(d[0])
    res = stats.bootstrap((d,), np.mean, confidence_level=confidence, n_resamples=resamples,
                          method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def t_interval(d, confidence: float = 0.95) -> tuple[float, float]:
    """The paired t-test's interval of mean(d): mean +- t(1 - (1-confidence)/2, n-1) * sd / sqrt(n)."""
    d = np.asarray(d, np.float64)
    half = stats.t.ppf(1 - (1 - confidence) / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return float(d.mean() - half), float(d.mean() + half)


def tost(d, margin: float) -> float:
    """The TOST p-value: the larger of the two one-sided p-values for H0 mean <= -margin and
    H0 mean >= +margin (small: the mean difference lies within +-margin)."""
    d = np.asarray(d, np.float64)
    if np.ptp(d) == 0:  # no spread: the difference is known exactly
        return 0.0 if abs(d[0]) < margin else 1.0
    lower = stats.ttest_1samp(d, -margin, alternative="greater").pvalue
    upper = stats.ttest_1samp(d, margin, alternative="less").pvalue
    return float(max(lower, upper))


def paired_p(d) -> float:
    """Two-sided paired t-test p-value for mean(d) == 0."""
    d = np.asarray(d, np.float64)
    if np.ptp(d) == 0:
        return 1.0 if d[0] == 0 else 0.0
    return float(stats.ttest_1samp(d, 0.0).pvalue)


def seeds_to_decide(mean: float, sd: float, margin: float, alpha: float = 0.05, power: float = POWER) -> int | None:
    """Seeds at which, with this mean difference and spread, TOST (|mean| < margin) or the paired
    t-test (|mean| >= margin) would decide with the given power; None beyond MAX_SEEDS."""
    gap = margin - abs(mean) if abs(mean) < margin else abs(mean)
    if sd == 0:
        return 2
    if gap <= 0:
        return None
    for n in range(2, MAX_SEEDS + 1):
        df = n - 1
        if abs(mean) < margin:  # both one-sided tests at alpha; power split between the two sides
            need = stats.t.ppf(1 - alpha, df) + stats.t.ppf(1 - (1 - power) / 2, df)
        else:
            need = stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)
        if gap * math.sqrt(n) / sd >= need:
            return n
    return None


def compare_pair(a, b, margin: float, alpha: float = 0.05, resamples: int = 9999) -> dict:
    """b - a per seed: mean, sd, bootstrap interval, TOST and paired p-values, the verdict."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or len(a) < 2:
        raise ValueError(f"paired values need the same number (>= 2) of seeds, not {len(a)} and {len(b)}")
    d = b - a
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    low, high = t_interval(d, 1 - alpha)
    p_tost, p_diff = tost(d, margin), paired_p(d)
    out = {"n": int(len(d)), "differences": [float(x) for x in d], "mean": mean, "sd": sd,
           "interval": [low, high], "bootstrap": list(bootstrap_interval(d, 1 - alpha, resamples)),
           "confidence": 1 - alpha, "margin": float(margin),
           "p_tost": p_tost, "p_paired": p_diff, "seeds_needed": None}
    if p_tost < alpha:
        out["verdict"] = "equivalent"
    elif p_diff < alpha:
        out["verdict"] = "different"
    else:
        out["verdict"] = "inconclusive"
        out["seeds_needed"] = seeds_to_decide(mean, sd, margin, alpha)
    return out


def verdict_text(c: dict, unit: str = "") -> str:
    """One line: 'equivalent: +0.0004 [-0.0010, +0.0017] within +-0.0030 (TOST p 0.001)' (the t interval)."""
    lo, hi = c["interval"]
    span = f"{c['mean']:+.4g}{unit} [{lo:+.4g}, {hi:+.4g}]"
    if c["verdict"] == "equivalent":
        return f"equivalent: {span} within +-{c['margin']:.4g}{unit} (TOST p {c['p_tost']:.2g})"
    if c["verdict"] == "different":
        return f"different: {span}, paired t-test p {c['p_paired']:.2g} (margin +-{c['margin']:.4g}{unit})"
    need = c["seeds_needed"]
    more = f"about {need} seeds would decide" if need else f"more than {MAX_SEEDS} seeds would be needed"
    return f"inconclusive: {span} vs margin +-{c['margin']:.4g}{unit} with {c['n']} seeds; {more}"
