"""converge's statistics on fixed arrays, checked against scipy.stats computed another way, and the
verdict rule: equivalent / different / inconclusive (with the seeds that would decide)."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from mnistx.converge import stats

pytestmark = pytest.mark.only_in("jax")  # numpy and scipy only: the same in every leg

D = np.array([0.0012, -0.0004, 0.0009, 0.0001, -0.0007, 0.0015, 0.0003, -0.0002])  # 8 paired differences


def test_t_interval_is_scipys_ttest_interval():
    low, high = stats.t_interval(D, 0.95)
    ref = sps.ttest_1samp(D, 0.0).confidence_interval(0.95)
    assert (low, high) == pytest.approx((ref.low, ref.high), rel=1e-12)


def test_tost_p_is_the_larger_one_sided_p_from_the_t_distribution():
    margin, n = 0.002, len(D)
    se = D.std(ddof=1) / math.sqrt(n)
    p_low = sps.t.sf((D.mean() + margin) / se, n - 1)  # H0: mean <= -margin
    p_high = sps.t.cdf((D.mean() - margin) / se, n - 1)  # H0: mean >= +margin
    assert stats.tost(D, margin) == pytest.approx(max(p_low, p_high), rel=1e-10)
    assert stats.paired_p(D) == pytest.approx(2 * sps.t.sf(abs(D.mean()) / se, n - 1), rel=1e-10)


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    a = stats.bootstrap_interval(D, 0.95, 9999, seed=0)
    assert a == stats.bootstrap_interval(D, 0.95, 9999, seed=0)  # reproducible
    ref = sps.bootstrap((D,), np.mean, confidence_level=0.95, n_resamples=9999, method="percentile",
                        rng=np.random.default_rng(0)).confidence_interval
    assert a == pytest.approx((ref.low, ref.high))
    assert D.min() < a[0] < D.mean() < a[1] < D.max()


def test_verdicts_equivalent_different_inconclusive():
    a = np.linspace(0.970, 0.976, 8)
    eq = stats.compare_pair(a, a + D, margin=0.003)  # differences of ~0.1 points against 0.3
    assert eq["verdict"] == "equivalent" and eq["p_tost"] < 0.05
    diff = stats.compare_pair(a, a + 0.01 + D, margin=0.003)  # a 1-point shift
    assert diff["verdict"] == "different" and diff["interval"][0] > 0.003
    two = stats.compare_pair(a[:2], a[:2] + np.array([0.004, -0.002]), margin=0.003)
    assert two["verdict"] == "inconclusive"
    assert isinstance(two["seeds_needed"], int) and two["seeds_needed"] > 2
    assert f"about {two['seeds_needed']} seeds would decide" in stats.verdict_text(two)


def test_a_small_but_real_shift_inside_the_margin_is_equivalent_not_different():
    a = np.linspace(0.970, 0.976, 8)
    c = stats.compare_pair(a, a + 0.001 + D / 10, margin=0.003)
    assert c["p_paired"] < 0.05 and c["verdict"] == "equivalent"  # real, but smaller than what matters


@pytest.mark.parametrize("mean,sd,margin,decides", [(0.0005, 0.002, 0.003, "equivalent"),
                                                    (0.006, 0.004, 0.003, "different")])
def test_seeds_needed_is_enough_to_decide_at_that_mean_and_spread(mean, sd, margin, decides):
    n = stats.seeds_to_decide(mean, sd, margin)
    assert n is not None and n >= 2
    z = np.array([(-1) ** k for k in range(n)], np.float64) if n % 2 == 0 else \
        np.r_[np.array([(-1) ** k for k in range(n - 1)], np.float64), 0.0]
    d = mean + sd * z / z.std(ddof=1)  # exactly this mean and spread over n seeds
    assert stats.compare_pair(np.zeros(n), d, margin)["verdict"] == decides


def test_no_spread_is_decided_exactly():
    same = np.full(4, 0.97)
    assert stats.compare_pair(same, same, 0.003)["verdict"] == "equivalent"
    assert stats.compare_pair(same, same + 0.01, 0.003)["verdict"] == "different"


def test_unpaired_lengths_are_refused():
    with pytest.raises(ValueError, match="same number"):
        stats.compare_pair([0.1, 0.2], [0.1, 0.2, 0.3], 0.01)
