"""Rescoring: when the scorer changes, every row is recomputed from what was stored.

Predictions submissions are rescored from their stored file, and the published runs from
``$CODEBENCH_PEER_RUNS`` when it is here. A row's old results, per-sample records,
standings and replicates are replaced in one transaction per row, the submission keeps
its history (an event names the new harness version), and the board's standings are
recomputed from the stored replicates. Rows that cannot be rescored here (a model run, a
published run without its folder) keep their figures and stay marked with the version
that scored them.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from eval_harness import __version__
from leaderboard import standings
from leaderboard.ingest import record_scored
from leaderboard.store.schema import (
    ClassResult,
    RankInterval,
    Replicate,
    Result,
    SampleRecord,
    Standing,
    Submission,
)

_PER_ROW = (Result, ClassResult, SampleRecord, Standing, Replicate, RankInterval)


def _scored_again(submission: Submission, folder: Path, peer_dir: Path, options):
    from eval_harness import api
    from eval_harness.predictions import read_peer_run
    from leaderboard.boards import references_for

    if submission.kind == "predictions":
        path = folder / "submissions" / submission.payload["predictions"]
        return api.score_predictions(api.read_predictions(path),
                                     references_for(submission.board_id), options)
    run = peer_dir / "/".join(((submission.provenance or {}).get("folder") or "").split("/")[-2:])
    if submission.kind == "seed" and (run / "predictions.jsonl").is_file():
        references, predictions = read_peer_run(run)
        return api.score_predictions(predictions, references, options)
    return None


def _clear(session: Session, submission_id: int) -> None:
    for table in _PER_ROW:
        session.execute(sa.delete(table).where(table.submission_id == submission_id))


def rescore(sessions: sessionmaker[Session], board: str, folder: Path, peer_dir: Path,
            options) -> dict[str, int]:
    """Rescore every finished row of ``board``; returns counts of rescored and kept rows."""
    with sessions() as session:
        ids = list(session.scalars(sa.select(Submission.id).where(
            Submission.board_id == board, Submission.status == "finished")
            .order_by(Submission.id)))
    counts = {"rescored": 0, "kept": 0}
    for submission_id in ids:
        with sessions() as session:
            scored = _scored_again(session.get(Submission, submission_id), folder, peer_dir,
                                   options)
        if scored is None:
            counts["kept"] += 1
            continue
        with sessions.begin() as session:
            submission = session.get(Submission, submission_id)
            _clear(session, submission_id)
            session.flush()
            record_scored(session, submission, scored,
                          detail=f"rescored by harness {__version__}")
        counts["rescored"] += 1
    with sessions.begin() as session:  # whatever was kept or rescored, one fresh ranking
        standings.recompute(session, board)
    return counts
