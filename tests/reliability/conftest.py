"""Reliability tests share the store fixtures (SQLite, and a private PostgreSQL schema) and
the running-space launcher."""

from tests.leaderboard.conftest import db_url, pg_url, sqlite_url  # noqa: F401 (fixtures)
