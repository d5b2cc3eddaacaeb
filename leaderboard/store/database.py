"""Opening the leaderboard database: SQLite by default, PostgreSQL by URL.

SQLite is set up for several writers (worker threads and processes, the app): WAL so
readers never wait for a writer, a busy timeout instead of "database is locked", and
``BEGIN IMMEDIATE`` for every transaction so two writers serialise at BEGIN rather than
deadlock at their first write (pysqlite's own deferred BEGIN would). The schema comes
only from Alembic migrations, so an upgrade keeps every row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from eval_harness.settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
BUSY_TIMEOUT_MS = 30_000
SQLITE_FILE = "leaderboard.sqlite"


def default_url(settings: Settings | None = None) -> str:
    """``$CODEBENCH_DB_URL``, else a SQLite file in ``$CODEBENCH_LEADERBOARD_DIR``."""
    settings = settings or Settings.from_env()
    if settings.db_url:
        return settings.db_url
    return f"sqlite:///{settings.leaderboard_dir / SQLITE_FILE}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        # SQLAlchemy's documented recipe: let us emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: :func:`default_url`); a SQLite folder is created."""
    url = url or default_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _sqlite_setup(engine)
        return engine
    # pre-ping: a connection the server dropped (a restart) is replaced, not handed out;
    # connect_timeout: a server that does not answer is an error in seconds, not a hang.
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with the Alembic migrations (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def open_store(url: str | None = None) -> sessionmaker[Session]:
    """Engine + migrations + a session factory: what every command and the app start with."""
    engine = make_engine(url)
    upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One session, committed if the block succeeds and rolled back if it raises."""
    with sessions.begin() as session:
        yield session


#: What a database that stopped answering raises (refused or dropped connections, a full
#: disk, SQLite's busy timeout); a constraint or a bug is not an outage.
OUTAGE = (OperationalError, InterfaceError)


def outage_reason(error: DBAPIError) -> str:
    """Why the database did not answer: the driver's first line, without the statement
    or its parameters (for logs)."""
    return str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
