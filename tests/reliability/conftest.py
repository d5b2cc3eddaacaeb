"""Reliability tests share the store fixtures (SQLite, and a private PostgreSQL schema),
the running-space launcher, and the synthetic-demo board's test ids."""

from pathlib import Path

import pytest

from tests.leaderboard.conftest import db_url, pg_url, sqlite_url  # noqa: F401 (fixtures)


@pytest.fixture
def board(synth_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The synthetic-demo board on the session's synthetic data: its test checkup ids."""
    from eval_harness.api import load_split

    monkeypatch.setenv("CODEBENCH_DATA_DIR", str(synth_dir))
    return [c.checkup_id for c in load_split(synth_dir, "test", "en").checkups]
