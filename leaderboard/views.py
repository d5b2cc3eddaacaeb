"""Read-only views of the store that the CLI and the app render: pure functions of a
session, no metric code (the numbers and the paired tests come from the harness, the
rank bounds from ``standings``). Nothing here returns a reference report or class.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eval_harness import __version__
from leaderboard.store.schema import Board, Standing, Submission


def ranked(session: Session, board: str, task: str, *, setting: str | None = None,
           open_weights: bool | None = None, max_params: float | None = None,
           harness_version: str | None = None) -> list[dict[str, Any]]:
    """The board's finished rows for ``task``, best first, with CIs and rank bounds."""
    if session.get(Board, board) is None:
        raise LookupError(f"no board {board!r}; boards: {', '.join(boards(session)) or 'none'}")
    query = (sa.select(Standing, Submission).join(Submission,
                                                  Standing.submission_id == Submission.id)
             .where(Standing.board_id == board, Standing.task == task,
                    Submission.status == "finished"))
    if setting:
        query = query.where(Submission.setting == setting)
    if open_weights is not None:
        query = query.where(Submission.open_weights.is_(open_weights))
    if max_params is not None:
        query = query.where(Submission.params_billion <= max_params)
    if harness_version:
        query = query.where(Submission.harness_version == harness_version)
    query = query.order_by(Standing.value.desc().nulls_last(), Submission.model_name)
    return [{"id": s.id, "model": s.model_name, "board": board, "task": task,
             "metric": st.metric, "value": st.value, "ci_low": st.ci_low,
             "ci_high": st.ci_high, "rank_upper_bound": st.rank_upper_bound,
             "setting": s.setting, "open_weights": s.open_weights,
             "params_billion": s.params_billion, "submitter": s.submitter,
             "status": s.status, "harness_version": s.harness_version,
             "current_scorer": s.harness_version == __version__,
             "provenance": s.provenance, **st.columns}
            for st, s in session.execute(query)]


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
