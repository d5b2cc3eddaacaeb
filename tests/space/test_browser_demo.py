"""The demo in Chromium: an upload, the same form run twice, a refused upload, an example.

Playwright drives Debian's Chromium against a running space (`tests/space/browser.py`);
screenshots go to build/test-artifacts/.
"""

from __future__ import annotations

import time
from pathlib import Path

from PIL import Image

from tests.space.browser import CLASS_NAMES, choose, open_tab, upload
from tests.space.running import RunningSpace

# Set before a click: records each text the agreement line shows, so a run is known to be
# over when the line lost its sentence (the report streaming) and got one back (the report
# whole). The line's element may also hold Gradio's progress text: only the sentence counts.
WATCH_AGREEMENT = """(id) => {
    // The whole page is watched: Gradio may re-create the line's element as it updates.
    const text = () => document.getElementById(id)?.textContent ?? '';
    window.__agreement = [text()];
    new MutationObserver(() => window.__agreement.push(text()))
        .observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
RAN_AGAIN = """() => {
    const said = text => /Both answers name|The two answers differ/.test(text);
    const seen = window.__agreement, blank = seen.findIndex(text => !said(text));
    return blank >= 0 && seen.slice(blank).some(said);
}"""
ERROR_SHOWN = "() => document.querySelector('[data-testid=\"toast-body\"]') !== null"


def _test_photos(space: RunningSpace, n: int = 0) -> tuple[object, list[str]]:
    """The photographs of the n-th synthetic test checkup (each test its own, so one
    test's uploads never meet another's in the shared server's cache)."""
    from eval_harness.data.load import load_checkups

    checkup = [c for c in load_checkups(space.data_dir) if c.split == "test"][n]
    return checkup, [str(p) for p in checkup.photograph_paths]


def _wait_until_gone(cache: Path, names: set[str]) -> None:
    """The uploaded patient images leave the disk when their request ends (the report may
    still be streaming when it shows: wait for the end, then look)."""
    deadline = time.monotonic() + 30
    while [p for p in cache.rglob("*") if p.name in names]:
        assert time.monotonic() < deadline, "uploaded images still on disk after 30 s"
        time.sleep(0.2)


def _images_in(cache: Path) -> set[Path]:
    found = set()
    for path in (p for p in cache.rglob("*") if p.is_file()):
        try:
            with Image.open(path):
                found.add(path)
        except OSError:  # not an image (a CSV download, a submission)
            continue
    return found


def _run_and_wait(page, prefix: str = "home") -> None:
    page.evaluate(WATCH_AGREEMENT, f"{prefix}-class-agreement")
    page.locator(f"#{prefix}-run").click()
    # Generous: the first run loads the model, and CI runs this beside its heaviest tests.
    page.wait_for_function(f"() => ({RAN_AGAIN})() || ({ERROR_SHOWN})()", timeout=240_000)


def test_the_demo_runs_an_upload_with_thumbnails_and_two_labelled_answers(
        page, space_server: RunningSpace) -> None:
    """Findings 4, 5, 9: the two answers unnamed and unexplained, Age showing 0, uploads
    listed by name only; and no extra copy of an upload may stay in Gradio's cache."""
    checkup, photos = _test_photos(space_server)
    cache = space_server.gradio_dir
    images_before = _images_in(cache)
    age = page.locator("#home-age input, #home-age textarea").first
    assert age.input_value() == ""  # empty, not 0
    upload(page, "home-photos", photos)
    thumbnails = page.locator("#home-photos-thumbnails img")
    thumbnails.first.wait_for()
    assert thumbnails.count() == len(photos)
    assert thumbnails.first.get_attribute("src").startswith("data:image/jpeg;base64,")
    _run_and_wait(page)
    page.locator("#home-class").get_by_text(CLASS_NAMES).first.wait_for()
    page.get_by_text("Classification (task 1): class probabilities").first.wait_for()
    page.get_by_text("Report (task 2): the diagnostic report").first.wait_for()
    line = page.locator("#home-class-agreement").text_content().strip()
    assert line.startswith(("Both answers name", "The two answers differ")), line
    page.locator("#home-class-report").get_by_text("Diagnosis").first.wait_for()
    page.get_by_text("ICD-10: a diagnosis code").first.wait_for()  # the legend
    _wait_until_gone(cache, {Path(p).name for p in checkup.photographs})
    assert _images_in(cache) <= images_before  # no thumbnail or staged copy left behind


def test_the_same_form_runs_twice(page, space_server: RunningSpace) -> None:
    """Finding 1: a second run of the same form (complaint edited) said "<name>.jpg: image
    file is missing" (the first run's end had deleted the uploads the form still lists)
    and wiped the first answer. The uploads must still be gone from disk after both."""
    checkup, photos = _test_photos(space_server, 1)
    upload(page, "home-photos", photos)
    page.locator("#home-complaint textarea").fill("toothache")
    _run_and_wait(page)
    names = {Path(p).name for p in checkup.photographs}
    _wait_until_gone(space_server.gradio_dir, names)
    first = page.locator("#home-class-agreement").text_content().strip()
    page.locator("#home-complaint textarea").fill("toothache, worse at night")
    _run_and_wait(page)
    toasts = page.locator('[data-testid="toast-body"]')
    assert toasts.count() == 0, toasts.all_inner_texts()
    second = page.locator("#home-class-agreement").text_content().strip()
    assert first and second.startswith(("Both answers name", "The two answers differ"))
    page.locator("#home-class").get_by_text(CLASS_NAMES).first.wait_for()
    _wait_until_gone(space_server.gradio_dir, names)


def test_a_refused_upload_is_named_and_logged_in_one_line(
        page, space_server: RunningSpace, tmp_path: Path) -> None:
    """Finding 9: an expected refusal printed a full traceback in the server log."""
    notes = tmp_path / "notes.jpg"
    notes.write_text("not an image, but named like one")
    mark = space_server.log.stat().st_size
    upload(page, "home-photos", [str(notes)])
    page.locator("#home-photos-thumbnails").get_by_text("notes.jpg: ").wait_for()
    page.locator("#home-run").click()
    page.locator('[data-testid="toast-body"]').get_by_text("notes.jpg").first.wait_for()
    time.sleep(1)  # the log line is written as the error is raised; let it flush
    with space_server.log.open(encoding="utf-8", errors="replace") as log:
        log.seek(mark)
        written = log.read()
    refusals = [line for line in written.splitlines() if "demo refused" in line]
    assert len(refusals) == 1 and "notes.jpg" in refusals[0], written[-2000:]
    assert "Traceback" not in written, written[-2000:]


def test_an_example_shows_its_reference_and_which_answer_matched(
        page, space_server: RunningSpace) -> None:
    """Finding 4: an example showed the reference class but not its report's match nor
    whether each answer matched it."""
    checkup, _ = _test_photos(space_server)
    open_tab(page, "Demo")
    choose(page, "demo-example", checkup.checkup_id)
    page.locator("#demo-run-example").click()
    reference = page.locator("#example-reference")
    reference.get_by_text("Reference report").wait_for()
    text = reference.inner_text()
    assert f"Reference class: {checkup.primary}" in text
    assert text.count("the reference") == 2 and "task 1" in text and "task 2" in text
    page.locator("#example-class").get_by_text(CLASS_NAMES).first.wait_for()
    assert page.locator("#example-agreement").text_content().strip()
