"""The page's layout in Chromium: board beside the demo, stacking when narrow.

Playwright drives Debian's Chromium against a running space (`tests/space/browser.py`);
screenshots go to build/test-artifacts/.
"""

from __future__ import annotations


def test_the_board_stands_beside_the_demo_and_stacks_when_narrow(page) -> None:
    board = page.locator("#home-board").bounding_box()
    photos = page.locator("#home-photos").bounding_box()
    assert board["x"] + board["width"] <= photos["x"]  # side by side
    page.set_viewport_size({"width": 700, "height": 1000})
    page.wait_for_timeout(500)
    board = page.locator("#home-board").bounding_box()
    photos = page.locator("#home-photos").bounding_box()
    assert board["y"] + board["height"] <= photos["y"]  # stacked
