"""Read-only views of the store that the CLI and the app render: pure functions of a
session, no metric code (the numbers and the paired tests come from the harness).

Ranking rule: rows are ordered by the task's primary metric, and each gets a *rank upper
bound* = 1 + the number of rows significantly better than it. "Significantly better" is a
one-sided paired bootstrap on the same checkups (stored when the later row landed), its
p-value = (#resamples where the other row is not ahead + 1) / (B + 1), with Holm's
correction over that row's comparisons at alpha 0.05. Statistical ties therefore share a
rank, as on LMArena's board, instead of being shown as a strict order.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eval_harness.metrics.stats import holm
from leaderboard.store.schema import Board, Comparison, Result, Submission

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
    bounds = {}
    for row in ids:
        tests = {str(other): p for other, p in p_better[row].items() if other in ids}
        adjusted = holm(tests) if tests else {}
        bounds[row] = 1 + sum(p < ALPHA for p in adjusted.values())
    return bounds


def ranked(session: Session, board: str, task: str, *, view: str = "all",
           setting: str | None = None) -> list[dict[str, Any]]:
    """The board's finished rows for ``task``, best first, with CIs and rank bounds."""
    from eval_harness.tasks import get_task

    if session.get(Board, board) is None:
        raise LookupError(f"no board {board!r}; boards: {', '.join(boards(session)) or 'none'}")
    primary = get_task(task).primary_metric
    query = sa.select(Submission).where(Submission.board_id == board,
                                        Submission.status == "finished")
    if setting:
        query = query.where(Submission.setting == setting)
    submissions = {s.id: s for s in session.scalars(query)}
    values: dict[int, dict[str, Result]] = defaultdict(dict)
    for result in session.scalars(sa.select(Result).where(
            Result.submission_id.in_(submissions), Result.task == task, Result.view == view,
            Result.metric.in_((primary, *REPORT_COLUMNS)))):
        values[result.submission_id][result.metric] = result
    ids = [i for i in submissions if primary in values[i]]
    comparisons = list(session.scalars(sa.select(Comparison).where(
        Comparison.board_id == board, Comparison.task == task)))
    bounds = rank_upper_bounds(ids, comparisons)
    rows = []
    for i in ids:
        s, mine = submissions[i], values[i]
        row = {"id": s.id, "model": s.model_name, "board": board, "task": task,
               "metric": primary, "value": mine[primary].value,
               "ci_low": mine[primary].ci_low, "ci_high": mine[primary].ci_high,
               "rank_upper_bound": bounds[i], "setting": s.setting,
               "open_weights": s.open_weights, "params_billion": s.params_billion,
               "submitter": s.submitter, "status": s.status,
               "harness_version": s.harness_version, "provenance": s.provenance}
        row.update({name: mine[name].value for name in REPORT_COLUMNS if name in mine})
        rows.append(row)
    rows.sort(key=lambda r: (-(r["value"] if r["value"] is not None else float("-inf")),
                             r["model"]))
    return rows


def boards(session: Session) -> list[str]:
    return list(session.scalars(sa.select(Board.id).order_by(Board.id)))


def submission_status(session: Session, submission_id: int) -> dict[str, Any] | None:
    """What a submitter may see of their submission: state, history, failure reason."""
    s = session.get(Submission, submission_id)
    if s is None:
        return None
    return {"id": s.id, "model": s.model_name, "board": s.board_id, "status": s.status,
            "attempts": s.attempts, "failure_category": s.failure_category,
            "failure_log": s.failure_log,
            "events": [{"at": e.at, "status": e.status, "detail": e.detail}
                       for e in s.events]}
