"""The submit tab's logic: every problem of a form at once, the submission's state as it
moves through the queue, and the queue as a table."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from leaderboard import views
from leaderboard.boards import scorable_boards
from leaderboard.columns import label
from leaderboard.store.database import OUTAGE, outage_reason
from leaderboard.submissions import (
    Limits,
    Rejected,
    client_hash,
    metadata_problems,
    submit_model,
    submit_predictions,
)
from space.board import plain

log = logging.getLogger("codebench.space")

# The queue's columns (``views.queue_rows`` keys) and the headers a visitor reads.
QUEUE_COLUMNS = {"id": "#", "model": "Model", "board": "Board", "kind": "Kind",
                 "status": "Status", "position": "Place in queue", "waiting_s": "Waiting (s)",
                 "failure": "Failure", "log": "Log"}
# A failure log may quote a server folder (a traceback's file names): shown without it.
_SERVER_PATH = re.compile(r"(?<![\w:/])/(?:[\w.+-]+/)+[\w.+-]*")


@dataclass(frozen=True)
class Outcome:
    message: str  # Markdown for the result panel
    submission_id: int | None = None  # queued now: the id whose state the page follows


def board_choices() -> tuple[list[str], str | None]:
    """The boards the form offers (those this server can score) and the default."""
    here = list(scorable_boards())
    return here, here[0] if here else None


def number_or_text(text: str | None) -> float | str | None:
    """A number typed in a text field: None when empty, the number when it reads as one,
    else the text itself (the metadata check then names the field and what was typed)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def form_problems(board: str | None, file: str | None, model_spec: str,
                  meta: dict[str, Any]) -> list[str]:
    """Problems of the form itself (a board, a file *or* a model, a model that is JSON).
    When there are any, the metadata's problems join them: one answer lists everything."""
    problems = [] if board else ["board: none chosen (this server scores no board now)"]
    if file and model_spec.strip():
        problems.append("upload a predictions file *or* describe a model, not both")
    elif not file and not model_spec.strip():
        problems.append("upload a predictions file or describe a model")
    elif model_spec.strip():
        try:
            json.loads(model_spec)
        except json.JSONDecodeError as error:
            problems.append(f"model: the description is not JSON ({error.msg})")
    return problems + metadata_problems(meta)[1] if problems else []


def refused(board: str | None, problems: list[str], detail: str | None = None
            ) -> Outcome:
    """The refusal as a list, and one line in the server log (no traceback: it is
    expected), with the server-side ``detail`` (folders) that the visitor is not shown."""
    said = " | ".join(" ".join(p.split()) for p in problems)
    log.warning("submission to %s refused: %s%s", board or "no board", said,
                f" (server: {' '.join(detail.split())})" if detail else "")
    return Outcome("**Refused:**\n\n" + "\n".join(f"- {plain(p)}" for p in problems))


def submit(sessions: sessionmaker[Session], folder: Path, board: str | None,
           file: str | None, model_spec: str, meta: dict[str, Any],
           client: str | None = None, limits: Limits | None = None) -> Outcome:
    """What happened: queued (with its id), the earlier duplicate, or every reason it was
    refused. The daily limit counts the submitter named in the form and the client's
    address (kept only as a keyed hash)."""
    from eval_harness.settings import Settings

    limits = limits or Limits(per_day=Settings.from_env().submissions_per_day)
    problems = form_problems(board, file, model_spec, meta)
    if problems:
        return refused(board, problems)
    try:
        who = client_hash(client, folder)
        if file:
            accepted = submit_predictions(sessions, board, Path(file).read_bytes(), meta,
                                          folder=folder, name=Path(file).name, limits=limits,
                                          client=who)
        else:
            accepted = submit_model(sessions, board, json.loads(model_spec), meta,
                                    limits=limits, client=who)
    except Rejected as rejected:
        return refused(board, rejected.problems, rejected.detail)
    except OUTAGE as error:  # the row did not commit: say so, so it is sent again
        log.warning("submission not stored, database unavailable: %s", outage_reason(error))
        return Outcome("**Not stored:** the leaderboard database is not answering right "
                       "now. Nothing was saved; please submit again in a minute.")
    except OSError as error:  # e.g. a full disk: the file was not written whole
        log.warning("submission not stored: %s", error.strerror)
        return Outcome(f"**Not stored:** the server could not save the file "
                       f"({error.strerror}). Nothing was saved; please submit again later.")
    if accepted.duplicate:
        return Outcome(f"This is already submission **#{accepted.submission_id}** on "
                       f"`{board}`: the same predictions are never scored twice. "
                       + status_message(sessions, accepted.submission_id))
    return Outcome(status_message(sessions, accepted.submission_id), accepted.submission_id)


def _rank(low: int | None, high: int | None) -> str:
    if low is None:
        return "not ranked"
    return f"rank {low}" if low == high else f"rank {low}–{high}"


def _scores(session: Session, submission_id: int, board: str) -> str:
    """The submission's headline value and rank interval on each task it answers."""
    detail = views.submission_detail(session, submission_id) or {}
    parts = []
    for task in detail.get("tasks", []):
        row = next((r for r in views.ranked(session, board, task)
                    if r["id"] == submission_id), None)
        if row is None or row["value"] is None:
            continue
        shown = f"{label(row['metric'], task)} {row['value']:.3f}, " \
                f"{_rank(row['rank_low'], row['rank_high'])}"
        parts.append(f"{task} {shown}" if len(detail["tasks"]) > 1 else shown)
    return "; ".join(parts) or "scored"


def _failure(status: dict[str, Any]) -> str:
    """The failure's category and the last line of its log, without server folders."""
    last = next((line.strip() for line in reversed((status["failure_log"] or "")
                                                   .splitlines()) if line.strip()), "")
    reason = _SERVER_PATH.sub("…", last)[-300:]
    return ": ".join(x for x in (status["failure_category"], reason) if x) or "no reason kept"


def follow(sessions: sessionmaker[Session], submission_id: int) -> tuple[str, bool]:
    """One line saying where the submission is now (waiting, running, finished with its
    score and rank, failed with the reason), and whether that is its last state."""
    with sessions() as session:
        status = views.submission_status(session, submission_id)
        if status is None:
            return f"Submission **#{submission_id}** is not on this server.", True
        board, state = status["board"], status["status"]
        head = f"Submission **#{submission_id}** on `{board}`"
        if state == "pending":
            return (f"Queued as submission **#{submission_id}** on `{board}`: pending, "
                    "waiting for a worker."), False
        if state == "running":
            return f"{head}: running…", False
        if state == "finished":
            return f"{head}: finished: {plain(_scores(session, submission_id, board))}.", True
        if state == "failed":
            return f"{head}: failed: {plain(_failure(status))}", True
        return f"{head}: {state}.", True


def status_message(sessions: sessionmaker[Session], submission_id: int) -> str:
    return follow(sessions, submission_id)[0]


def queue_table(sessions: sessionmaker[Session]) -> pd.DataFrame:
    with sessions() as session:
        rows = views.queue_rows(session)
    return pd.DataFrame(rows, columns=list(QUEUE_COLUMNS)).rename(columns=QUEUE_COLUMNS)
