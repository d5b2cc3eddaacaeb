"""Standings: a pure function of a board's finished rows, recomputed whole.

Every board fixes a resample plan (n checkups, B resamples, a seed of its own). When a row
lands, each headline metric of each of its tasks is computed on every resample from the
task's per-sample statistics and stored (``replicates``); the rank intervals of every row
by every headline metric are then recomputed from all finished rows' replicates by the
per-row max-t rule (``eval_harness.paired.rank_intervals``, ``docs/ranking.md``), under a
per-board lock, after every landing, withdrawal and rescore. Insertion order and
concurrent workers therefore cannot change a board's standings.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from eval_harness.errors import DataError
from eval_harness.paired import ResamplePlan, rank_intervals, replicates
from eval_harness.results import ResultsDocument
from leaderboard.store.schema import Board, RankInterval, Replicate, Standing, Submission

#: Report-track columns shown beside the primary metric (when the task has them).
REPORT_COLUMNS = ("bleu", "rougeL", "meteor", "cosine", "primary_class_accuracy",
                  "diagnosis_f1_micro", "icd_f1")
CI_LEVEL = 0.95


def board_seed(board_id: str) -> int:
    """A board's own resample seed, derived from its id (31 bits: any database's INTEGER)."""
    return int.from_bytes(hashlib.sha256(board_id.encode()).digest()[:4], "big") & 0x7FFFFFFF


def plan_of(board: Board) -> ResamplePlan:
    return ResamplePlan(board.n_checkups, board.resamples or 1000,
                        board.resample_seed if board.resample_seed is not None else 0)


def to_bytes(values: np.ndarray) -> bytes:
    return np.asarray(values, dtype="<f8").tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f8")


def replicate_rows(board: Board, submission_id: int, task_name: str,
                   samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The replicates of every headline metric of one task of a row, on the board's plan.

    A task whose records give no per-sample statistics for its primary metric cannot be
    ranked: that is an error at landing, never a silent skip. A secondary headline
    metric the run could not compute (METEOR without WordNet) is left out, and the row
    is shown unranked by it."""
    from eval_harness.tasks import get_task

    task = get_task(task_name)
    ordered = sorted(samples, key=lambda s: s["id"])
    plan = plan_of(board)
    if len(ordered) != plan.n:
        raise DataError.single(f"board {board.id}", f"{task_name}: the run has "
                               f"{len(ordered)} samples but the board has {plan.n} checkups")
    stats = task.statistics(ordered)
    if task.primary_metric not in stats:
        raise DataError.single(f"board {board.id}", f"{task_name}: no per-sample statistics "
                               f"of its primary metric {task.primary_metric}, so the row "
                               "cannot be ranked")
    rows = []
    for metric in task.rank_metrics():
        stat = stats.get(metric)
        if stat is None:
            continue
        point, values = stat.point(), replicates(stat, plan)
        if not (np.isfinite(point) and np.all(np.isfinite(values))):
            if metric == task.primary_metric:
                raise DataError.single(f"board {board.id}", f"{task_name}: {metric} is "
                                       "undefined on this run's samples")
            continue
        rows.append({"board_id": board.id, "submission_id": submission_id, "task": task_name,
                     "metric": metric, "point": point,
                     "higher_is_better": stat.higher_is_better, "values": to_bytes(values)})
    return rows


def lock_board(session: Session, board_id: str) -> None:
    """Serialise standings work on one board until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock keyed by the board (its statements
    then read every row committed before it was granted). SQLite: every transaction
    began with BEGIN IMMEDIATE, so writers are serialised already."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"standings:{board_id}".encode()).digest()[:8],
                             "big", signed=True)
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def recompute(session: Session, board_id: str) -> None:
    """Rebuild every rank interval of a board from its finished rows' replicates."""
    from eval_harness.tasks import get_task, task_names

    lock_board(session, board_id)
    session.flush()
    stored = session.execute(
        sa.select(Replicate.submission_id, Replicate.task, Replicate.metric,
                  Replicate.point, Replicate.higher_is_better, Replicate.values)
        .join(Submission, Replicate.submission_id == Submission.id)
        .where(Replicate.board_id == board_id, Submission.status == "finished")
        .order_by(Replicate.task, Replicate.metric, Replicate.submission_id)).all()
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in stored:
        groups[(row.task, row.metric)].append(row)
    session.execute(sa.delete(RankInterval).where(RankInterval.board_id == board_id))
    primary_low: dict[tuple[int, str], int] = {}
    intervals = []
    for (task, metric), rows in groups.items():
        points = np.array([r.point for r in rows])
        reps = np.stack([from_bytes(r.values) for r in rows])
        result = rank_intervals(points, reps, higher_is_better=rows[0].higher_is_better,
                                level=CI_LEVEL)
        lows, highs = np.quantile(reps, [(1 - CI_LEVEL) / 2, (1 + CI_LEVEL) / 2], axis=1)
        primary = task in task_names() and get_task(task).primary_metric == metric
        for i, r in enumerate(rows):
            intervals.append({"board_id": board_id, "submission_id": r.submission_id,
                              "task": task, "metric": metric, "value": r.point,
                              "ci_low": float(lows[i]), "ci_high": float(highs[i]),
                              "rank_low": int(result.rank_low[i]),
                              "rank_high": int(result.rank_high[i]),
                              "critical": float(result.critical[i])})
            if primary:
                primary_low[(r.submission_id, task)] = int(result.rank_low[i])
    if intervals:
        session.execute(sa.insert(RankInterval), intervals)
    for standing in session.scalars(sa.select(Standing).where(Standing.board_id == board_id)):
        standing.rank_upper_bound = primary_low.get((standing.submission_id, standing.task), 0)


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
