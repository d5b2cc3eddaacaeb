"""Standings: each finished row's place on a board, kept current when a row lands.

Ranking rule: rows are ordered by the task's primary metric, and each gets a *rank upper
bound* = 1 + the number of rows significantly better than it. "Significantly better" is a
one-sided paired bootstrap on the same checkups (stored in ``comparisons`` when the later
row landed), its p-value = (#resamples where the other row is not ahead + 1) / (B + 1),
with Holm's correction over that row's comparisons at alpha 0.05. Statistical ties
therefore share a rank, as on LMArena's board, instead of being shown as a strict order.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eval_harness.metrics.stats import holm
from eval_harness.results import ResultsDocument
from leaderboard.store.schema import Comparison, Standing

ALPHA = 0.05
#: Report-track columns shown beside the primary metric (when the task has them).
REPORT_COLUMNS = ("bleu", "rougeL", "meteor", "cosine", "primary_class_accuracy",
                  "diagnosis_f1_micro", "icd_f1")


def one_sided_p(share_not_ahead: float, resamples: int) -> float:
    """p of "the other row is better" from the share of resamples where it is not ahead."""
    return (share_not_ahead * resamples + 1) / (resamples + 1)


def rank_upper_bounds(ids: list[int], comparisons: list[Comparison]) -> dict[int, int]:
    """1 + how many rows are significantly better than each row (Holm within the row)."""
    p_better: dict[int, dict[int, float]] = defaultdict(dict)  # row -> other -> p(other > row)
    for c in comparisons:
        # "b better than a" fails where a - b >= 0: a share of 1 - share_b_better.
        p_better[c.a_id][c.b_id] = one_sided_p(1 - c.share_b_better, c.n_resamples)
        p_better[c.b_id][c.a_id] = one_sided_p(1 - c.share_a_better, c.n_resamples)
    wanted = set(ids)
    bounds = {}
    for row in ids:
        tests = {str(other): p for other, p in p_better[row].items() if other in wanted}
        adjusted = holm(tests) if tests else {}
        bounds[row] = 1 + sum(p < ALPHA for p in adjusted.values())
    return bounds


def _top_confusion(tables: dict[str, Any]) -> str | None:
    substituted = tables.get("confusions", {}).get("findings", {}).get("substituted") or []
    if not substituted:
        return None
    top = substituted[0]
    return f"{top['reference']} → {top['generated']} ×{top['count']}"


def standing_rows(board: str, submission_id: int, document: ResultsDocument) -> list[Standing]:
    """The new row's standings, one per task (rank bounds filled by ``refresh``)."""
    rows = []
    for task, result in document.tasks.items():
        primary = result.metrics.get(result.primary_metric, {})
        ci = primary.get("ci") or (None, None)
        columns: dict[str, Any] = {name: result.metrics[name].get("value")
                                   for name in REPORT_COLUMNS if name in result.metrics}
        columns["top_confusion"] = _top_confusion(result.tables)
        for entry in result.tables.get("per_class", {}).get("all", []):
            columns[f"f1:{entry['class']}"] = entry["f1"]  # the board's per-class columns
        columns["n_failed"] = result.n_failed
        rows.append(Standing(board_id=board, submission_id=submission_id, task=task,
                             metric=result.primary_metric, value=primary.get("value"),
                             ci_low=ci[0], ci_high=ci[1], rank_upper_bound=0,
                             columns=columns))
    return rows


def refresh(session: Session, board: str, task: str) -> None:
    """Recompute every rank bound of a board's task from the stored comparisons."""
    from leaderboard.store.schema import Submission

    # Only rows on the board count: a withdrawn row is no longer evidence against others.
    standings = session.scalars(sa.select(Standing).join(
        Submission, Standing.submission_id == Submission.id).where(
        Standing.board_id == board, Standing.task == task,
        Submission.status == "finished")).all()
    comparisons = list(session.scalars(sa.select(Comparison).where(
        Comparison.board_id == board, Comparison.task == task)))
    bounds = rank_upper_bounds([s.submission_id for s in standings], comparisons)
    for standing in standings:
        standing.rank_upper_bound = bounds[standing.submission_id]
