"""The page's layout in Chromium at desktop (1440 px) and phone (390 px) width: the board
beside the demo, stacking when narrow; on a phone every tab stays on the bar and the
board keeps rank, model and score in view; no serious accessibility violation on any tab
(axe-core). Screenshots of both widths go to build/test-artifacts/ (look at them).

Playwright drives Debian's Chromium against a running space (`tests/space/browser.py`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.space.browser import ARTIFACTS, WAIT_MS, open_tab, unavailable
from tests.space.running import RunningSpace

TABS = ("Home", "Leaderboard", "Demo", "Submit", "About")
PHONE = {"width": 390, "height": 844}  # an iPhone 12-15's CSS viewport


@pytest.fixture
def phone(browser, space_server: RunningSpace) -> Iterator[object]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.goto(space_server.url)
    tab.locator("#home-board").get_by_text("Lingshu-32B-SFT").wait_for()
    yield tab
    context.close()


def _board_rows_shown(page) -> None:
    open_tab(page, "Leaderboard")
    page.locator("#board-table").get_by_text("Lingshu-32B-SFT").first.wait_for(
        state="attached")


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=False)


def test_the_board_stands_beside_the_demo_and_stacks_when_narrow(page) -> None:
    board = page.locator("#home-board").bounding_box()
    photos = page.locator("#home-photos").bounding_box()
    assert board["x"] + board["width"] <= photos["x"]  # side by side
    _shot(page, "home-1440.png")
    _board_rows_shown(page)
    _shot(page, "board-1440.png")
    open_tab(page, "Home")
    page.set_viewport_size({"width": 700, "height": 1000})
    page.wait_for_timeout(500)
    board = page.locator("#home-board").bounding_box()
    photos = page.locator("#home-photos").bounding_box()
    assert board["y"] + board["height"] <= photos["y"]  # stacked


def test_every_tab_stays_on_the_bar_at_phone_width(phone) -> None:
    """Gradio moves tabs that do not fit into a "More tabs" menu: at 390 px Demo, Submit
    and About were hidden there."""
    _shot(phone, "home-390.png")
    for name in TABS:
        assert phone.get_by_role("tab", name=name).is_visible(), f"tab {name} hidden"
    assert not phone.get_by_label("More tabs").is_visible()


def test_at_phone_width_the_board_shows_rank_model_and_score_and_scrolls_the_rest(
        phone) -> None:
    """The first three columns (rank, model, score) lie inside the 390 px screen, and
    the others are reached by scrolling the table, not the page: scrolling moves them
    while the pinned three stay put."""
    _board_rows_shown(phone)
    table = phone.locator("#board-table")
    table.scroll_into_view_if_needed()
    _shot(phone, "board-390.png")
    heads = table.get_by_role("columnheader")
    assert heads.count() >= 5
    boxes = [heads.nth(i).bounding_box() for i in range(5)]
    for box in boxes[:3]:
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], boxes[:3]
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    scrolled = phone.evaluate("""() => {
        const inner = [...document.querySelectorAll('#board-table *')].find(
            (el) => el.scrollWidth > el.clientWidth + 20 &&
                    getComputedStyle(el).overflowX !== 'visible');
        if (!inner) return false;
        inner.scrollLeft = 300;
        return true;
    }""")
    assert scrolled, "the board's extra columns do not scroll inside the table"
    phone.wait_for_timeout(300)
    after = [heads.nth(i).bounding_box() for i in range(5)]
    assert [round(b["x"]) for b in after[:3]] == [round(b["x"]) for b in boxes[:3]]
    assert after[4]["x"] < boxes[4]["x"]


def _serious_violations(page) -> list[str]:
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        unavailable("the accessibility check needs axe-playwright-python "
                    "(pip install -r requirements-dev.txt)")
    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {n['target']} {n['html'][:120]}"
            for v in found if v["impact"] in ("serious", "critical") for n in v["nodes"]]


@pytest.mark.parametrize("width", [1440, 390])
def test_no_serious_accessibility_violation_on_any_tab(browser, space_server: RunningSpace,
                                                       width: int) -> None:
    """axe-core's WCAG rules on each tab as a visitor first sees it: every control has a
    label, text has AA contrast, no ARIA misuse."""
    context = browser.new_context(viewport={"width": width, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    try:
        tab.goto(space_server.url)
        tab.locator("#home-board").get_by_text("Lingshu-32B-SFT").wait_for()
        problems = {}
        for name in TABS:
            open_tab(tab, name)
            tab.wait_for_timeout(1000)  # the tab's components render
            if found := _serious_violations(tab):
                problems[name] = found
        assert not problems, problems
    finally:
        context.close()
