"""What every tab's handlers share: the store, the folders and the demo's models."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from space.demo import DemoModel


@dataclass
class Space:
    sessions: sessionmaker[Session]
    folder: Path  # the leaderboard folder (stored submissions)
    data_dir: Path  # the synthetic benchmark (examples, the demo's board)
    model: DemoModel
    second: DemoModel | None = None  # GPT-4o (or another endpoint) beside it, if configured
    # The page's queue, read when a request ends (set by build; see space.uploads).
    queued_uploads: Callable[[], Counter[str] | None] = lambda: None
