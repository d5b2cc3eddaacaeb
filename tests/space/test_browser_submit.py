"""The submit tab in Chromium: a refused file and a scored one.

Playwright drives Debian's Chromium against a running space (`tests/space/browser.py`);
screenshots go to build/test-artifacts/.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.space.browser import open_tab, upload
from tests.space.running import RunningSpace


def _submit_file(page, path: Path) -> None:
    open_tab(page, "Submit")
    page.locator("#submit-send").wait_for()
    page.locator("#submit-model-name textarea, #submit-model-name input").first.fill(
        "browser-model")
    page.locator("#submit-submitter textarea, #submit-submitter input").first.fill("pat")
    upload(page, "submit-file", [str(path)], path.name)
    page.locator("#submit-send").click()

def test_submissions_reach_finished_or_say_why_not(page, space_server: RunningSpace,
                                                   tmp_path: Path) -> None:
    from eval_harness.data.load import load_checkups

    test = [c for c in load_checkups(space_server.data_dir) if c.split == "test"]
    good = tmp_path / "browser-good.jsonl"
    good.write_text("".join(json.dumps({"id": c.checkup_id, "task": "code_cls",
                                        "prediction": c.primary}) + "\n" for c in test))
    bad = tmp_path / "browser-bad.jsonl"
    bad.write_text(good.read_text().splitlines()[0] + "\n{not json\n")
    result = page.locator("#submit-result")
    _submit_file(page, bad)
    result.get_by_text("line 2: not JSON").wait_for()
    page.reload()  # a fresh form for the next file (as a user would come back)
    _submit_file(page, good)
    result.get_by_text("Queued as submission").wait_for()
    # The embedded worker scores it; the queue table refreshes itself.
    page.wait_for_function("() => document.querySelector('#submit-queue')"
                           ".textContent.includes('finished')", timeout=120_000)
