"""Submissions: every rejection names its problem and stores nothing; accepted content is
kept, deduplicated per board and rate limited per submitter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from leaderboard.store.database import open_store
from leaderboard.store.schema import Submission
from leaderboard.submissions import Limits, Rejected, check_metadata, submit_predictions

META = {"model_name": "tiny-demo", "submitter": "alice", "setting": "fine-tuned",
        "link": "https://example.org/model", "params_billion": 0.01, "open_weights": True}


@pytest.fixture
def board_env(synth_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The synthetic-demo board on the session's synthetic data; returns its test ids."""
    from eval_harness.api import load_split

    monkeypatch.setenv("CODEBENCH_DATA_DIR", str(synth_dir))
    return [c.checkup_id for c in load_split(synth_dir, "test", "en").checkups]


def lines(ids: list[str], task: str = "code_cls", text: object = "Pulpitis") -> bytes:
    return "".join(json.dumps({"id": i, "task": task, "prediction": text}) + "\n"
                   for i in ids).encode()


def _refused(sessions, raw: bytes, tmp_path: Path, meta=META, limits: Limits | None = None
             ) -> str:
    with pytest.raises(Rejected) as caught:
        submit_predictions(sessions, "synthetic-demo", raw, meta, folder=tmp_path,
                           name="p.jsonl", limits=limits or Limits())
    with sessions() as session:  # nothing stored, not even the board's first row
        assert session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 0
    assert not (tmp_path / "submissions").exists()
    return str(caught.value)


@pytest.fixture
def sessions(sqlite_url: str):
    return open_store(sqlite_url)


BAD_FILES = {
    "empty": (lambda ids: b"  \n", "the file is empty"),
    "not json": (lambda ids: lines(ids[:1]) + b"{oops\n", "line 2: not JSON"),
    "not an object": (lambda ids: b"[1, 2]\n", "line 1: line is not a JSON object"),
    "unknown task": (lambda ids: lines(ids, task="code_xray"), "unknown task 'code_xray'"),
    "wrong type": (lambda ids: b'{"id": "x", "task": "code_cls", "prediction": 7}\n',
                   "'prediction' must be a string"),
    "duplicate": (lambda ids: lines(ids) + lines(ids[:1]), "duplicate prediction for code_cls"),
    "unknown ids": (lambda ids: lines([*ids, "9999-001", "../../etc"]),
                    "2 id(s) not on this board: ../../etc, 9999-001"),
    "missing ids": (lambda ids: lines(ids[3:]), "3 of the board's"),
    "non-utf8": (lambda ids: lines(ids[:1]) + b'{"id": "\xff"}\n', "line 2: not UTF-8"),
    "bom": (lambda ids: b"\xef\xbb\xbf" + lines(ids), "byte-order mark"),
    "nul": (lambda ids: lines(ids[:2]) + b"\x00\n", "line 3: contains a NUL byte"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_each_bad_file_is_refused_with_its_reason(case: str, sessions, board_env,
                                                  tmp_path: Path) -> None:
    make, expected = BAD_FILES[case]
    assert expected in _refused(sessions, make(board_env), tmp_path)


def test_oversize_file_and_line_are_refused(sessions, board_env, tmp_path: Path) -> None:
    raw = lines(board_env)
    assert "over the limit of 100" in _refused(sessions, raw, tmp_path, limits=Limits(
        max_bytes=100))
    long = lines(board_env[:1], text="x" * 5000) + lines(board_env[1:])
    assert "line 1: 5,05" in _refused(sessions, long, tmp_path, limits=Limits(
        max_line_bytes=4096))


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("model_name", "<script>alert(1)</script>", "contains markup"),
    ("model_name", "model\u202eevil", "control or invisible"),
    ("submitter", "", "submitter: required"),
    ("link", "javascript:alert(1)", "is not an http(s) address"),
    ("link", "ftp://example.org/x", "is not an http(s) address"),
    ("setting", "vibes", "is not one of"),
    ("params_billion", -3, "not a positive number"),
    ("open_weights", "yes", "must be true or false"),
])
def test_bad_metadata_names_the_field(field: str, value, expected: str) -> None:
    with pytest.raises(Rejected) as caught:
        check_metadata({**META, field: value})
    assert expected in str(caught.value) and field in str(caught.value)


def test_accepted_file_is_kept_deduplicated_and_rate_limited(sessions, board_env,
                                                             tmp_path: Path) -> None:
    raw = lines(board_env)
    first = submit_predictions(sessions, "synthetic-demo", raw, META, folder=tmp_path)
    again = submit_predictions(sessions, "synthetic-demo", raw, META, folder=tmp_path)
    assert (again.submission_id, again.duplicate) == (first.submission_id, True)
    stored = list((tmp_path / "submissions").glob("*.jsonl"))
    assert [p.read_bytes() for p in stored] == [raw]
    limits = Limits(per_day=2)
    submit_predictions(sessions, "synthetic-demo", lines(board_env, text="Gingivitis"), META,
                       folder=tmp_path, limits=limits)
    with pytest.raises(Rejected, match="2 submissions in the last 24 hours"):
        submit_predictions(sessions, "synthetic-demo", lines(board_env, text="Tooth Loss"),
                           META, folder=tmp_path, limits=limits)
    with sessions() as session:
        rows = session.scalars(sa.select(Submission)).all()
        assert [(s.status, [e.status for e in s.events]) for s in rows] == [
            ("pending", ["pending"])] * 2


def test_cli_submit_refuses_with_reasons_and_accepts_with_an_id(board_env, tmp_path: Path,
                                                                 monkeypatch, capsys) -> None:
    from leaderboard.cli import main

    monkeypatch.setenv("CODEBENCH_LEADERBOARD_DIR", str(tmp_path / "lb"))
    db = ["--db", f"sqlite:///{tmp_path / 'lb.sqlite'}"]
    who = ["--board", "synthetic-demo", "--model-name", "m", "--submitter", "bob"]
    bad, good = tmp_path / "bad.jsonl", tmp_path / "good.jsonl"
    bad.write_bytes(lines(board_env[2:]) + b"nonsense\n")
    good.write_bytes(lines(board_env))
    assert main([*db, "submit", str(bad), *who]) == 1
    err = capsys.readouterr().err
    assert f"refused: bad.jsonl, line {len(board_env) - 1}: not JSON" in err
    assert main([*db, "submit", str(good), *who, "--json"]) == 0
    accepted = json.loads(capsys.readouterr().out)
    assert main([*db, "status", str(accepted["id"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "pending"
    assert main([*db, "submit", str(good), "--model-spec", "{}", *who]) == 2  # not both


def test_every_metadata_problem_is_named_at_once() -> None:
    """Finding 9: the first bad field stopped the check; the others went unmentioned."""
    with pytest.raises(Rejected) as caught:
        check_metadata({**META, "model_name": "<b>m</b>", "submitter": "=1+1",
                        "link": "ftp://example.org/x", "setting": "vibes"})
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "model_name", "submitter", "link", "setting"]


def test_every_line_of_a_broken_file_is_named_at_once(sessions, board_env,
                                                      tmp_path: Path) -> None:
    """Finding 9: reading stopped at the first line that was not JSON (line 2); line 3
    and a later line's unknown task went unmentioned, and so did the bad fields."""
    raw = (lines(board_env[:1]) + b"{oops\n[1, 2]\n"
           + lines(board_env[1:2], task="code_xray"))
    refused = _refused(sessions, raw, tmp_path, meta={**META, "model_name": "<b>m</b>"})
    assert refused.splitlines() == [
        "model_name: contains markup (<, >, &# or javascript:); use plain text",
        "p.jsonl, line 2: not JSON (Expecting property name enclosed in double quotes) "
        "(fix: one JSON object per line)",
        "p.jsonl, line 3: line is not a JSON object",
        f"p.jsonl, line 4, checkup {board_env[1]}: unknown task 'code_xray' (fix: use one "
        "of: code_cls, code_report, code_multilabel)"]


def test_a_board_without_references_is_refused_in_words_without_its_folder(
        sessions, board_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 3: the refusal named the server's peer-runs folder and the variable to set;
    the folder now goes to ``detail`` (the server's log) only."""
    from leaderboard.boards import _published_references, scorable_boards

    missing = tmp_path / "absent-peer-runs"
    monkeypatch.setenv("CODEBENCH_PEER_RUNS", str(missing))
    _published_references.cache_clear()
    assert scorable_boards() == ("synthetic-demo",)
    with pytest.raises(Rejected) as caught:
        submit_predictions(sessions, "code-test-600", lines(["00000"]), META, folder=tmp_path)
    assert caught.value.problems == [
        "board: this server cannot score code-test-600 (its held-out references are not "
        "installed here); boards it scores: synthetic-demo"]
    assert str(missing) in caught.value.detail


def test_cli_submit_to_a_board_without_references_tells_the_operator_where(
        board_env, tmp_path: Path, monkeypatch, capsys) -> None:
    """The CLI runs on the server: with the visitor's words, the operator still gets the
    folder and the fix that the web page no longer shows."""
    from leaderboard.boards import _published_references
    from leaderboard.cli import main

    monkeypatch.setenv("CODEBENCH_LEADERBOARD_DIR", str(tmp_path / "lb"))
    monkeypatch.setenv("CODEBENCH_PEER_RUNS", str(tmp_path / "absent"))
    _published_references.cache_clear()
    good = tmp_path / "good.jsonl"
    good.write_bytes(lines(["00000"]))
    assert main(["--db", f"sqlite:///{tmp_path / 'lb.sqlite'}", "submit", str(good),
                 "--board", "code-test-600", "--model-name", "m", "--submitter", "bob"]) == 1
    err = capsys.readouterr().err
    assert "refused: board: this server cannot score code-test-600" in err
    assert f"server detail: {tmp_path / 'absent'}" in err and "CODEBENCH_PEER_RUNS" in err
