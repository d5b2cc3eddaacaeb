"""The demo in Chromium: an upload and an example.

Playwright drives Debian's Chromium against a running space (`tests/space/browser.py`);
screenshots go to build/test-artifacts/.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.space.browser import CLASS_NAMES, choose, open_tab, upload
from tests.space.running import RunningSpace


def test_the_demo_runs_an_example_and_an_upload(page, space_server: RunningSpace) -> None:
    from eval_harness.data.load import load_checkups

    checkup = next(c for c in load_checkups(space_server.data_dir) if c.split == "test")
    upload(page, "home-photos", [str(p) for p in checkup.photograph_paths],
            checkup.photographs[0][-6:])
    page.locator("#home-run").click()
    page.locator("#home-class").get_by_text(CLASS_NAMES).first.wait_for()
    page.locator("#home-class-report").get_by_text("Diagnosis").first.wait_for()
    # The uploaded patient images leave the disk when their request ends (the report may
    # still be streaming when "Diagnosis" shows: wait for the end, then look).
    cached = space_server.log.parent / "gradio"
    names = {Path(p).name for p in checkup.photographs}
    deadline = time.monotonic() + 30
    while [p for p in cached.rglob("*") if p.name in names]:
        assert time.monotonic() < deadline, "uploaded images still on disk after 30 s"
        time.sleep(0.2)
    open_tab(page, "Demo")
    choose(page, "demo-example", checkup.checkup_id)
    page.locator("#demo-run-example").click()
    page.locator("#example-reference").get_by_text("Reference class").wait_for()
    page.locator("#example-class").get_by_text(CLASS_NAMES).first.wait_for()
