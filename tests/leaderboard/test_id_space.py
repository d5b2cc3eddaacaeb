"""code-test-600's one id space: position ids always, COde checkup ids where the server
has the COde folder, verified against the published references. Tested on a synthetic
folder and a fake published run built from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_harness.data.load import load_checkups
from leaderboard.boards import _published_references, _verified_positions
from leaderboard.store.database import open_store
from leaderboard.submissions import Rejected, submit_predictions
from tests.leaderboard.test_submissions import META


def _fake_published_run(code_dir: Path, out: Path) -> Path:
    """What the public harness writes: ids by position among the CSV's test rows."""
    test = [c for c in load_checkups(code_dir) if c.split == "test"]
    run = out / "sft" / "Fake-SFT"
    run.mkdir(parents=True)
    rows = []
    for i, c in enumerate(test):
        rows.append({"id": f"code_cls_{i:05d}", "task": "code_classification",
                     "ground_truth": c.primary, "prediction": c.primary, "failed": False})
        rows.append({"id": f"code_rpt_{i:05d}", "task": "code_report",
                     "ground_truth": c.reference_report, "prediction": "x", "failed": False})
    (run / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out


@pytest.fixture
def server(synth_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _published_references.cache_clear()
    _verified_positions.cache_clear()
    monkeypatch.setenv("CODEBENCH_PEER_RUNS", str(_fake_published_run(synth_dir,
                                                                      tmp_path / "peer")))
    test = [c for c in load_checkups(synth_dir) if c.split == "test"]
    yield open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}"), test
    _published_references.cache_clear()
    _verified_positions.cache_clear()


def _cls(ids: list[str], answers: list[str]) -> bytes:
    return "".join(json.dumps({"id": i, "task": "code_cls", "prediction": a}) + "\n"
                   for i, a in zip(ids, answers, strict=True)).encode()


def test_checkup_ids_map_to_positions_when_the_folder_is_here(server, synth_dir: Path,
                                                              tmp_path: Path,
                                                              monkeypatch) -> None:
    sessions, test = server
    answers = [c.primary for c in test]
    by_position = _cls([f"{i:05d}" for i in range(len(test))], answers)
    by_checkup = _cls([c.checkup_id for c in reversed(test)], list(reversed(answers)))
    monkeypatch.delenv("CODEBENCH_CODE_DIR", raising=False)
    with pytest.raises(Rejected, match=r"this server has no COde folder.*position ids"):
        submit_predictions(sessions, "code-test-600", by_checkup, META, folder=tmp_path)
    first = submit_predictions(sessions, "code-test-600", by_position, META, folder=tmp_path)
    monkeypatch.setenv("CODEBENCH_CODE_DIR", str(synth_dir))
    again = submit_predictions(sessions, "code-test-600", by_checkup, META, folder=tmp_path)
    # Same answers for the same checkups, keyed the other way: the same submission.
    assert (again.submission_id, again.duplicate) == (first.submission_id, True)


def test_a_folder_that_does_not_match_the_published_run_is_named(server, tmp_path: Path,
                                                                monkeypatch) -> None:
    from eval_harness.data.synth import generate

    sessions, _ = server
    other = tmp_path / "other-code"
    generate(other, 48, seed=8)  # another release: its references differ
    monkeypatch.setenv("CODEBENCH_CODE_DIR", str(other))
    ids = [c.checkup_id for c in load_checkups(other) if c.split == "test"]
    with pytest.raises(Rejected, match=r"references differ .* e\.g\. 00000"):
        submit_predictions(sessions, "code-test-600", _cls(ids, ["Pulpitis"] * len(ids)),
                           META, folder=tmp_path)
