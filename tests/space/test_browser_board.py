"""The leaderboard tab in Chromium: filters, details, rank-by, compare.

Playwright drives Debian's Chromium against a running space (`tests/space/browser.py`);
screenshots go to build/test-artifacts/.
"""

from __future__ import annotations

from tests.space.browser import choose, open_tab


def test_filter_the_board_and_open_a_rows_details(page) -> None:
    open_tab(page, "Leaderboard")
    table = page.locator("#board-table")
    # Rows past the table's height are in the page but not visible: read textContent.
    table.get_by_text("(baseline)").first.wait_for(state="attached")
    page.get_by_label("fine-tuned").check()
    page.wait_for_function("() => !document.querySelector('#board-table')"
                           ".textContent.includes('(baseline)')")
    assert "(sft)" in table.text_content()
    choose(page, "board-pick", "Lingshu-32B-SFT")
    page.get_by_text("Reproduce:").wait_for()
    assert "pocket-dentist" in page.locator("body").inner_text()
    # The per-class chart (with its CI whiskers) and the heat map are drawn.
    page.locator("#board-per-class .js-plotly-plot").wait_for()
    page.locator("#board-confusion .js-plotly-plot").wait_for()
    assert page.locator("#board-per-class .errorbar").count() > 0

def test_rank_by_follows_the_task_and_compare_shows_the_boards_verdict(page) -> None:
    open_tab(page, "Leaderboard")
    table = page.locator("#board-table")
    table.get_by_text("Rank (95% interval)").first.wait_for(state="attached")
    # One bar per ranked row in the rank-interval chart (42 published runs).
    page.locator("#board-rank-chart .js-plotly-plot").wait_for()
    page.wait_for_function("() => document.querySelectorAll("
                           "'#board-rank-chart .barlayer .point').length === 42")
    choose(page, "board-task", "code_report")
    page.wait_for_function("() => document.querySelector('#board-rank-by input').value "
                           "=== 'bleu_sentence_mean'")
    choose(page, "board-rank-by", "meteor")
    page.wait_for_function("() => document.querySelector('#board-rank-chart')"
                           ".textContent.includes('Rank by meteor')")
    choose(page, "board-a", "Lingshu-32B-SFT")
    choose(page, "board-b", "paligemma2")
    page.locator("#board-compare").click()
    page.wait_for_function("() => document.querySelector('#board-paired')"
                           ".textContent.includes('board: A ranked above B')")
