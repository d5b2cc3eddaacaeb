"""The one engine behind every comparison of runs on the same checkups: bootstrap
replicates on a fixed resample plan, the paired test of two runs, and rank intervals.

A *resample plan* (n checkups, B resamples, a seed) fixes which checkups every resample
draws. A run's *replicates* of a metric are that metric recomputed on each of the B
resamples, from the per-sample sufficient statistics its task declares (``Stat``): a mean
of per-sample values, or a function of summed per-sample counts (macro-F1 from per-class
TP/FP/FN, corpus BLEU from n-gram sums). Two runs scored on the same plan are compared
*paired* from their replicates alone, so a leaderboard stores B floats per metric per row
and never needs the per-sample data again.

- ``pair``: one pair's difference, bootstrap standard error, percentile CI and two-sided
  p-value (the share of resampled differences at least as far from the observed one as the
  observed one is from 0).
- ``rank_intervals``: every row's rank interval by the per-row max-t rule of Mogstad,
  Romano, Shaikh and Wilhelm (*Inference for Ranks*, 2024), see ``docs/ranking.md``.

Nothing here knows a task or a metric by name: tasks hand in ``Stat`` objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from eval_harness.metrics.stats import resample_weights

DEFAULT_RESAMPLES = 1000
LEVEL = 0.95
# Rows per block of the pairwise work in ``rank_intervals``: a block holds
# rows x k x B float32 values (16 x 1,000 x 1,000 = 64 MB at k = 1,000).
_BLOCK_CELLS = 16_000_000


@dataclass(frozen=True)
class Stat:
    """One run's per-sample sufficient statistics of one metric, in checkup order.

    ``values`` is (n,) for a mean of per-sample values, or (n, k) counts whose column sums
    give the metric through ``from_sums`` (a function of (B, k) sums returning B values).
    ``correct`` (0/1 per sample) is given for accuracy-like metrics, for McNemar's test.
    """

    values: np.ndarray
    from_sums: Callable[[np.ndarray], np.ndarray] | None = None
    higher_is_better: bool = True
    correct: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(np.asarray(self.values).shape[0])

    def on(self, weights: np.ndarray) -> np.ndarray:
        """The metric on each row of ``weights`` (B x n counts of each checkup drawn)."""
        values = np.asarray(self.values, dtype=np.float64)
        if self.from_sums is None:
            return (weights @ values) / weights.sum(axis=1)
        return np.asarray(self.from_sums(weights @ values), dtype=np.float64).reshape(-1)

    def point(self) -> float:
        return float(self.on(np.ones((1, self.n)))[0])


@dataclass(frozen=True)
class ResamplePlan:
    """B resamples of n checkups drawn from ``seed``: the same plan gives the same draws."""

    n: int
    resamples: int = DEFAULT_RESAMPLES
    seed: int = 0

    def signature(self) -> str:
        return (f"paired-bootstrap|n:{self.n}|resamples:{self.resamples}|seed:{self.seed}"
                "|rng:numpy-pcg64")


def replicates(stat: Stat, plan: ResamplePlan) -> np.ndarray:
    """The metric on each of the plan's B resamples (float64, shape (B,))."""
    if stat.n != plan.n:
        raise ValueError(f"the plan resamples {plan.n} checkups but the run has {stat.n}")
    chunks = [stat.on(weights) for weights in resample_weights(plan.n, plan.resamples,
                                                               plan.seed)]
    return np.concatenate(chunks)


@dataclass(frozen=True)
class Pair:
    """A vs B on one metric: ``delta`` = A - B on the full sample, its bootstrap standard
    error and percentile CI, the two-sided p-value, and whether A (or B) is the better
    one by the metric's direction."""

    a: float
    b: float
    delta: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_resamples: int


def pair(a: float, reps_a: np.ndarray, b: float, reps_b: np.ndarray, *,
         level: float = LEVEL) -> Pair:
    """The paired bootstrap of A - B from both runs' replicates on the same plan.

    p = (#{|d* - delta| >= |delta|} + 1) / (B + 1): the resampled differences d*, centred
    on the observed ``delta``, simulate the null of no difference (Efron & Tibshirani
    1993, 16.4); identical runs get p = 1. The board's rule (``rank_intervals``) uses the
    same centred differences, scaled by the same standard error.
    """
    reps_a, reps_b = np.asarray(reps_a, float), np.asarray(reps_b, float)
    if reps_a.shape != reps_b.shape or reps_a.ndim != 1:
        raise ValueError(f"replicates differ in shape: {reps_a.shape} vs {reps_b.shape}")
    d = reps_a - reps_b
    delta = a - b
    count = int(np.sum(np.abs(d - delta) >= abs(delta) - 1e-12 * max(1.0, abs(delta))))
    alpha = 1.0 - level
    low, high = np.quantile(d, [alpha / 2, 1 - alpha / 2])
    return Pair(a=a, b=b, delta=delta, se=float(d.std(ddof=1)) if d.size > 1 else 0.0,
                ci_low=float(low), ci_high=float(high),
                p_value=(count + 1) / (d.size + 1), n_resamples=int(d.size))


@dataclass(frozen=True)
class Intervals:
    """Rank intervals of k rows (1 = best): row i's interval is [rank_low[i],
    rank_high[i]]; ``critical[i]`` is its max-t critical value c_i, with which any pair's
    verdict can be read again (``better_than``)."""

    rank_low: np.ndarray
    rank_high: np.ndarray
    critical: np.ndarray


def _oriented(points: np.ndarray, reps: np.ndarray, higher_is_better: bool
              ) -> tuple[np.ndarray, np.ndarray]:
    sign = 1.0 if higher_is_better else -1.0
    return sign * np.asarray(points, np.float64), sign * np.asarray(reps, np.float64)


def _pair_se(centred: np.ndarray, rows: slice) -> np.ndarray:
    """Bootstrap standard errors of every (row in ``rows``, j) difference, from the
    covariance of the centred replicates: var(e_i - e_j) = v_i + v_j - 2 c_ij."""
    b = centred.shape[1]
    demeaned = centred - centred.mean(axis=1, keepdims=True)
    variance = np.einsum("ij,ij->i", demeaned, demeaned) / (b - 1)
    cov = demeaned[rows] @ demeaned.T / (b - 1)
    var = variance[rows, None] + variance[None, :] - 2 * cov
    return np.sqrt(np.maximum(var, 0.0))


def _tie_scale(points: np.ndarray) -> float:
    """Below this standard error two rows' replicates are the same: an exact tie."""
    return 1e-12 * max(1.0, float(np.max(np.abs(points))) if points.size else 1.0)


def rank_intervals(points: np.ndarray, reps: np.ndarray, *, higher_is_better: bool = True,
                   level: float = LEVEL) -> Intervals:
    """Rank intervals by the per-row max-t rule (marginal confidence sets for ranks).

    With D_ij = P_i - P_j, its bootstrap replicates D*_ij and their standard error
    se_ij: c_i is the ``level`` quantile over resamples of max_j |(D*_ij - D_ij) / se_ij|;
    row j is better than row i when D_ji / se_ij > c_i, worse when D_ij / se_ij > c_i;
    i's interval is [1 + #better, k - #worse]. Pairs whose replicates coincide (se = 0)
    are exact ties unless their points differ. The pairwise work runs in blocks of rows,
    so memory stays bounded at any k.
    """
    points, reps = _oriented(points, reps, higher_is_better)
    k = points.shape[0]
    if reps.shape[0] != k or reps.ndim != 2:
        raise ValueError(f"{k} points but replicates of shape {reps.shape}")
    low, high = np.ones(k, dtype=np.int64), np.full(k, k, dtype=np.int64)
    critical = np.zeros(k)
    if k < 2:
        return Intervals(low, high, critical)
    centred = reps - points[:, None]  # e_i = D*-part of row i: (D*_ij - D_ij) = e_i - e_j
    # float32 for the k x k x B work (half the memory traffic; the critical values move by
    # less than 1e-5, far below any decision's resolution of 1 / B).
    centred32 = centred.astype(np.float32)
    tie = _tie_scale(points)
    block = max(1, _BLOCK_CELLS // (k * reps.shape[1]))
    for start in range(0, k, block):
        rows = slice(start, min(k, start + block))
        se = _pair_se(centred, rows)
        separable = se > tie
        inv = np.where(separable, 1.0 / np.where(separable, se, 1.0), 0.0)
        t = centred32[rows, None, :] - centred32[None, :, :]
        np.abs(t, out=t)
        t *= inv[:, :, None].astype(np.float32)
        critical[rows] = np.quantile(t.max(axis=1), level, axis=1)
        diff = points[rows, None] - points[None, :]  # D_ij for i in rows
        decided = np.where(np.abs(diff) > tie, np.copysign(np.inf, diff), 0.0)
        z = np.where(separable, diff * inv, decided)
        c = critical[rows, None]
        low[rows] = 1 + np.sum(-z > c, axis=1)  # j better than i: D_ji / se > c_i
        high[rows] = k - np.sum(z > c, axis=1)
    return Intervals(low, high, critical)


def better_than(verdict: Pair, critical_a: float, critical_b: float,
                higher_is_better: bool = True) -> str:
    """The board's verdict on one pair, from the pair's own difference and standard error
    and each row's stored critical value: "A", "B" or "tie"."""
    delta = verdict.delta if higher_is_better else -verdict.delta
    if verdict.se <= _tie_scale(np.array([verdict.a, verdict.b])):
        return "tie" if abs(delta) <= _tie_scale(np.array([verdict.a, verdict.b])) else (
            "A" if delta > 0 else "B")
    z = delta / verdict.se
    if z > critical_b:  # A better than B, judged against B's own critical value
        return "A"
    if -z > critical_a:
        return "B"
    return "tie"
