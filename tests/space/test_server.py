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


FILE_ROUTE = "/gradio_api/file={}"  # Gradio 6's file route
# Other spellings a prober tries: a doubled slash (refused even for the cache) and
# Gradio 3's route (gone since 4). Neither may serve anything.
OTHER_ROUTES = ("/gradio_api/file=/{}", "/file={}")


@pytest.fixture(scope="module")
def control_file(space_server: RunningSpace) -> Path:
    """A file in Gradio's own cache: what the file route is there to serve."""
    cached = space_server.gradio_dir / "control.txt"
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text("control")
    return cached


def test_the_file_route_serves_the_cache_and_other_spellings_serve_nothing(
        space_server: RunningSpace, control_file: Path) -> None:
    """The control for the refusals below: were the route renamed, the refusals would
    read 404 and prove nothing; this fails instead."""
    assert _status(space_server.url + FILE_ROUTE.format(control_file)) == 200
    for route in OTHER_ROUTES:
        assert _status(space_server.url + route.format(control_file)) in (403, 404), route


@pytest.mark.parametrize("target", [
    "data/complete_dataset.csv",  # the benchmark's references
    "leaderboard/leaderboard.sqlite",  # the database
    "repo:leaderboard/seeds/code-test-600.json.gz",  # the results store
    "repo:checkpoints/tiny-demo/eval/results.json",  # a results document
])
def test_held_out_files_are_never_served(space_server: RunningSpace, target: str) -> None:
    """Refused by blocked_paths: 403, on the route that serves the cache."""
    if target.startswith("repo:"):
        path = ROOT / target.removeprefix("repo:")
    else:
        path = (space_server.data_dir if target.startswith("data/")
                else space_server.leaderboard_dir) / target.split("/", 1)[1]
    assert path.is_file(), path
    assert _status(space_server.url + FILE_ROUTE.format(path)) == 403
    for route in OTHER_ROUTES:
        assert _status(space_server.url + route.format(path)) in (403, 404), route


def test_demo_and_submission_through_the_api(space_server: RunningSpace,
                                             tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    from eval_harness.data.load import load_checkups

    checkup = next(c for c in load_checkups(space_server.data_dir) if c.split == "test")
    client = Client(space_server.url, verbose=False)
    # The outputs: class (task 1), the line on whether the two answers agree, report (task 2).
    label, agreement, report = client.predict(
        [handle_file(str(p)) for p in checkup.photograph_paths],
        [handle_file(str(p)) for p in checkup.radiograph_paths], 35, "Male", "pain",
        api_name="/home_predict")
    assert agreement.startswith(("Both answers name", "The two answers differ"))
    assert label["label"] in {c["label"] for c in label["confidences"]}
    assert any("Diagnosis" in (piece.get("token") or "") for piece in report)
    ids = [c.checkup_id for c in load_checkups(space_server.data_dir) if c.split == "test"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": ids[0], "task": "code_cls"}) + "\n")
    message, _ = client.predict("synthetic-demo", "api-model", "api-user", "", None, "", "",
                                handle_file(str(bad)), "", api_name="/submit")
    assert "Refused" in message and "'prediction' is missing" in message
