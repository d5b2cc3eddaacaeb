"""The hostile corpus through the running app: every case a browser form can carry is sent
to the space's own API (predictions files and model specs to /submit, images to the
demo), refused in words, and leaves nothing stored; the app and its worker stay up and
take a valid submission afterwards."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.corpus import CORPUS, FILE_NAME, META, HostileCase, lines
from tests.space.conftest import RunningSpace, launch_space, space_env

pytestmark = pytest.mark.slow
FORM_TEXT = ("model_name", "submitter", "link")  # the form's free-text fields
GRADIO_SIZE_LIMIT = 20 * 2**20  # app.py: max_file_size="20mb"


def _fits_the_form(case: HostileCase) -> bool:
    """A metadata case the form can send: only its text fields differ, as text."""
    if case.kind != "metadata":
        return True
    payload = case.payload
    return (isinstance(payload, dict) and set(payload) == set(META)
            and all(type(payload[k]) is type(META[k]) and payload[k] == META[k]
                    for k in META if k not in FORM_TEXT)
            and all(isinstance(payload[k], str | None) for k in FORM_TEXT)
            # JSON cannot carry a lone surrogate: no browser can send one
            and all(_encodable(payload[k]) for k in FORM_TEXT))


def _encodable(text: str | None) -> bool:
    try:
        (text or "").encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


CASES = [c for c in CORPUS if _fits_the_form(c)]


@pytest.fixture(scope="module")
def app(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSpace]:
    home = tmp_path_factory.mktemp("hostile-app")
    env = space_env(home, CODEBENCH_DATA_DIR=str(synth_dir),
                    CODEBENCH_SUBMISSIONS_PER_DAY="1000")
    with launch_space(home, env=env) as space:
        yield space



def _submitted(space: RunningSpace) -> int:
    with sqlite3.connect(space.leaderboard_dir / "leaderboard.sqlite") as db:
        return db.execute("SELECT count(*) FROM submissions WHERE kind != 'seed'").fetchone()[0]


def _form(meta: dict, file: object, spec: str) -> tuple:
    weights = {True: "open", False: "closed"}.get(meta["open_weights"], "")
    return ("synthetic-demo", meta["model_name"], meta["submitter"], meta["setting"],
            meta["params_billion"], weights, meta["link"] or "", file, spec)


def _unescaped(message: str) -> str:
    return re.sub(r"\\([\\`*\[\]<>])", r"\1", message)  # space.board.plain, undone


def test_the_corpus_reaches_the_app() -> None:
    assert len(CASES) >= 40 and {c.kind for c in CASES} == {"predictions", "metadata",
                                                            "model", "image"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.kind}: {c.name}")
def test_hostile_input_through_the_app_is_refused_and_nothing_is_stored(
        case: HostileCase, app: RunningSpace, board: list[str], tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    client = Client(app.url, verbose=False)
    payload = case.build(board)
    try:
        if case.kind == "image":
            files = []
            for n, (name, data) in enumerate(payload):
                (tmp_path / str(n)).mkdir()
                files.append(tmp_path / str(n) / name)
                files[-1].write_bytes(data)
            with pytest.raises(Exception) as caught:  # a gr.Error reaches the client
                client.predict([handle_file(str(f)) for f in files], [], 40, "", "pain",
                               api_name="/home_predict")
            message = str(caught.value)
        elif case.kind == "model":
            message, _ = client.predict(*_form(META, None, json.dumps(case.payload)),
                                        api_name="/submit")
        else:
            upload = tmp_path / FILE_NAME
            upload.write_bytes(payload if case.kind == "predictions"
                               else lines(board))
            meta = META if case.kind == "predictions" else case.payload
            try:
                message, _ = client.predict(*_form(meta, handle_file(str(upload)), ""),
                                            api_name="/submit")
            except Exception as error:  # Gradio's own upload limit, before our handler
                assert upload.stat().st_size > GRADIO_SIZE_LIMIT, error
                assert "maximum file size" in str(error) or "maximum allowed size" in str(
                    error), error
                message = None
    finally:
        del payload
    if message is not None:
        assert case.expect in _unescaped(message), (case.name, message)
        assert "Traceback" not in message
    assert _submitted(app) == 0  # nothing stored
    assert app.process.poll() is None  # the app stays up


def test_after_the_corpus_the_app_and_its_worker_take_a_valid_submission(
        app: RunningSpace, board: list[str], tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    with urllib.request.urlopen(f"{app.url}/gradio_api/info", timeout=10) as answer:
        assert answer.status == 200
    upload = tmp_path / FILE_NAME
    upload.write_bytes(lines(board))
    message, _ = Client(app.url, verbose=False).predict(
        *_form(META, handle_file(str(upload)), ""), api_name="/submit")
    assert message.startswith("Queued as submission"), message
    deadline = time.monotonic() + 120
    while True:
        with sqlite3.connect(app.leaderboard_dir / "leaderboard.sqlite") as db:
            status = db.execute("SELECT status FROM submissions WHERE kind != 'seed'"
                                ).fetchone()[0]
        if status in ("finished", "failed"):
            break
        assert time.monotonic() < deadline, "the worker never scored it"
        time.sleep(0.3)
    assert status == "finished"
