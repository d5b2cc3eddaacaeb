"""The ranking engine (``eval_harness.paired``) validated by simulation.

Every board here is simulated from known truths: k rows answer n = 600 checkups, each
checkup right with the row's own true accuracy, independently; replicates are built with
``Stat`` on a ``ResamplePlan`` of B = 1,000 resamples (the production setting). Expected
values are never computed the way the engine computes them: true ranks come from the true
accuracies, the exactness check is a float64 loop over pairs with ``numpy.std``, and the
retired rule (one-sided bootstrap p, Holm) is written out here.

Every seed is fixed, so these tests are deterministic; the Monte-Carlo (MC) standard error
quoted beside each rate says how far the asserted threshold sits from the measured rate,
i.e. how much room a change of seed or of the engine's arithmetic has before a test fails.
The figures quoted in comments are from ``scripts/ranking_simulation.py`` (docs/ranking.md).
"""

from __future__ import annotations

import functools
from collections import Counter

import numpy as np
import pytest

from eval_harness.metrics.stats import resample_indices, resample_weights
from eval_harness.paired import (
    ResamplePlan,
    Stat,
    better_than,
    pair,
    rank_intervals,
    replicates,
)

N = 600
B = 1000
# Boards cycle over four resample plans (each plan's matrix is built once).
PLAN_SEEDS = (101, 102, 103, 104)


@functools.cache
def _weights(plan_seed: int) -> np.ndarray:
    """The plan's resample matrix (B x n draws of each checkup), as ``replicates`` uses it."""
    plan = ResamplePlan(N, B, plan_seed)
    return np.concatenate(resample_weights(plan.n, plan.resamples, plan.seed))


def _board(truth: np.ndarray, rng: np.random.Generator, plan_seed: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(0/1 answers (n, k), points (k,), replicates (k, B)) of one simulated board.

    Each row's replicates are ``replicates(Stat(answers), plan)`` (checked in
    ``test_board_replicates_are_the_engines_replicates``), computed for all rows in one
    matrix product: the per-row call costs ~2 ms, too much for hundreds of boards."""
    weights = _weights(plan_seed)
    correct = (rng.random((N, truth.size)) < truth).astype(np.float64)
    reps = (weights @ correct).T / N  # every resample draws N checkups
    return correct, correct.mean(axis=0), reps


def _true_rank_sets(truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's set of ranks consistent with the true accuracies (ties: every rank the
    tied group spans): [1 + #truly better, k - #truly worse]."""
    lows = np.array([1 + sum(t > s for t in truth) for s in truth])
    highs = np.array([len(truth) - sum(t < s for t in truth) for s in truth])
    return lows, highs


def _collapse_violations(truth: np.ndarray, low: np.ndarray, high: np.ndarray,
                         gap: float = 0.15) -> list[tuple[int, int]]:
    """Pairs (i, j) with truth[i] >= truth[j] + gap where j's bounds are not both strictly
    worse than i's (rank 1 = best)."""
    return [(i, j) for i in range(truth.size) for j in range(truth.size)
            if truth[i] - truth[j] >= gap - 1e-12 and not (low[j] > low[i] and high[j] > high[i])]


# --------------------------------------------------------------------------- plumbing


def test_board_replicates_are_the_engines_replicates() -> None:
    rng = np.random.default_rng(0)
    correct, points, reps = _board(np.array([0.3, 0.6, 0.9]), rng, PLAN_SEEDS[0])
    plan = ResamplePlan(N, B, PLAN_SEEDS[0])
    indices = resample_indices(N, B, PLAN_SEEDS[0])
    for i in range(3):
        stat = Stat(correct[:, i])
        np.testing.assert_allclose(reps[i], replicates(stat, plan), rtol=0, atol=1e-15)
        assert stat.point() == pytest.approx(points[i], abs=1e-15)
        # and what a resample means: the mean over the checkups drawn (a plain loop)
        naive = np.array([correct[idx, i].mean() for idx in indices])
        np.testing.assert_allclose(reps[i], naive, rtol=0, atol=1e-12)
        assert points[i] == pytest.approx(correct[:, i].sum() / N, abs=1e-15)


# --------------------------------------------------------------------------- coverage

CONFIGS = {
    5: [np.linspace(0.80, 0.60, 5), np.array([0.70, 0.70, 0.65, 0.65, 0.60]), np.full(5, 0.70)],
    20: [np.linspace(0.80, 0.50, 20), np.repeat([0.75, 0.70, 0.65, 0.60], 5), np.full(20, 0.70)],
    60: [np.linspace(0.90, 0.30, 60), np.repeat(np.linspace(0.90, 0.35, 12), 5),
         np.full(60, 0.70)],
}
# Boards per configuration (spread, groups of ties, all tied).
BOARDS = {5: 200, 20: 100, 60: 24}


@pytest.mark.parametrize("k", [5, 20, 60])
def test_each_row_interval_covers_its_true_rank_set(k: int) -> None:
    """Pooled over rows and boards of three configurations (spread accuracies, groups of
    exact ties, all rows tied), at least 93% of the rows' intervals contain the row's whole
    true rank set (the max-t rule promises 95% per row, asymptotically). The all-tied board
    is the hardest case; it alone must reach 90%.

    Measured (scripts/ranking_simulation.py, 500-2,000 boards per configuration): spread
    0.9999-1.0000, groups of ties 0.991-0.998, all tied 0.943-0.951 (MC SE 0.003) at
    k = 5, 20, 60. Expected pooled coverage here is ~0.98; its MC SE (clustered by board:
    the rows of one board are not independent) is computed and asserted to leave the
    threshold >= 3 SE below the measured value. The all-tied share has an MC SE of
    ~0.011 (k = 5, 200 boards), ~0.010 (k = 20, 100) and ~0.014 (k = 60, 24): 0.90 sits
    >= 3 SE below the expected ~0.945."""
    rng = np.random.default_rng(1000 + k)
    per_board: list[list[float]] = [[] for _ in CONFIGS[k]]
    true_sets = [_true_rank_sets(truth) for truth in CONFIGS[k]]
    for b in range(BOARDS[k]):
        # the three boards' rows drawn together (independent rows), then ranked apart
        _, points, reps = _board(np.concatenate(CONFIGS[k]), rng, PLAN_SEEDS[b % 4])
        for c, (lows, highs) in enumerate(true_sets):
            rows = slice(c * k, (c + 1) * k)
            ranks = rank_intervals(points[rows], reps[rows])
            per_board[c].append(float(np.mean((ranks.rank_low <= lows)
                                              & (ranks.rank_high >= highs))))
    pooled = np.array(per_board).T.mean(axis=1)  # one pooled share per board draw
    coverage = float(pooled.mean())
    se = float(pooled.std(ddof=1) / np.sqrt(pooled.size))
    detail = (f"k={k}: coverage {coverage:.4f} (MC SE {se:.4f}, {pooled.size} x 3 boards); "
              f"per configuration {[round(float(np.mean(x)), 4) for x in per_board]}")
    print(detail)  # pytest -s shows the measured figures
    assert coverage >= 0.93, detail
    assert coverage - 3 * se >= 0.93, f"threshold within 3 MC SE: {detail}"
    tied = np.array(per_board[2])
    assert tied.mean() >= 0.90, f"all tied: {tied.mean():.4f}, {detail}"


# --------------------------------------------------------------------------- ties at the top


@pytest.mark.parametrize("group", [5, 20])
def test_exactly_tied_rows_at_the_top_all_show_rank_one(group: int) -> None:
    """``group`` rows with the same true accuracy (0.80, independent answers) above the
    rest of a 60-row board (spread over 0.70 .. 0.30). A tied row with rank_low > 1 is a
    false claim that another tied row is better (a coverage failure of that row), so each
    tied row shows rank 1 in >= ~95% of boards: measured 0.998 (5 tied) and 0.985 (20
    tied) per row, 500 boards, MC SE <= 0.002 (scripts/ranking_simulation.py).

    Every row of the group at rank 1 at once is a joint event the per-row rule does not
    promise. Measured: 0.992 of boards with 5 tied rows (MC SE 0.004) but 0.82 with 20
    (MC SE 0.017): the widest gap within 20 tied rows (the range of 20 draws, ~3.7 sd of
    one row, i.e. ~2.6 pair SEs on average) exceeds the bottom row's critical value
    (~3.1-3.3) in about one board in six.

    40 boards here: the MC SE of a board rate r is sqrt(r (1 - r) / 40), 0.014 at r =
    0.992 and 0.061 at r = 0.82; per-row shares pool 40 x group rows. Each threshold sits
    >= 4 MC SE below the measured rate."""
    rng = np.random.default_rng(7 + group)
    truth = np.concatenate([np.full(group, 0.80), np.linspace(0.70, 0.30, 60 - group)])
    boards = 40
    all_first, row_first = [], []
    for b in range(boards):
        _, points, reps = _board(truth, rng, PLAN_SEEDS[b % 4])
        first = rank_intervals(points, reps).rank_low[:group] == 1
        all_first.append(bool(first.all()))
        row_first.append(float(first.mean()))
    rate, per_row = float(np.mean(all_first)), float(np.mean(row_first))
    detail = (f"{group} tied: every row rank 1 in {rate:.3f} of {boards} boards, per row "
              f"{per_row:.4f}")
    print(detail)  # pytest -s shows the measured figures
    assert per_row >= 0.93, detail
    assert rate >= (0.92 if group == 5 else 0.55), detail


# --------------------------------------------------------------------------- no collapse


def test_no_collapse_on_a_200_row_board() -> None:
    """True accuracies spread evenly over 0.90 .. 0.10 (200 rows, a step of 0.004): every
    row >= 0.15 below another gets strictly worse bounds than it (both ends). Two boards;
    the script's 50 boards found no exception in 660,150 such pairs.

    The pair's own verdict (``better_than``) names the higher row in >= 99% of these pairs,
    not all: a true gap of 0.15 is ~5.2 pair SEs at accuracies near 0.5, the lower row's
    critical value on 200 rows is ~3.3-3.4, and among 13,203 pairs a few observed gaps
    fall ~2 SE short (measured: a tie in 321 of 660,150 pairs, 0.049%, over 50 boards).
    The bounds still order such pairs through the rows in between."""
    truth = np.linspace(0.90, 0.10, 200)
    rng = np.random.default_rng(200)
    for b in range(2):
        _, points, reps = _board(truth, rng, PLAN_SEEDS[b])
        ranks = rank_intervals(points, reps)
        assert _collapse_violations(truth, ranks.rank_low, ranks.rank_high) == []
        assert ranks.rank_low.max() > 150 and ranks.rank_high.min() < 50
        if b == 0:  # the pairs' own verdicts, on every 10th pair
            i, j = np.nonzero(truth[:, None] - truth[None, :] >= 0.15 - 1e-12)
            verdicts = Counter(better_than(pair(points[x], reps[x], points[y], reps[y]),
                                           ranks.critical[x], ranks.critical[y])
                               for x, y in zip(i[::10], j[::10], strict=True))
            assert verdicts["B"] == 0 and verdicts["A"] >= 0.99 * i[::10].size, verdicts


def _old_rule_bounds(reps: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """The retired rule: 1 + #rows j significantly better than i, where p(j better than i)
    = (#resamples where j is not ahead of i + 1) / (B + 1), Holm-adjusted over i's k - 1
    comparisons (step-down: the r-th smallest of m p-values is compared at alpha / (m - r)
    and the procedure stops at the first failure)."""
    k, b = reps.shape
    bounds = np.ones(k, dtype=np.int64)
    for i in range(k):
        p = sorted((int(np.sum(reps[j] <= reps[i])) + 1) / (b + 1) for j in range(k) if j != i)
        m = len(p)
        for r, value in enumerate(p):
            if value >= alpha / (m - r):
                break
            bounds[i] += 1
    return bounds


def test_the_old_rule_collapses_and_the_new_one_does_not() -> None:
    """62 rows graded 1.00 .. 0.17. The old rule's smallest p is 1/(B + 1) = 1/1001; Holm's
    first step compares it with 0.05 / 61 = 0.00082, so nothing is ever significant and
    every row is at rank 1 (it can only reject while m <= 50). The same 0.15-gap check that
    the new rule passes fails for it in every pair, and the old rule passes it on a 21-row
    board (m = 20), so the check tells the two apart."""
    truth = np.linspace(1.00, 0.17, 62)
    _, points, reps = _board(truth, np.random.default_rng(62), PLAN_SEEDS[0])
    old = _old_rule_bounds(reps)
    assert np.all(old == 1), f"old rule bounds {old}"
    pairs = np.sum(truth[:, None] - truth[None, :] >= 0.15 - 1e-12)
    assert len(_collapse_violations(truth, old, old)) == pairs  # ties everywhere
    new = rank_intervals(points, reps)
    assert _collapse_violations(truth, new.rank_low, new.rank_high) == []
    assert new.rank_low.max() > 40
    # m = 20 comparisons: the old rule orders rows again (1/1001 < 0.05 / 20).
    few = slice(0, 62, 3)
    small = _old_rule_bounds(reps[few])
    assert _collapse_violations(truth[few], small, small) == []


# --------------------------------------------------------------------------- monotone


def test_a_clearly_higher_row_never_gets_a_worse_bound() -> None:
    """30 boards of 40 rows (20 spread over 0.85 .. 0.45 and 4 groups of 5 tied): a row
    whose true accuracy is >= 0.10 higher, or whose observed accuracy is >= 0.06 higher,
    than another never has a larger rank_low nor a larger rank_high."""
    truth = np.concatenate([np.linspace(0.85, 0.45, 20), np.repeat([0.8, 0.7, 0.6, 0.5], 5)])
    rng = np.random.default_rng(40)
    checked = 0
    for b in range(30):
        _, points, reps = _board(truth, rng, PLAN_SEEDS[b % 4])
        ranks = rank_intervals(points, reps)
        clearly = ((truth[:, None] - truth[None, :] >= 0.10 - 1e-12)
                   | (points[:, None] - points[None, :] >= 0.06))
        i, j = np.nonzero(clearly)
        checked += i.size
        assert np.all(ranks.rank_low[i] <= ranks.rank_low[j]), f"board {b}"
        assert np.all(ranks.rank_high[i] <= ranks.rank_high[j]), f"board {b}"
    assert checked > 10_000


# --------------------------------------------------------------------------- exactness


def _naive_rank_intervals(points: np.ndarray, reps: np.ndarray, level: float = 0.95
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The max-t rule in float64, one pair at a time, straight from its definition."""
    k = len(points)
    low, high, crit = np.ones(k, dtype=int), np.full(k, k), np.zeros(k)
    for i in range(k):
        stats, se = [], {}
        for j in range(k):
            if j == i:
                continue
            d = reps[i] - reps[j]
            se[j] = float(np.std(d, ddof=1))
            if se[j] > 0:
                stats.append(np.abs(d - (points[i] - points[j])) / se[j])
        crit[i] = float(np.quantile(np.max(stats, axis=0), level)) if stats else 0.0
        for j, s in se.items():
            gap = points[j] - points[i]  # > 0: j ahead of i
            if (s > 0 and gap / s > crit[i]) or (s == 0 and gap > 0):
                low[i] += 1
            if (s > 0 and -gap / s > crit[i]) or (s == 0 and gap < 0):
                high[i] -= 1
    return low, high, crit


def test_the_engine_equals_a_naive_float64_implementation() -> None:
    """k = 15: 13 rows spread over 0.45 .. 0.85, two rows with the very same answers (an
    exact tie: identical replicates) and a row right on every checkup (constant
    replicates). Replicates from a plain loop over the plan's resample indices; bounds
    identical, critical values within 1e-4 (the engine's float32)."""
    rng = np.random.default_rng(15)
    truth = np.linspace(0.85, 0.45, 13)
    correct = (rng.random((N, 13)) < truth).astype(np.float64)
    correct = np.column_stack([correct, correct[:, 5], np.ones(N)])
    indices = resample_indices(N, B, PLAN_SEEDS[1])
    reps = np.array([[correct[idx, i].mean() for idx in indices] for i in range(15)])
    points = correct.mean(axis=0)
    low, high, crit = _naive_rank_intervals(points, reps)
    # The check is only meaningful if no pair's statistic sits within float32 reach of a
    # critical value: confirm the margin first.
    for i in range(15):
        for j in range(15):
            s = np.std(reps[i] - reps[j], ddof=1)
            if i != j and s > 0:
                assert abs(abs(points[i] - points[j]) / s - crit[i]) > 1e-3
    ranks = rank_intervals(points, reps)
    np.testing.assert_array_equal(ranks.rank_low, low)
    np.testing.assert_array_equal(ranks.rank_high, high)
    np.testing.assert_allclose(ranks.critical, crit, rtol=0, atol=1e-4)
    assert ranks.rank_low[13] == ranks.rank_low[5] and ranks.rank_high[13] == ranks.rank_high[5]
    assert ranks.rank_low[14] == 1 and high[14] < 15  # perfect row: never beaten


# --------------------------------------------------------------------------- direction


def test_lower_is_better_reverses_the_ranks() -> None:
    """An error rate (1 - accuracy, lower is better) ranks the rows exactly as accuracy
    does, and one set of replicates read the other way round gives mirrored ranks:
    [k + 1 - high, k + 1 - low] with the same critical values."""
    truth = np.concatenate([np.linspace(0.9, 0.5, 8), [0.7, 0.7]])
    _, points, reps = _board(truth, np.random.default_rng(3), PLAN_SEEDS[2])
    k = truth.size
    up = rank_intervals(points, reps)
    error = rank_intervals(1 - points, 1 - reps, higher_is_better=False)
    np.testing.assert_array_equal(error.rank_low, up.rank_low)
    np.testing.assert_array_equal(error.rank_high, up.rank_high)
    mirrored = rank_intervals(points, reps, higher_is_better=False)
    np.testing.assert_array_equal(mirrored.rank_low, k + 1 - up.rank_high)
    np.testing.assert_array_equal(mirrored.rank_high, k + 1 - up.rank_low)
    np.testing.assert_allclose(mirrored.critical, up.critical, atol=1e-6)
    assert up.rank_low[0] == 1 and mirrored.rank_high[0] == k  # best at 0.9 -> worst
    assert mirrored.rank_low[7] == 1  # the 0.5 row is best when lower is better


# --------------------------------------------------------------------------- pair


def test_pair_of_identical_runs_has_p_one() -> None:
    _, points, reps = _board(np.array([0.6]), np.random.default_rng(4), PLAN_SEEDS[0])
    same = pair(points[0], reps[0], points[0], reps[0].copy())
    assert (same.p_value, same.delta, same.se) == (1.0, 0.0, 0.0)
    assert better_than(same, 3.0, 3.0) == "tie"


def test_pair_of_clearly_different_runs_is_significant() -> None:
    # 0.80 vs 0.60 on 600 checkups: ~8 standard errors apart.
    _, points, reps = _board(np.array([0.8, 0.6]), np.random.default_rng(5), PLAN_SEEDS[0])
    result = pair(points[0], reps[0], points[1], reps[1])
    assert result.p_value < 0.05
    assert result.p_value == pytest.approx(1 / (B + 1))
    assert result.ci_low > 0 and result.delta == pytest.approx(points[0] - points[1])
    assert better_than(result, *rank_intervals(points, reps).critical) == "A"
    assert better_than(pair(points[1], reps[1], points[0], reps[0]),
                       *rank_intervals(points[::-1], reps[::-1]).critical) == "B"


def test_better_than_agrees_with_the_pairs_p_value_near_the_threshold() -> None:
    """300 two-row boards whose true gap (0.70 + g vs 0.70, g in 0 .. 0.08) puts |z| near
    the 5% threshold (~2 SE): the board's verdict (``better_than`` with the rows' critical
    values) is "not a tie" exactly when the pair's p < 0.05, with the winner by the sign
    of the difference, in >= 95% of them. The two read the same centred resamples and can
    only disagree when |z| falls between the 95% quantile of |t*| (interpolated) and
    the value p < 0.05 needs (fewer than 50 of 1,000 |t*| at least |z|); measured ~99%
    (MC SE ~0.006)."""
    rng = np.random.default_rng(2)
    gaps = np.linspace(0.0, 0.08, 300)
    agree, significant = 0, 0
    for n, g in enumerate(gaps):
        _, points, reps = _board(np.array([0.70 + g, 0.70]), rng, PLAN_SEEDS[n % 4])
        result = pair(points[0], reps[0], points[1], reps[1])
        verdict = better_than(result, *rank_intervals(points, reps).critical)
        expected = ("tie" if result.p_value >= 0.05
                    else "A" if result.delta > 0 else "B")
        agree += verdict == expected
        significant += result.p_value < 0.05
    rate = agree / gaps.size
    print(f"agreement {rate:.3f} ({agree} of {gaps.size}), {significant} with p < 0.05")
    assert 60 < significant < 240, f"{significant} significant: not near the threshold"
    assert rate >= 0.95, f"agreement {rate:.3f} ({agree} of {gaps.size})"
