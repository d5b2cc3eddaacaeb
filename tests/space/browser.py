"""Shared browser-test pieces: Playwright with Debian's Chromium, a page on the running
space, and the few moves every browser test makes (open a tab, choose an option, upload).

Skips, naming what is missing, where Playwright or /usr/bin/chromium is absent, except
under CODEBENCH_REQUIRE_BROWSER=1 (set by .ci/run), where that is a failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.conftest import unavailable as require
from tests.space.running import ROOT, RunningSpace

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "build" / "test-artifacts"
CLASS_NAMES = re.compile("Dental Caries|Gingivitis|Class III Malocclusion|Pulpitis|"
                         "Tooth Loss|Tooth Structure Loss")
WAIT_MS = 90_000  # generous: CI runs these beside the heaviest tests


def unavailable(reason: str) -> NoReturn:
    require(reason, "CODEBENCH_REQUIRE_BROWSER")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("browser tests need Playwright (pip install playwright)")
    if not CHROMIUM.is_file():
        unavailable("browser tests need Chromium at /usr/bin/chromium (apt-get install "
                     "chromium; make system-deps)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, space_server: RunningSpace, request: pytest.FixtureRequest):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.goto(space_server.url)
    tab.locator("#home-board").get_by_text("Lingshu-32B-SFT").wait_for()
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def choose(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=re.compile(re.escape(option))).first.click()


def upload(page, elem_id: str, paths: list[str]) -> None:
    """Set a file input once and wait until the component lists every file. Gradio shows
    a listed file's name split in two ("0001-001-01 .jpg": stem and extension in their
    own spans), so the name is found by the cell's accessible label, which holds it
    whole; the name in one piece exists only while the upload is in flight, which a
    fast upload ends before a wait for it begins. Setting the files again while one is
    in flight only queues duplicates, so this just waits (over 20 s seen beside CI's
    heaviest tests)."""
    page.locator(f"#{elem_id} input[type=file]").set_input_files(paths)
    for name in dict.fromkeys(Path(p).name for p in paths):
        page.locator(f"#{elem_id}").get_by_label(name, exact=True).first.wait_for(
            timeout=180_000)


