"""Fixtures of the space's tests: one running space per test process, and the browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Re-exported: the reliability suite starts its own spaces with these.
from tests.space.browser import browser, page  # noqa: F401 (fixtures)
from tests.space.running import ROOT, RunningSpace, launch_space, space_env  # noqa: F401


@pytest.fixture(scope="session")
def space_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSpace]:
    with launch_space(tmp_path_factory.mktemp("space")) as space:
        yield space
