"""Timing statistics and the timed-loop helper. Pure Python + numpy; seconds everywhere."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np


def summarize(seconds) -> dict:
    """median, p5, p95, mean, min, max, n of a list of durations (s). Empty -> n=0, NaNs."""
    a = np.asarray(list(seconds), dtype=np.float64)
    if a.size == 0:
        nan = float("nan")
        return {"n": 0, "median": nan, "p5": nan, "p95": nan, "mean": nan, "min": nan, "max": nan}
    p5, med, p95 = np.percentile(a, [5, 50, 95])
    return {"n": int(a.size), "median": float(med), "p5": float(p5), "p95": float(p95),
            "mean": float(a.mean()), "min": float(a.min()), "max": float(a.max())}


def spread_text(s: dict, scale: float = 1.0, digits: int = 2) -> str:
    """'median (p5-p95, n=N)' of a summarize() dict; one sample has no spread: 'median (n=1)'."""
    f = f"{{:.{digits}f}}"
    med, n = f.format(scale * s["median"]), s.get("n")
    if n is not None and n <= 1:
        return f"{med} (n={n})"
    return f"{med} ({f.format(scale * s['p5'])}-{f.format(scale * s['p95'])}" + (f", n={n})" if n else ")")


def time_calls(fn: Callable[[], object], n: int, warmup: int, sync: Callable[[object], object],
               clock: Callable[[], float] = time.perf_counter, mark: Callable[[], object] | None = None) -> list[float]:
    """Call fn warmup + n times; sync each result before reading the clock; return the n timed
    durations (warm-up calls are run, synced and discarded). mark() runs once where the timed part
    begins (the worker snapshots compile counters there)."""
    for _ in range(warmup):
        sync(fn())
    if mark:
        mark()
    out = []
    for _ in range(n):
        start = clock()
        sync(fn())
        out.append(clock() - start)
    return out


def intervals(stamps: list[float], skip: int, per: int = 1) -> list[float]:
    """Durations between consecutive time stamps, dropping the first `skip` intervals (warm-up),
    each divided by `per` (steps per stamp, e.g. steps_per_execution)."""
    d = np.diff(np.asarray(stamps, dtype=np.float64))[skip:]
    return (d / per).tolist()


def peak_rss_bytes() -> int:
    """Peak resident memory of this process (Linux reports ru_maxrss in KiB)."""
    import resource
    import sys

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)
