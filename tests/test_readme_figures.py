"""scripts/readme_figures.py: the README's marked blocks are rewritten from their sources,
and --check sees a stale one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch):
    spec = importlib.util.spec_from_file_location("readme_figures",
                                                  ROOT / "scripts" / "readme_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The test-count block runs pytest three times: a stand-in keeps this test fast.
    monkeypatch.setitem(module.BLOCKS, "tests", lambda: "3 tests\n")
    return module


def _readme(tests: str, tiny: str) -> str:
    return ("intro\n<!-- figures:tests (written by scripts/readme_figures.py) -->\n"
            f"{tests}<!-- /figures:tests -->\nmiddle\n"
            "<!-- figures:tiny-demo (written by scripts/readme_figures.py) -->\n"
            f"{tiny}<!-- /figures:tiny-demo -->\nend\n")


def test_a_stale_block_is_rewritten_and_the_rest_kept(figures) -> None:
    new, changed = figures.rewrite(_readme("999 tests\n", "old figures\n"))
    assert changed == ["tests", "tiny-demo"]
    assert new.startswith("intro\n") and "\nmiddle\n" in new and new.endswith("end\n")
    assert "3 tests\n" in new and "999" not in new
    # The card's committed macro-F1 (seed 0) and the demo seed's (seed 1), both written.
    assert "0.835 [0.781, 0.883] on seed 0" in new
    assert figures.rewrite(new) == (new, [])  # current: nothing changes


def test_a_missing_block_is_an_error(figures) -> None:
    with pytest.raises(SystemExit, match="no figures block for tiny-demo"):
        figures.rewrite("<!-- figures:tests (x) -->\n3 tests\n<!-- /figures:tests -->\n")


def test_a_block_that_cannot_be_computed_here_is_kept(figures, monkeypatch) -> None:
    """Without ../shared the test counts differ: the block is left, not rewritten."""
    monkeypatch.setitem(figures.BLOCKS, "tests", lambda: None)
    text = _readme("999 tests\n", "old figures\n")
    new, changed = figures.rewrite(text)
    assert changed == ["tiny-demo"] and "999 tests\n" in new
