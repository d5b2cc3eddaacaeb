"""Storing a scored run: results with CIs, per-class rows, per-sample records and the
paired comparisons with every other finished row of the board, in the caller's
transaction (so a run is stored whole or not at all).

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
    ClassResult,
    Comparison,
    Event,
    Result,
    SampleRecord,
    Submission,
    now,
)

VIEWS = {"all": "metrics", "answered": "answered"}
DROPPED_SAMPLE_FIELDS = ("prediction",)
RESAMPLES = 1000


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
    samples = [{"submission_id": submission_id, "task": s["task"], "sample_id": s["id"],
                "values": stored_sample(s)} for s in scored.samples]
    for table, rows in ((Result, results), (ClassResult, classes), (SampleRecord, samples)):
        if rows:
            session.execute(sa.insert(table), rows)


def samples_of(session: Session, submission_id: int, task: str) -> list[dict[str, Any]]:
    """A submission's stored per-sample records of one task, in sample id order."""
    return list(session.scalars(
        sa.select(SampleRecord.values).where(SampleRecord.submission_id == submission_id,
                                             SampleRecord.task == task)
        .order_by(SampleRecord.sample_id)))


def compare_with_board(session: Session, submission: Submission, scored: Scored) -> int:
    """Paired bootstraps of the new row against every finished row of its board, per task
    on the task's primary metric; returns how many were stored."""
    from eval_harness.compare import primary_paired

    others = session.scalars(sa.select(Submission.id).where(
        Submission.board_id == submission.board_id, Submission.status == "finished",
        Submission.id != submission.id)).all()
    stored = 0
    for task in scored.document.tasks:
        mine = sorted((s for s in scored.samples if s["task"] == task), key=lambda s: s["id"])
        for other in others:
            theirs = samples_of(session, other, task)
            if [s["id"] for s in theirs] != [s["id"] for s in mine]:
                continue  # another task set or checkup set: not comparable, no evidence
            try:
                result = primary_paired(task, mine, theirs, resamples=RESAMPLES)
            except DataError:
                continue  # a task without per-sample primary values (none today)
            session.add(Comparison(board_id=submission.board_id, task=task,
                                   metric=scored.document.tasks[task].primary_metric,
                                   a_id=submission.id,
                                   b_id=other, delta=result.delta,
                                   share_a_better=result.share_a_better,
                                   share_b_better=result.share_b_better,
                                   n_resamples=result.n_resamples))
            stored += 1
    return stored


def record_scored(session: Session, submission: Submission, scored: Scored, *,
                  compare: bool = True, detail: str = "scored") -> None:
    """Store ``scored`` as ``submission``'s results and mark it finished."""
    session.flush()  # the submission needs its id
    document = scored.document
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
    session.flush()
    if compare:
        compare_with_board(session, submission, scored)
        for task in document.tasks:
            standings.refresh(session, submission.board_id, task)
