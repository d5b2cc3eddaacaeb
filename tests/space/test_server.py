"""The running space: its API through gradio_client, and what it refuses to serve."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.space.conftest import ROOT, RunningSpace


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("target", [
    "data/complete_dataset.csv",  # the benchmark's references
    "leaderboard/leaderboard.sqlite",  # the database
    "repo:leaderboard/seeds/code-test-600.json.gz",  # the results store
    "repo:checkpoints/tiny-demo/eval/results.json",  # a results document
])
def test_held_out_files_are_never_served(space_server: RunningSpace, target: str) -> None:
    if target.startswith("repo:"):
        path = ROOT / target.removeprefix("repo:")
    else:
        path = (space_server.data_dir if target.startswith("data/")
                else space_server.leaderboard_dir) / target.split("/", 1)[1]
    assert path.is_file(), path
    for route in (f"/gradio_api/file={path}", f"/file={path}", f"/gradio_api/file=/{path}"):
        assert _status(space_server.url + route) in (403, 404), route


def test_demo_and_submission_through_the_api(space_server: RunningSpace,
                                             tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    from eval_harness.data.load import load_checkups

    checkup = next(c for c in load_checkups(space_server.data_dir) if c.split == "test")
    client = Client(space_server.url, verbose=False)
    label, report = client.predict([handle_file(str(p)) for p in checkup.photograph_paths],
                                   [handle_file(str(p)) for p in checkup.radiograph_paths],
                                   35, "Male", "pain", api_name="/home_predict")
    assert label["label"] in {c["label"] for c in label["confidences"]}
    assert any("Diagnosis" in (piece.get("token") or "") for piece in report)
    ids = [c.checkup_id for c in load_checkups(space_server.data_dir) if c.split == "test"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": ids[0], "task": "code_cls"}) + "\n")
    message, _ = client.predict("synthetic-demo", "api-model", "api-user", "", None, "", "",
                                handle_file(str(bad)), "", api_name="/submit")
    assert "Refused" in message and "'prediction' is missing" in message
