"""Does a benchmark number explain itself? Pure Python: compile counts, epoch reconciliation, cross-checks.

Every timed region (an epoch, a run of steps, the cross-check loop) records the compilations that
happened inside it (`delta` of two `backends.compilations()` snapshots). A region that compiled is
marked, never silently averaged in. An epoch reconciles when epoch seconds ~ steps x the steady step
time; a keras mode is checked against a plain `train_on_batch` loop timed by the same harness.
Thresholds live in config.BenchChecks.
"""

from __future__ import annotations

import math

from mnistx.config import BENCH_CHECKS


def delta(before: dict, after: dict) -> dict:
    """after - before per counter (compiles, graph_breaks, ...), and the new entries of a list (torch's
    gave_up_on: the functions dynamo gave up on); {} when the backend counts nothing."""
    return {k: after[k] - before.get(k, 0) if isinstance(after[k], int) else after[k][len(before.get(k, ())):]
            for k in after if isinstance(after[k], (int, list))}


def compiled(counts: dict) -> bool:
    """True when a region built a new graph (a compile or trace), i.e. its time includes compilation."""
    return counts.get("compiles", 0) > 0 or counts.get("traces", 0) > 0


def epoch_steps(samples: int, batch_size: int, partial_batch: bool) -> int:
    """Train steps in one epoch: keras fit runs the partial last batch, the native loops drop it."""
    return math.ceil(samples / batch_size) if partial_batch else samples // batch_size


def reconcile(epoch_s: float, steps: int, step_s: float, extra_s: float = 0.0, fused: bool = False) -> dict:
    """epoch seconds against steps x the steady step seconds (+ stated per-epoch work, s).

    ratio = epoch / expected; `reconciled` is False when the ratio is outside
    [1 / tolerance, tolerance]: the epoch and the step table contradict each other. A fused epoch
    (one compiled loop, or steps_per_execution > 1) skips the per-call dispatch that each timed step
    pays, so it may be faster than its steps without limit, never slower than the tolerance."""
    expected = steps * step_s + extra_s
    ratio = epoch_s / expected if expected > 0 and math.isfinite(expected) else float("nan")
    tol = BENCH_CHECKS.reconcile_tolerance
    ok = math.isfinite(ratio) and (fused or 1 / tol <= ratio) and ratio <= tol
    return {"epoch_s": epoch_s, "steps": steps, "step_s": step_s, "extra_s": extra_s, "expected_s": expected,
            "ratio": ratio, "tolerance": tol, "fused": fused, "reconciled": bool(ok)}


def cross_check(mode_step_s: float, check_step_s: float, what: str) -> dict:
    """A mode's seconds per step (its epoch / steps) over an independent loop's; flagged above the limit."""
    ratio = mode_step_s / check_step_s if check_step_s > 0 else float("nan")
    limit = BENCH_CHECKS.cross_check_limit
    return {"against": what, "mode_step_s": mode_step_s, "check_step_s": check_step_s, "ratio": ratio,
            "limit": limit, "flagged": bool(not math.isfinite(ratio) or ratio > limit)}


def flags(mode: dict) -> list[str]:
    """One line per thing that makes a mode's numbers untrustworthy (empty: they explain themselves)."""
    out = []
    for region, counts in sorted((mode.get("compiles") or {}).items()):
        if not region.startswith("first_call") and compiled(counts):
            out.append(f"{region}: {counts.get('compiles', 0)} compile(s) inside the timed region")
        if counts.get("gave_up", 0) > 0:
            names = f": {', '.join(counts['gave_up_on'])}" if counts.get("gave_up_on") else ""
            out.append(f"{region}: dynamo gave up compiling {counts['gave_up']} function(s) (its recompile limit), "
                       f"run eager from then on{names}")
    rec = mode.get("reconcile")
    if rec and not rec["reconciled"]:
        out.append(f"epoch {rec['epoch_s']:.3g} s is {rec['ratio']:.2f}x steps x step "
                   f"({rec['steps']} x {1e3 * rec['step_s']:.3g} ms)")
    cc = mode.get("cross_check")
    if cc and cc["flagged"]:
        out.append(f"{cc['ratio']:.2f}x its cross-check ({cc['against']}, limit {cc['limit']}x)")
    return out
