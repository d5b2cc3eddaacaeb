"""Rank upper bounds: 1 + the rows significantly better (one-sided paired bootstrap, Holm)."""

from __future__ import annotations

from leaderboard.standings import one_sided_p, rank_upper_bounds
from leaderboard.store.schema import Comparison


def _cmp(a: int, b: int, a_better: float, b_better: float, n: int = 999) -> Comparison:
    return Comparison(a_id=a, b_id=b, share_a_better=a_better, share_b_better=b_better,
                      n_resamples=n, task="code_cls", metric="macro_f1", delta=0.0,
                      board_id="x")


def test_one_sided_p_counts_the_resamples_where_the_other_is_not_ahead() -> None:
    # 999 resamples, the other row ahead in all: p = 1/1000, never 0.
    assert one_sided_p(0.0, 999) == 1 / 1000
    assert one_sided_p(1.0, 999) == 1.0


def test_clear_order_gives_strict_ranks_and_ties_share_one() -> None:
    # 1 beats 2 and 3 in every resample; 2 and 3 are a coin toss.
    comparisons = [_cmp(1, 2, 1.0, 0.0), _cmp(1, 3, 1.0, 0.0), _cmp(2, 3, 0.5, 0.5)]
    assert rank_upper_bounds([1, 2, 3], comparisons) == {1: 1, 2: 2, 3: 2}


def test_direction_is_read_from_either_side_of_the_stored_pair() -> None:
    # Stored as (worse, better): the better row must still rank first.
    assert rank_upper_bounds([1, 2], [_cmp(2, 1, 0.0, 1.0)]) == {1: 1, 2: 2}


def test_ties_in_the_resamples_are_not_evidence_for_either_side() -> None:
    # a ahead in 3% of resamples, level in 95%, b ahead in 2%: neither is significantly
    # better (reading b's share as 1 - share_a_better would call b better).
    assert rank_upper_bounds([1, 2], [_cmp(1, 2, 0.03, 0.02)]) == {1: 1, 2: 1}


def test_holm_keeps_a_borderline_win_from_counting_among_many_comparisons() -> None:
    # Row 9 is behind rows 1..4 each with p = 0.02: significant alone, not after Holm
    # over four comparisons (smallest adjusted p = 4 * 0.02 = 0.08).
    share = 1 - (0.02 * 1000 - 1) / 999  # one_sided_p(1 - share) == 0.02
    comparisons = [_cmp(i, 9, share, 0.0) for i in range(1, 5)]
    bounds = rank_upper_bounds([1, 2, 3, 4, 9], comparisons)
    assert bounds[9] == 1
    assert rank_upper_bounds([1, 9], comparisons[:1])[9] == 2  # alone it counts


def test_primary_paired_equals_the_compare_row_of_the_primary_metric() -> None:
    # The board's cheap primary-only test must be the very test `compare` reports.
    from eval_harness.compare import primary_paired
    from eval_harness.tasks import get_task
    from leaderboard.seeds import read_seed

    runs = read_seed()["runs"][:2]
    for task in ("code_cls", "code_report"):
        a, b = ([s for s in sorted(r["samples"], key=lambda s: s["id"]) if s["task"] == task]
                for r in runs)
        quick = primary_paired(task, a, b, resamples=200, seed=3)
        row = next(r for r in get_task(task).paired_rows(a, b, 200, 3)
                   if r.metric == get_task(task).primary_metric)
        assert (quick.delta, quick.p_value) == (row.delta, row.p_bootstrap)
        assert 0 <= quick.share_a_better + quick.share_b_better <= 1
