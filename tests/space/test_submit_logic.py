"""The submit tab's logic without a browser: messages, the followed state, the log."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from leaderboard.store.database import open_store
from leaderboard.submissions import Limits
from space import submit

META = {"model_name": "m", "submitter": "ann"}


@pytest.fixture
def board_ids(synth_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """synthetic-demo on the session's synthetic data; its test ids."""
    from eval_harness.api import load_split

    monkeypatch.setenv("CODEBENCH_DATA_DIR", str(synth_dir))
    return [c.checkup_id for c in load_split(synth_dir, "test", "en").checkups]


def _file(path: Path, ids: list[str], answer: str = "Pulpitis") -> Path:
    path.write_text("".join(json.dumps({"id": i, "task": "code_cls", "prediction": answer})
                            + "\n" for i in ids))
    return path


def test_submit_messages_and_the_client_rate_limit(board_ids: list[str], tmp_path: Path
                                                   ) -> None:
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    good = _file(tmp_path / "good.jsonl", board_ids)
    other = _file(tmp_path / "other.jsonl", board_ids, "Gingivitis")
    assert "not both" in submit.submit(sessions, tmp_path, "synthetic-demo", str(good),
                                       '{"backend": "hf"}', META).message
    one = submit.submit(sessions, tmp_path, "synthetic-demo", str(good), "", META,
                        client="10.0.0.7", limits=Limits(per_day=1))
    assert one.message.startswith("Queued as submission **#1**") and one.submission_id == 1
    # Another name from the same address: still over the daily limit.
    refused = submit.submit(sessions, tmp_path, "synthetic-demo", str(other), "",
                            {**META, "submitter": "bea"}, client="10.0.0.7",
                            limits=Limits(per_day=1))
    assert refused.message.startswith("**Refused:**") and "this address" in refused.message
    assert refused.submission_id is None
    queue = submit.queue_table(sessions).to_dict("records")
    assert len(queue) == 1
    assert (queue[0]["Status"], queue[0]["Place in queue"]) == ("pending", 1)


def test_every_problem_of_the_form_is_listed_at_once(board_ids: list[str], tmp_path: Path
                                                     ) -> None:
    """Finding 9: the form answered with its first problem only (the model name's markup);
    the submitter's markup, the bad link and the file's lines 2 and 3 went unmentioned."""
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"id": board_ids[0], "task": "code_cls",
                                  "prediction": "Pulpitis"}) + "\n{not json\n[1, 2]\n"
                      + json.dumps({"id": board_ids[1], "task": "code_xray",
                                    "prediction": "x"}) + "\n")
    meta = {"model_name": "<b>m</b>", "submitter": "<i>ann</i>", "link": "ftp://x.org",
            "params_billion": 0.0}
    message = submit.submit(sessions, tmp_path, "synthetic-demo", str(broken), "",
                            meta).message
    for expected in ("model_name: contains markup", "submitter: contains markup",
                     "link: 'ftp://x.org' is not an http(s) address",
                     "params_billion: 0.0 is not a positive number",
                     "broken.jsonl, line 2: not JSON",
                     "broken.jsonl, line 3: line is not a JSON object",
                     "broken.jsonl, line 4, checkup", "unknown task 'code_xray'"):
        assert expected in message.replace("\\", ""), expected


def test_neither_a_file_nor_a_model_is_said_with_the_fields_problems(tmp_path: Path) -> None:
    """Finding 9: "not both" was the whole answer, though the submitter was missing too."""
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    message = submit.submit(sessions, tmp_path, "synthetic-demo", None, " ",
                            {"model_name": "m", "submitter": ""}).message
    assert "upload a predictions file or describe a model" in message
    assert "submitter: required" in message


def test_a_board_without_its_references_is_not_offered_and_refused_without_a_path(
        board_ids: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Finding 3: code-test-600 was offered on a server without the published runs and a
    submission to it answered with the server's folder and the variable to set."""
    from leaderboard.boards import _published_references, scorable_boards

    missing = tmp_path / "nowhere" / "pocket-dentist-code"
    monkeypatch.setenv("CODEBENCH_PEER_RUNS", str(missing))
    _published_references.cache_clear()
    assert scorable_boards() == ("synthetic-demo",)
    assert submit.board_choices() == (["synthetic-demo"], "synthetic-demo")
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    good = _file(tmp_path / "good.jsonl", [f"{i:05d}" for i in range(600)])
    with caplog.at_level(logging.INFO):
        message = submit.submit(sessions, tmp_path, "code-test-600", str(good), "",
                                META).message
    assert message == ("**Refused:**\n\n- board: this server cannot score code-test-600 "
                       "(its held-out references are not installed here); boards it "
                       "scores: synthetic-demo")
    # The operator's log keeps the folder.
    assert str(missing) in caplog.text


def test_a_refusal_is_logged_as_one_line_without_a_traceback(
        board_ids: list[str], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Finding 9: expected refusals must be one line in the server log (none was logged,
    so an operator saw nothing of a refused visitor, or a traceback elsewhere)."""
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n{again\n")
    with caplog.at_level(logging.INFO, logger="codebench.space"):
        submit.submit(sessions, tmp_path, "synthetic-demo", str(bad), "", META)
    records = [r for r in caplog.records if r.name == "codebench.space"]
    assert [(r.levelname, r.exc_info) for r in records] == [("WARNING", None)]
    line = records[0].getMessage()
    assert "\n" not in line and "refused" in line
    assert "line 1: not JSON" in line and "line 2: not JSON" in line


def _set_state(sessions, submission_id: int, status: str, category: str | None = None,
               log: str | None = None) -> None:
    from leaderboard.store.schema import Submission

    with sessions.begin() as session:
        row = session.get(Submission, submission_id)
        row.status, row.failure_category, row.failure_log = status, category, log


def test_the_message_follows_the_submission_to_its_score_and_rank(
        board_ids: list[str], tmp_path: Path) -> None:
    """Finding 9: the result said "(pending)" after the queue showed finished; now the
    page follows the queued id: pending, running, finished with its score and rank."""
    from eval_harness.tasks.base import ScoreOptions
    from leaderboard.worker import work

    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    queued = submit.submit(sessions, tmp_path, "synthetic-demo",
                           str(_file(tmp_path / "p.jsonl", board_ids)), "", META)
    assert submit.follow(sessions, queued.submission_id) == (
        "Queued as submission **#1** on `synthetic-demo`: pending, waiting for a worker.",
        False)
    _set_state(sessions, 1, "running")
    assert submit.follow(sessions, 1) == ("Submission **#1** on `synthetic-demo`: running…",
                                          False)
    _set_state(sessions, 1, "pending")
    work(sessions, tmp_path, once=True, options=ScoreOptions(embeddings=False, resamples=50))
    message, done = submit.follow(sessions, 1)
    # Every answer "Pulpitis" on a class-balanced test split of six classes: the
    # macro-F1 is that of one class out of six (precision 1/6, recall 1): 2/7/6.
    assert done and message.startswith("Submission **#1** on `synthetic-demo`: finished: ")
    assert f"finished: Macro-F1 {2 / 7 / 6:.3f}, rank 1." in message


def test_a_failure_is_said_with_its_reason_and_no_server_path(board_ids: list[str],
                                                              tmp_path: Path) -> None:
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    submit.submit(sessions, tmp_path, "synthetic-demo",
                  str(_file(tmp_path / "p.jsonl", board_ids)), "", META)
    _set_state(sessions, 1, "failed", "crash",
               "Traceback ...\nOSError: /srv/codebench/leaderboard/x.jsonl unreadable\n")
    assert submit.follow(sessions, 1) == (
        "Submission **#1** on `synthetic-demo`: failed: crash: OSError: … unreadable", True)


def test_the_parameters_field_reads_empty_as_not_given() -> None:
    """Finding 5: the field is text (Gradio's Number showed an empty value as 0): empty is
    "not given", a number is read, anything else goes on to be named by the check."""
    assert [submit.number_or_text(t) for t in ("", "  ", None, "7", " 0.5 ", "7b")] == [
        None, None, None, 7.0, 0.5, "7b"]
