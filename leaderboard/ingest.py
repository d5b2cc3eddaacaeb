"""Landing a scored run: checked against its board (the same checkups, classes and
reference reports), then stored with its results, per-class rows, per-sample records and
the bootstrap replicates of its headline metrics on the board's resample plan, and the
board's standings recomputed, all in the caller's transaction (a run is stored whole or
not at all).

Per-sample records keep what paired tests need (the extracted class and the reference
class, per-sample metric values, findings counts); the prediction text is dropped (the
submitter has it) and nothing here is ever a reference report.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eval_harness.api import Scored
from eval_harness.errors import DataError
from leaderboard import standings
from leaderboard.store.schema import (
    Board,
    ClassResult,
    Event,
    Replicate,
    Result,
    SampleRecord,
    Submission,
    now,
)

VIEWS = {"all": "metrics", "answered": "answered"}
DROPPED_SAMPLE_FIELDS = ("prediction",)


def stored_sample(sample: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sample.items() if k not in DROPPED_SAMPLE_FIELDS}


def _insert_rows(session: Session, submission_id: int, scored: Scored) -> None:
    """Results, per-class rows and per-sample records, as three executemany inserts (the
    ORM's unit of work per object would be most of a worker's time)."""
    results, classes = [], []
    for task, result in scored.document.tasks.items():
        for view, attribute in VIEWS.items():
            for metric, entry in getattr(result, attribute).items():
                ci = entry.get("ci") or (None, None)
                results.append({"submission_id": submission_id, "task": task,
                                "metric": metric, "view": view, "value": entry.get("value"),
                                "ci_low": ci[0], "ci_high": ci[1]})
        classes += [{"submission_id": submission_id, "task": task,
                     "class_name": entry["class"], "precision": entry["precision"],
                     "recall": entry["recall"], "f1": entry["f1"], "support": entry["support"]}
                    for entry in result.tables.get("per_class", {}).get("all", [])]
    # The answer text stays with each record, so the board can show a row's answers (the
    # committed seed's published runs come without it: see ``stored_sample``).
    samples = [{"submission_id": submission_id, "task": s["task"], "sample_id": s["id"],
                "values": s} for s in scored.samples]
    for table, rows in ((Result, results), (ClassResult, classes), (SampleRecord, samples)):
        if rows:
            session.execute(sa.insert(table), rows)


def samples_of(session: Session, submission_id: int, task: str) -> list[dict[str, Any]]:
    """A submission's stored per-sample records of one task, in sample id order."""
    return list(session.scalars(
        sa.select(SampleRecord.values).where(SampleRecord.submission_id == submission_id,
                                             SampleRecord.task == task)
        .order_by(SampleRecord.sample_id)))


def landing_problem(board: Board, document) -> str | None:
    """Why a run cannot land on ``board`` (scored on other checkups, classes or reference
    reports than the board pinned), or None."""
    from eval_harness.tasks import get_task, task_names

    data = document.dataset
    if board.dataset_fingerprint and data.fingerprint != board.dataset_fingerprint:
        return (f"the run was scored on dataset {data.fingerprint[:16]} but board {board.id} "
                f"holds dataset {board.dataset_fingerprint[:16]} (different checkups, "
                "reference classes or label map): it cannot be ranked here")
    reports = any(get_task(t).uses_reports for t in document.tasks if t in task_names())
    if reports and board.reports_fingerprint and \
            data.reports_fingerprint != board.reports_fingerprint:
        return (f"the run was scored against reference reports "
                f"{(data.reports_fingerprint or 'none')[:16]} but board {board.id} holds "
                f"{board.reports_fingerprint[:16]}: report numbers are not comparable")
    unknown = [t for t in document.tasks if t not in task_names()]
    if unknown:
        return f"unknown task(s) {', '.join(unknown)}: no board track ranks them"
    return None


def _replicates(board: Board, submission_id: int, scored: Scored) -> list[dict[str, Any]]:
    rows = []
    for task in scored.document.tasks:
        rows += standings.replicate_rows(board, submission_id, task,
                                         [s for s in scored.samples if s["task"] == task])
    return rows


def record_scored(session: Session, submission: Submission, scored: Scored, *,
                  recompute: bool = True, detail: str = "scored") -> None:
    """Store ``scored`` as ``submission``'s results and mark it finished; a run that does
    not belong on the board raises a DataError before anything is written."""
    session.flush()  # the submission needs its id
    document = scored.document
    board = session.get(Board, submission.board_id)
    problem = landing_problem(board, document)
    if problem:
        raise DataError.single(f"submission {submission.id}", problem)
    replicate_rows = _replicates(board, submission.id, scored)  # may refuse: before writing
    if board.dataset_fingerprint is None:  # a board made before fingerprints: pin it now
        board.dataset_fingerprint = document.dataset.fingerprint
    _insert_rows(session, submission.id, scored)
    submission.harness_version = document.harness_version
    submission.label_map = document.dataset.label_map
    submission.prompt_hash = document.prompt_hash
    submission.provenance = {**(submission.provenance or {}), "git_commit": document.git_commit,
                             "dataset": document.dataset.name,
                             "fingerprint": document.dataset.fingerprint,
                             "status": document.status}
    submission.status = "finished"
    submission.updated_at = now()
    submission.events.append(Event(status="finished", detail=detail))
    session.add_all(standings.standing_rows(submission.board_id, submission.id, document))
    if replicate_rows:
        session.execute(sa.insert(Replicate), replicate_rows)
    session.flush()
    if recompute:
        standings.recompute(session, submission.board_id)
