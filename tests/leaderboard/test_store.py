"""The store: migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from leaderboard.store.database import make_engine, open_store, upgrade
from leaderboard.store.schema import Base, Board, Event, Result, Submission


def _board(session, board_id: str = "synthetic-demo") -> Board:
    board = Board(id=board_id, title="Synthetic demo", n_checkups=60)
    session.add(board)
    return board


def test_migrations_build_the_models_schema(db_url: str) -> None:
    # A model changed without a migration (or a migration that drifts from the models)
    # shows up here as a difference.
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    upgrade(engine)  # a second upgrade is a no-op, not an error
    engine.dispose()


def test_rows_round_trip_with_history(db_url: str) -> None:
    sessions = open_store(db_url)
    with sessions.begin() as session:
        _board(session)
        submission = Submission(board_id="synthetic-demo", kind="predictions", model_name="m",
                                submitter="alice", content_hash="a" * 64)
        submission.events.append(Event(status="pending", detail="accepted"))
        session.add(submission)
        session.flush()
        session.add(Result(submission_id=submission.id, task="code_cls", metric="macro_f1",
                           view="all", value=0.5, ci_low=0.4, ci_high=0.6))
    with sessions() as session:
        stored = session.scalars(sa.select(Submission)).one()
        assert stored.status == "pending" and stored.attempts == 0
        assert [e.status for e in stored.events] == ["pending"]
        assert stored.created_at.tzinfo is not None or db_url.startswith("sqlite")
        result = session.scalars(sa.select(Result)).one()
        assert (result.value, result.ci_low, result.ci_high) == (0.5, 0.4, 0.6)
    sessions.kw["bind"].dispose()


def test_same_content_on_a_board_is_refused_by_the_database(db_url: str) -> None:
    sessions = open_store(db_url)
    with sessions.begin() as session:
        _board(session)
    for attempt in range(2):
        try:
            with sessions.begin() as session:
                session.add(Submission(board_id="synthetic-demo", kind="predictions",
                                       model_name=f"m{attempt}", submitter="bob",
                                       content_hash="b" * 64))
        except sa.exc.IntegrityError:
            assert attempt == 1
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1
    sessions.kw["bind"].dispose()


def test_sqlite_runs_in_wal_and_concurrent_writers_wait_instead_of_failing(
        sqlite_url: str) -> None:
    sessions = open_store(sqlite_url)
    engine = sessions.kw["bind"]
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with sessions.begin() as session:
        _board(session)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(15):
                with sessions.begin() as session:
                    # Read then write in one transaction: with SQLite's deferred BEGIN two
                    # such writers deadlock and one gets "database is locked" at once.
                    n = session.scalar(sa.select(sa.func.count()).select_from(Submission))
                    session.add(Submission(board_id="synthetic-demo", kind="predictions",
                                           model_name=f"w{worker}-{i}-{n}", submitter="w",
                                           content_hash=f"{worker:02d}{i:062d}"))
        except Exception as error:  # collected: the main thread asserts there were none
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 60
    engine.dispose()


def test_default_url_is_a_sqlite_file_in_the_leaderboard_folder(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    from leaderboard.store.database import default_url

    monkeypatch.delenv("CODEBENCH_DB_URL", raising=False)
    monkeypatch.setenv("CODEBENCH_LEADERBOARD_DIR", str(tmp_path / "lb"))
    assert default_url() == f"sqlite:///{tmp_path / 'lb' / 'leaderboard.sqlite'}"
    monkeypatch.setenv("CODEBENCH_DB_URL", "postgresql+psycopg://db.example/board")
    assert default_url() == "postgresql+psycopg://db.example/board"


def test_upgrading_a_first_schema_database_keeps_every_row(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0001")
    with engine.begin() as connection:
        assert not sa.inspect(connection).has_table("comparisons")
        connection.execute(sa.text(
            "INSERT INTO boards (id, title, description, n_checkups, created_at) "
            "VALUES ('b', 'B', '', 6, CURRENT_TIMESTAMP)"))
        connection.execute(sa.text(
            "INSERT INTO submissions (board_id, kind, model_name, submitter, content_hash, "
            "payload, provenance, status, attempts, created_at, updated_at) VALUES "
            "('b', 'predictions', 'old', 'carol', 'c', '{}', '{}', 'finished', 1, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    upgrade(engine)
    with engine.connect() as connection:
        assert sa.inspect(connection).has_table("replicates")
        assert not sa.inspect(connection).has_table("comparisons")  # gone in 0005
        rows = connection.execute(sa.text("SELECT model_name, status FROM submissions")).all()
    assert [tuple(r) for r in rows] == [("old", "finished")]
    engine.dispose()
