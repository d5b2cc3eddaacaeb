"""Every hostile or broken input of the corpus is refused through the real entry points,
with its specific plain-language reason naming the place; nothing of it is stored; and
the same store takes a valid submission afterwards.

A case fails when the product accepts the input, crashes on it (any exception but the
refusal), refuses it with another (vaguer) reason, leaves a row, a submitted file, a
``*.partial`` or a staged image behind, or echoes the input back unbounded or with
control characters in the message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from leaderboard.store.database import open_store
from leaderboard.store.schema import Board, Submission
from leaderboard.submissions import Rejected, submit_model, submit_predictions
from space.demo import UploadError, stage_uploads
from tests.reliability.corpus import (
    BY_NAME,
    CORPUS,
    FILE_NAME,
    GOOD_SPEC,
    KINDS,
    META,
    HostileCase,
    good_png,
    lines,
)

BOARD = "synthetic-demo"
# A refusal is read by a person: bounded, and free of control and invisible characters
# (a newline separates the problems).
MESSAGE_LIMIT = 8_000
UNPRINTABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e"
                         "\u2060-\u2069\ufeff\ud800-\udfff]")



def test_the_corpus_is_large_and_covers_every_kind() -> None:
    assert len(CORPUS) >= 40 and len(BY_NAME) == len(CORPUS)  # names are unique
    assert {c.kind for c in CORPUS} == set(KINDS)
    assert all(sum(c.kind == kind for c in CORPUS) >= 8 for kind in KINDS)


def _refusal(case: HostileCase, error: Exception) -> str:
    message = str(error)
    assert case.expect in message, f"{case.name}: expected {case.expect!r} in {message!r}"
    if case.where is not None:
        assert case.where in message, f"{case.name}: {case.where!r} not named in {message!r}"
    assert len(message) <= MESSAGE_LIMIT, f"{case.name}: a {len(message):,}-character message"
    assert not UNPRINTABLE.search(message), f"{case.name}: unprintable characters in message"
    return message


def _nothing_stored(sessions, folder: Path) -> None:
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Board)) == 0
    assert not list((folder / "submissions").rglob("*"))  # nothing, not even a folder's
    assert not list(folder.rglob("*.partial"))


SUBMISSIONS = [c for c in CORPUS if c.kind != "image"]
IMAGES = [c for c in CORPUS if c.kind == "image"]


@pytest.mark.parametrize("case", SUBMISSIONS, ids=lambda c: f"{c.kind}: {c.name}")
def test_hostile_submission_is_refused_and_nothing_is_stored(case: HostileCase, board,
                                                             sqlite_url: str,
                                                             tmp_path: Path) -> None:
    sessions = open_store(sqlite_url)
    folder = tmp_path / "leaderboard"
    payload = case.build(board)
    with pytest.raises(Rejected) as caught:
        if case.kind == "predictions":
            submit_predictions(sessions, BOARD, payload, META, folder=folder, name=FILE_NAME)
        elif case.kind == "metadata":
            submit_predictions(sessions, BOARD, lines(board), payload, folder=folder,
                               name=FILE_NAME)
        else:
            submit_model(sessions, BOARD, payload, META)
    del payload
    _refusal(case, caught.value)
    _nothing_stored(sessions, folder)
    # The service stays usable: the same store takes a valid submission of each kind.
    accepted = submit_predictions(sessions, BOARD, lines(board), META, folder=folder,
                                  name=FILE_NAME)
    assert not accepted.duplicate
    assert [p.name for p in (folder / "submissions").iterdir()] == [
        next((folder / "submissions").glob("*.jsonl")).name]
    assert not submit_model(sessions, BOARD, GOOD_SPEC, META).duplicate
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 2


@pytest.mark.parametrize("case", IMAGES, ids=lambda c: c.name)
def test_hostile_upload_is_refused_and_nothing_is_staged(case: HostileCase,
                                                         tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    paths = []
    for n, (name, data) in enumerate(case.build([])):
        (uploads / str(n)).mkdir()
        path = uploads / str(n) / name  # one folder each, as a web server keeps uploads
        path.write_bytes(data)
        paths.append(str(path))
    staged = tmp_path / "staged"
    with pytest.raises(UploadError) as caught:
        stage_uploads(paths, [], staged)
    message = _refusal(case, caught.value)
    assert str(uploads) not in message  # the server's paths are not shown
    assert not [p for p in staged.rglob("*") if p.is_file()]
    # Still usable: a good photograph and radiograph are staged.
    (uploads / "good.png").write_bytes(good_png())
    assert stage_uploads([str(uploads / "good.png")], [str(uploads / "good.png")],
                         tmp_path / "after") == (["01.png"], ["01.png"])


def test_a_header_bomb_is_refused_without_decoding(tmp_path: Path, monkeypatch) -> None:
    """The size check reads the header only: with decoding made to fail loudly, the
    bombs are still refused for their size."""
    from PIL import ImageFile

    def no_decoding(self):
        raise AssertionError("decoded a bomb")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    for key in ("image: PNG claiming 100000x100000", "image: PNG claiming 8000x6000",
                "image: JPEG claiming 65000x65000", "image: real 54-megapixel image"):
        case = BY_NAME[key]
        [(name, data)] = case.build([])
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(UploadError, match=re.escape(case.expect)):
            stage_uploads([str(path)], [], tmp_path / "staged")
