"""The submit tab in Chromium: a refused file and a scored one, followed to its score;
a server without the published references.

Playwright drives Debian's Chromium against a running space (`tests/space/browser.py`);
screenshots go to build/test-artifacts/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.space.browser import ARTIFACTS, WAIT_MS, choose, open_tab, upload
from tests.space.running import RunningSpace, launch_space, space_env

# An absolute server path as a message would show one ("/tmp/x/...", "/srv/codebench").
SERVER_PATH = re.compile(r"(?<![\w.])/[\w.-]+/[\w.-]+")


def _fill(page, elem_id: str, text: str) -> None:
    page.locator(f"#{elem_id} textarea, #{elem_id} input").first.fill(text)


def _submit_file(page, path: Path, name: str = "browser-model", who: str = "pat") -> None:
    open_tab(page, "Submit")
    page.locator("#submit-send").wait_for()
    choose(page, "submit-board", "synthetic-demo")
    _fill(page, "submit-model-name", name)
    _fill(page, "submit-submitter", who)
    upload(page, "submit-file", [str(path)])
    page.locator("#submit-send").click()


def _test_ids(data_dir: Path) -> list[str]:
    from eval_harness.data.load import load_checkups

    return [c.checkup_id for c in load_checkups(data_dir) if c.split == "test"]


def test_a_broken_form_lists_every_problem_at_once(page, space_server: RunningSpace,
                                                   tmp_path: Path) -> None:
    """Finding 9: only the first problem was said (line 2); line 3 of the file and the
    markup in the two name fields went unmentioned. Finding 5: the empty "Parameters
    (billions)" field showed 0, as if it were given."""
    first = _test_ids(space_server.data_dir)[0]
    bad = tmp_path / "browser-bad.jsonl"
    bad.write_text(json.dumps({"id": first, "task": "code_cls", "prediction": "Pulpitis"})
                   + "\n{not json\n[3]\n")
    open_tab(page, "Submit")
    params = page.locator("#submit-params textarea, #submit-params input").first
    params.wait_for()
    assert params.input_value() == ""
    params.fill("7b")
    _submit_file(page, bad, name="<b>m</b>", who="<i>pat</i>")
    result = page.locator("#submit-result")
    result.get_by_text("line 2: not JSON").wait_for()
    shown = result.inner_text()
    for expected in ("model_name: contains markup", "submitter: contains markup",
                     "params_billion: '7b' is not a positive number",
                     "browser-bad.jsonl, line 3: line is not a JSON object"):
        assert expected in shown, shown


def test_a_submission_is_followed_until_it_is_finished(page, space_server: RunningSpace,
                                                       tmp_path: Path) -> None:
    """Finding 9: the result said "(pending)" after the queue showed the submission
    finished; it now follows the submission to its score and rank."""
    from eval_harness.data.load import load_checkups

    test = [c for c in load_checkups(space_server.data_dir) if c.split == "test"]
    good = tmp_path / "browser-good.jsonl"
    good.write_text("".join(json.dumps({"id": c.checkup_id, "task": "code_cls",
                                        "prediction": c.primary}) + "\n" for c in test))
    _submit_file(page, good)
    result = page.locator("#submit-result")
    result.get_by_text("Queued as submission").wait_for()
    # The embedded worker scores it; the queue table refreshes itself.
    page.wait_for_function("() => document.querySelector('#submit-queue')"
                           ".textContent.includes('finished')", timeout=120_000)
    # The next tick of the page's timer (every 3 s) brings the result message along.
    page.wait_for_function("() => document.querySelector('#submit-result')"
                           ".textContent.includes('finished')", timeout=15_000)
    # Every answer right: the best value there is, alone at rank 1 of its own board.
    assert re.search(r"finished: .*1\.000, rank 1\b", result.inner_text()), result.inner_text()


def test_a_server_without_the_published_references_offers_only_its_boards(
        browser, tmp_path: Path) -> None:
    """Finding 3: the Submit tab offered code-test-600 on a server without the published
    references, and a submission to it answered with the server's folder ("/.../peer-runs/
    pocket-dentist-code: ... (fix: set CODEBENCH_PEER_RUNS...)")."""
    from gradio_client import Client, handle_file

    home = tmp_path / "space"
    env = space_env(home, CODEBENCH_PEER_RUNS=str(home / "no-peer-runs"))
    with launch_space(home, env=env) as space:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(space.url)
        open_tab(page, "Submit")
        page.locator("#submit-board input").click()
        options = page.get_by_role("option")
        options.first.wait_for()
        # (the chosen option carries a check mark)
        assert [t.replace("✓", "").strip() for t in options.all_inner_texts()] == [
            "synthetic-demo"]
        page.keyboard.press("Escape")
        ids = [f"{i:05d}" for i in range(600)]
        upload_file = tmp_path / "positions.jsonl"
        upload_file.write_text("".join(json.dumps({"id": i, "task": "code_cls",
                                                   "prediction": "Pulpitis"}) + "\n"
                                       for i in ids))
        answer = Client(space.url, verbose=False).predict(
            "code-test-600", "m", "pat", "", None, "", "", handle_file(str(upload_file)), "",
            api_name="/submit")[0]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "submit-without-published-references.png"),
                        full_page=True)
        context.close()
        log = space.log.read_text()
    assert "this server cannot score code-test-600" in answer
    assert not SERVER_PATH.search(answer) and "CODEBENCH" not in answer, answer
    # The refusal is one line in the server's log, with the folder for the operator.
    refusals = [line for line in log.splitlines() if "refused" in line]
    assert len(refusals) == 1 and "no-peer-runs" in refusals[0], log[-2000:]
    assert "Traceback" not in log, log[-3000:]
