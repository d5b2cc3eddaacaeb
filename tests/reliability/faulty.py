"""A worker or app process that stops dead at a chosen point, for the fault tests.

``python -m tests.reliability.faulty MARKER STAGE worker|app ARGS...`` patches one
function so that, at STAGE, the process touches MARKER and then sleeps; the test kills it
there with SIGKILL. Stages:

- ``model``: a worker supervising a model run (its job's process has started and reported
  progress, its answers are not yet stored);
- ``write``: a worker inside the transaction that stores a result, rows sent, not committed;
- ``store``: the app inside the transaction that stores a submission, its file written,
  its row not yet committed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def _stop_here(marker: Path) -> None:
    marker.write_text("reached")
    time.sleep(600)


def main(marker: Path, stage: str, program: str, args: list[str]) -> None:
    if stage == "model":
        from leaderboard import worker

        original_run = worker.run_job

        def paused_run(*a, **k):
            # The first progress event of the job's process stops the supervisor there.
            return original_run(*a, **{**k, "on_progress": lambda: _stop_here(marker)})

        worker.run_job = paused_run
    elif stage == "write":
        from leaderboard import worker

        original = worker.record_scored

        def paused_record(session, *a, **k):
            original(session, *a, **k)
            session.flush()  # every row sent to the database, the commit not yet
            _stop_here(marker)

        worker.record_scored = paused_record
    elif stage == "store":
        from leaderboard import submissions

        original_store = submissions._store

        def paused_store(*a, **k):
            a = list(a)
            write = a[8]

            def paused_write():
                write()
                _stop_here(marker)

            a[8] = paused_write
            return original_store(*a, **k)

        submissions._store = paused_store
    elif stage != "none":
        raise SystemExit(f"unknown stage {stage!r}")
    if program == "worker":
        from leaderboard.cli import main as cli

        raise SystemExit(cli(args))
    import app

    app.main(args)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:])
