"""Store fixtures: a fresh SQLite file, and a private schema on the real PostgreSQL server.

PostgreSQL tests read ``CODEBENCH_TEST_PG_URL`` (e.g. postgresql+psycopg://postgres@127.0.0.1/test)
and skip with a message naming it when it is unset or no server answers, except under
``CODEBENCH_REQUIRE_PG=1`` (set by .ci/run), where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import unavailable

PG_URL_VARIABLE = "CODEBENCH_TEST_PG_URL"


def _pg_unavailable(reason: str) -> None:
    unavailable(f"PostgreSQL tests need {PG_URL_VARIABLE}: {reason}", "CODEBENCH_REQUIRE_PG")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'board' / 'leaderboard.sqlite'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections live in a schema made for this test and dropped after it."""
    base = os.environ.get(PG_URL_VARIABLE, "").strip()
    if not base:
        _pg_unavailable("it is not set")
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    schema = f"cb_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as error:
        admin.dispose()
        _pg_unavailable(f"no server answers at {make_url(base).render_as_string()} "
                        f"({str(error.orig).splitlines()[0]})")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each store test runs on both databases."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
