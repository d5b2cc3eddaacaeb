"""Injection: markup in a stored model name, submitter and link is shown as text in a real
browser (no script runs, no element appears), a formula cell is neutralised in the CSV
export, and every SQL statement the code writes is parameterised."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pytest

from tests.leaderboard.test_submissions import lines
from tests.space.browser import WAIT_MS, browser  # noqa: F401 (fixture)
from tests.space.conftest import ROOT, launch_space, space_env

MARKUP_NAME = '<img src=x onerror="window.__pwned=1">[click](javascript:window.__pwned=2)'
MARKUP_SUBMITTER = "<script>window.__pwned=3</script>**bold**"
MARKUP_LINK = "javascript:window.__pwned=4"


def _legacy_row(db_url: str, folder: Path, board: list[str]) -> None:
    """A row written before today's checks (or by a future bug): the page must still show
    it as text. Stored straight into the database, then scored by the worker."""
    import hashlib

    from eval_harness.tasks.base import ScoreOptions
    from leaderboard.boards import board_row, references_for
    from leaderboard.store.database import open_store
    from leaderboard.store.schema import Board, Event, Submission
    from leaderboard.worker import work

    raw = lines(board, text="Pulpitis")
    digest = hashlib.sha256(raw).hexdigest()
    (folder / "submissions").mkdir(parents=True, exist_ok=True)
    (folder / "submissions" / f"{digest}.jsonl").write_bytes(raw)
    sessions = open_store(db_url)
    with sessions.begin() as session:
        if session.get(Board, "synthetic-demo") is None:
            session.add(board_row("synthetic-demo", references_for("synthetic-demo")))
        session.add(Submission(board_id="synthetic-demo", kind="predictions",
                               content_hash=digest, payload={"predictions": f"{digest}.jsonl"},
                               model_name=MARKUP_NAME, submitter=MARKUP_SUBMITTER,
                               link=MARKUP_LINK, events=[Event(status="pending")]))
    assert work(sessions, folder, once=True, options=ScoreOptions(embeddings=False,
                                                                  resamples=50)) == 1
    sessions.kw["bind"].dispose()



@pytest.mark.slow
def test_markup_in_a_stored_row_is_shown_as_text_in_the_browser(
        browser, board: list[str], synth_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    home = tmp_path / "home"
    _legacy_row(f"sqlite:///{home / 'leaderboard' / 'leaderboard.sqlite'}",
                home / "leaderboard", board)
    env = space_env(home, CODEBENCH_DATA_DIR=str(synth_dir))
    with launch_space(home, env=env, args=("--no-embeddings", "--no-worker")) as space:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(space.url)
        page.get_by_role("tab", name="Leaderboard").click()
        page.locator("#board-board input").click()
        page.get_by_role("option", name="synthetic-demo").click()
        table = page.locator("#board-table")
        table.get_by_text("onerror", exact=False).first.wait_for(state="attached")
        assert MARKUP_NAME in table.text_content()  # the name, character for character
        page.locator("#board-pick input").click()
        page.get_by_role("option", name="img src").first.click()
        page.get_by_text("Reproduce on your machine").wait_for()
        body = page.locator("body").inner_text()
        assert MARKUP_NAME in body and MARKUP_SUBMITTER in body and MARKUP_LINK in body
        page.wait_for_timeout(500)  # let any injected handler fire
        assert page.evaluate("() => window.__pwned") is None  # no script ran
        injected = page.evaluate("""() => ({
            img: document.querySelectorAll('img[src="x"]').length,
            handlers: document.querySelectorAll('[onerror]').length,
            scripts: [...document.scripts].filter(s => s.text.includes('__pwned')).length,
            links: [...document.links].filter(a => a.href.startsWith('javascript:')).length,
            bold: [...document.querySelectorAll('strong, b')].filter(
                b => b.textContent === 'bold').length})""")
        assert injected == {"img": 0, "handlers": 0, "scripts": 0, "links": 0, "bold": 0}
        context.close()


def test_the_csv_export_neutralises_formula_cells() -> None:
    from leaderboard.views import to_csv

    row = {"rank_upper_bound": 1, "model": "=cmd|' /C calc'!A0", "submitter": "@SUM(A1)",
           "value": 0.5, "ci_low": 0.4, "ci_high": 0.6, "metric": "macro_f1",
           "setting": "+1+1", "params_billion": None, "open_weights": None, "id": 1}
    cells = [cell for record in csv.reader(io.StringIO(to_csv([row]))) for cell in record]
    assert "'=cmd|' /C calc'!A0" in cells  # shown, but as text
    assert not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for c in cells if c)


SQL_CALLS = {"text", "exec_driver_sql", "execute"}


# What an f-string may put into SQL: a module constant, or ``marks``, the "?,?,?" list of
# placeholders for an IN (...) whose values are bound (eval_harness/runner.py, embeddings).
SAFE_NAMES = {"marks"}


def _safe(value: ast.FormattedValue) -> bool:
    return isinstance(value.value, ast.Name) and (value.value.id.isupper()
                                                   or value.value.id in SAFE_NAMES)


def _sql_built_from_values(call: ast.Call) -> bool:
    """A SQL call whose statement is an f-string of values, a % or + expression, or a
    .format()."""
    name = getattr(call.func, "attr", getattr(call.func, "id", None))
    if name not in SQL_CALLS or not call.args:
        return False
    first = call.args[0]
    if isinstance(first, ast.JoinedStr):
        return not all(_safe(v) for v in first.values if isinstance(v, ast.FormattedValue))
    return isinstance(first, ast.BinOp) or (
        isinstance(first, ast.Call) and getattr(first.func, "attr", None) == "format")


def test_every_statement_the_code_writes_is_parameterised() -> None:
    """Values reach the database only as bound parameters (SQLAlchemy expressions or
    text() with :names): no SQL string is assembled from values anywhere in the product.
    The one exception is the tests' fixture creating a schema named by the test itself."""
    offenders = []
    for folder in ("leaderboard", "space", "eval_harness"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}"
                          for node in ast.walk(tree)
                          if isinstance(node, ast.Call) and _sql_built_from_values(node)]
    assert offenders == []


def test_the_parameterisation_check_sees_an_assembled_statement() -> None:
    """The check above can fail: it finds an f-string, a concatenation and a .format()."""
    source = ('conn.execute(f"SELECT * FROM t WHERE id = {x}")\n'
              'conn.execute(f"SELECT * FROM t WHERE id IN ({marks})", ids)\n'
              'conn.exec_driver_sql("DROP TABLE " + name)\n'
              'sa.text("SELECT {}".format(v))\n'
              'conn.execute(sa.text("SELECT * FROM t WHERE id = :x"), {"x": x})\n')
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)]
    assert sum(_sql_built_from_values(c) for c in calls) == 3
