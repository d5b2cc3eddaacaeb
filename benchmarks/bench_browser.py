"""The landing view as a visitor meets it, in Chromium: how long after the server is up the
page is interactive (goal <= 3 s), the first load and the median of --repeats more.

"Interactive" here means: the landing board shows its rows (the page's first data
request has answered) and the demo's run button can be clicked.

Run: .venv/bin/python -m benchmarks.bench_browser [--repeats 5] [--width 1440]

Needs Playwright and Debian's Chromium (make system-deps). Prints, never asserts: the
browser tests check what the page shows, not how fast.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def landing_seconds(browser, url: str, width: int) -> float:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(120_000)
    start = time.perf_counter()
    page.goto(url)
    page.locator("#home-board").get_by_role("gridcell").first.wait_for()
    page.locator("#home-run").wait_for(state="visible")
    assert page.locator("#home-run").is_enabled()
    elapsed = time.perf_counter() - start
    context.close()
    return elapsed


def main() -> None:
    from playwright.sync_api import sync_playwright

    from benchmarks.bench_space import start_app

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--width", type=int, default=1440)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        process, url, cold = start_app(Path(scratch))
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            print(f"server up (cold start, empty folders): {cold:.1f} s")
            first = landing_seconds(browser, url, args.width)
            again = [landing_seconds(browser, url, args.width) for _ in range(args.repeats)]
            print(f"landing view interactive at {args.width} px: first load {first:.2f} s, "
                  f"median of {args.repeats} more {statistics.median(again):.2f} s "
                  "(goal <= 3)")
        finally:
            browser.close()
            process.terminate()


if __name__ == "__main__":
    main()
