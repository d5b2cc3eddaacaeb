"""The embedded defaults on a fresh start (issue 22): the synthetic-demo board has its
baselines and the tiny-demo row from the committed seed when the data is the demo's own
benchmark (and only then); `leaderboard boards` lists every board with its rows and
whether this server scores it; `submit` without --board picks the first it can score."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from leaderboard.seeds import DEMO_CHECKUPS, DEMO_SEED, ensure_seeded
from leaderboard.store.database import open_store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's own benchmark, as `make demo` and `python app.py` build it."""
    from eval_harness.data.synth import generate

    out = tmp_path_factory.mktemp("demo") / "data"
    generate(out, DEMO_CHECKUPS, seed=DEMO_SEED)
    return out


def _rows(sessions, board: str) -> list[dict]:
    from leaderboard.views import ranked

    with sessions() as session:
        return ranked(session, board, "code_cls")


def test_a_fresh_store_on_the_demo_data_shows_the_demo_rows(sqlite_url: str,
                                                            demo_data: Path) -> None:
    """Was: "no board 'synthetic-demo'" until `seed --synthetic` or a submission."""
    sessions = open_store(sqlite_url)
    assert ensure_seeded(sessions, data_dir=demo_data) == 42 + 3
    names = {r["model"] for r in _rows(sessions, "synthetic-demo")}
    assert names == {"majority baseline", "random baseline",
                     "tiny-demo (tiny Qwen2.5-VL, synthetic data)"}
    # The majority baseline answers one class for every checkup: one class in six is
    # right at best, so its macro-F1 is far below the trained model's.
    scores = {r["model"]: r["value"] for r in _rows(sessions, "synthetic-demo")}
    assert scores["majority baseline"] < 0.1 < scores[
        "tiny-demo (tiny Qwen2.5-VL, synthetic data)"]
    assert ensure_seeded(sessions, data_dir=demo_data) == 0  # once


def test_other_synthetic_data_gets_no_rows_scored_on_the_demo_data(
        sqlite_url: str, synth_dir: Path) -> None:
    """Rows scored on other references would not be comparable: not loaded."""
    from leaderboard.views import boards

    sessions = open_store(sqlite_url)
    assert ensure_seeded(sessions, data_dir=synth_dir) == 42
    with sessions() as session:
        assert "synthetic-demo" not in boards(session)


def _board_cli(tmp_path: Path, *args: str, data: Path, peer_runs: Path
               ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CODEBENCH_DB_URL"}
    env |= {"CODEBENCH_LEADERBOARD_DIR": str(tmp_path / "board"),
            "CODEBENCH_DATA_DIR": str(data), "CODEBENCH_PEER_RUNS": str(peer_runs),
            "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "leaderboard", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_boards_lists_rows_and_what_this_server_scores(tmp_path: Path,
                                                       demo_data: Path) -> None:
    done = _board_cli(tmp_path, "boards", "--json", data=demo_data,
                      peer_runs=tmp_path / "absent")
    assert done.returncode == 0, done.stderr
    found = {b["id"]: (b["rows"], b["scorable"]) for b in json.loads(done.stdout)}
    # The published rows show from the seed, but without the published references this
    # server cannot score a new submission to code-test-600.
    assert found == {"code-test-600": (42, False), "synthetic-demo": (3, True)}
    text = _board_cli(tmp_path, "boards", data=tmp_path / "no-data",
                      peer_runs=tmp_path / "absent")
    assert text.returncode == 0, text.stderr
    assert text.stdout.count("not scored here") == 2 and "synthetic-demo" in text.stdout


def test_submit_without_a_board_picks_the_first_this_server_scores(
        tmp_path: Path, demo_data: Path) -> None:
    """Was: the default code-test-600, refused on a server without the published runs."""
    from eval_harness.api import load_split

    ids = [c.checkup_id for c in load_split(demo_data, "test", "en").checkups]
    upload = tmp_path / "predictions.jsonl"
    upload.write_text("".join(json.dumps({"id": i, "task": "code_cls",
                                          "prediction": "Pulpitis"}) + "\n" for i in ids))
    done = _board_cli(tmp_path, "submit", str(upload), "--model-name", "m",
                      "--submitter", "ann", data=demo_data, peer_runs=tmp_path / "absent")
    assert done.returncode == 0, done.stderr
    assert "board: synthetic-demo (the first this server can score" in done.stderr
    assert "queued on synthetic-demo" in done.stdout
