"""The submit tab's logic: validation messages at once, and the queue as a table."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from leaderboard import views
from leaderboard.store.database import OUTAGE, outage_reason
from leaderboard.submissions import (
    Limits,
    Rejected,
    client_hash,
    submit_model,
    submit_predictions,
)
from space.board import plain

log = logging.getLogger("codebench.space")


def submit(sessions: sessionmaker[Session], folder: Path, board: str, file: str | None,
           model_spec: str, meta: dict[str, Any], client: str | None = None,
           limits: Limits | None = None) -> str:
    """Markdown saying what happened: queued (with its id), the earlier duplicate, or
    every reason it was refused. The daily limit counts the submitter named in the form
    and the client's address (kept only as a keyed hash)."""
    import json

    from eval_harness.settings import Settings

    limits = limits or Limits(per_day=Settings.from_env().submissions_per_day)
    if bool(file) == bool(model_spec.strip()):
        return "**Refused:** upload a predictions file *or* describe a model, not both."
    try:
        who = client_hash(client, folder)
        if file:
            accepted = submit_predictions(sessions, board, Path(file).read_bytes(), meta,
                                          folder=folder, name=Path(file).name, limits=limits,
                                          client=who)
        else:
            accepted = submit_model(sessions, board, json.loads(model_spec), meta,
                                    limits=limits, client=who)
    except json.JSONDecodeError as error:
        return f"**Refused:** the model description is not JSON ({error.msg})."
    except Rejected as rejected:
        return "**Refused:**\n\n" + "\n".join(f"- {plain(p)}" for p in rejected.problems)
    except OUTAGE as error:  # the row did not commit: say so, so it is sent again
        log.warning("submission not stored, database unavailable: %s", outage_reason(error))
        return ("**Not stored:** the leaderboard database is not answering right now. "
                "Nothing was saved; please submit again in a minute.")
    except OSError as error:  # e.g. a full disk: the file was not written whole
        log.warning("submission not stored: %s", error.strerror)
        return (f"**Not stored:** the server could not save the file ({error.strerror}). "
                "Nothing was saved; please submit again later.")
    if accepted.duplicate:
        return (f"This is already submission **#{accepted.submission_id}** on `{board}`: "
                "the same predictions are never scored twice.")
    return f"Queued as submission **#{accepted.submission_id}** on `{board}` (pending)."


def queue_table(sessions: sessionmaker[Session]) -> pd.DataFrame:
    with sessions() as session:
        return pd.DataFrame(views.queue_rows(session),
                            columns=["id", "model", "board", "kind", "status", "position",
                                     "waiting_s", "failure", "log"])
