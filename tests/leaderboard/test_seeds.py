"""The committed seed: 42 published runs on code-test-600, loadable without ../shared, and
equal to a fresh scoring of the published predictions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from leaderboard.seeds import BOARD, SEED_FILE, ensure_seeded, read_seed, run_metadata
from leaderboard.store.database import open_store
from leaderboard.store.schema import SampleRecord, Submission
from tests.conftest import require_shared

ROOT = Path(__file__).resolve().parents[2]


def test_run_metadata_reads_setting_size_and_weights_from_the_folder() -> None:
    sft = run_metadata("sft", "Qwen2.5-VL-7B-Instruct-SFT")
    assert (sft["setting"], sft["params_billion"], sft["base_model"], sft["open_weights"]) == (
        "fine-tuned", 7.0, "Qwen2.5-VL-7B-Instruct", True)
    assert run_metadata("2shot", "SmolVLM2-2.2B-Instruct")["params_billion"] == 2.2
    assert run_metadata("1shot", "Qwen3.5-4B")["params_billion"] == 4.0
    gemini = run_metadata("baseline", "gemini-2.5-flash")
    assert (gemini["setting"], gemini["params_billion"], gemini["open_weights"]) == (
        "zero-shot", None, False)
    assert gemini["provenance"]["commit"] == "416efab189d7262935e402799ba4fceede8666f8"


def test_seed_file_holds_no_prediction_or_reference_report_text() -> None:
    seed = read_seed()
    assert len(seed["runs"]) == 42
    for run in seed["runs"][:5]:
        for sample in run["samples"]:
            assert "prediction" not in sample
            # Report samples carry a hash of their reference, never its text.
            assert not any(isinstance(v, str) and len(v) > 120 for v in sample.values())


def test_fresh_clone_lists_42_rows_with_cis_rank_bounds_and_provenance(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "leaderboard", "list", "--board", BOARD, "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
             "CODEBENCH_LEADERBOARD_DIR": str(tmp_path / "lb"),
             "CODEBENCH_PEER_RUNS": str(tmp_path / "absent")})
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout)
    assert len(rows) == 42
    assert all(r["ci_low"] <= r["value"] <= r["ci_high"] for r in rows)
    assert all(1 <= r["rank_low"] <= r["rank_high"] <= 42 for r in rows)
    lows = [r["rank_low"] for r in rows]
    assert lows == sorted(lows)  # listed by rank bound
    # The nine fine-tuned runs at 0.790-0.812 macro-F1 are statistical ties: they share
    # rank 1 and their intervals overlap; the 0.000 row is ranked behind at least 30.
    top = [r for r in rows if r["setting"] == "fine-tuned" and r["value"] > 0.78]
    assert len(top) == 9 and all(r["rank_low"] == 1 for r in top)
    assert max(r["rank_low"] for r in top) <= min(r["rank_high"] for r in top)
    bottom = min(rows, key=lambda r: r["value"])
    assert bottom["value"] == 0.0 and bottom["rank_low"] >= 30
    assert all(r["rank_upper_bound"] == r["rank_low"] for r in rows)
    assert all(r["provenance"]["source"].startswith("https://github.com/") for r in rows)
    assert {r["setting"] for r in rows} == {"zero-shot", "few-shot", "fine-tuned"}


def test_seeding_twice_adds_nothing(sqlite_url: str) -> None:
    from leaderboard.store.schema import Board

    sessions = open_store(sqlite_url)
    assert ensure_seeded(sessions) == 42
    assert ensure_seeded(sessions) == 0
    with sessions() as session:  # pinned to the published references' fingerprints
        board = session.get(Board, BOARD)
        assert board.dataset_fingerprint.startswith("5ce95ad11179")
        assert board.reports_fingerprint.startswith("c6485220b4ff")
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 42
        per_run = session.scalar(sa.select(sa.func.count()).select_from(SampleRecord)) / 42
    assert per_run == 1200  # 600 checkups x 2 tasks, failures included


@pytest.mark.parametrize("folder", ["sft/Qwen2.5-VL-7B-Instruct-SFT", "baseline/gemini-2.5-flash",
                                    "2shot/MedMO-8B-Next"])
def test_seeded_figures_equal_a_fresh_scoring(folder: str) -> None:
    from eval_harness import api
    from eval_harness.predictions import read_peer_run
    from eval_harness.tasks.base import ScoreOptions

    peer = require_shared()
    references, predictions = read_peer_run(peer / folder)
    fresh = api.score_predictions(predictions, references, ScoreOptions(embeddings=False))
    setting, name = folder.split("/")
    run = next(r for r in read_seed()["runs"]
               if r["model_name"] == run_metadata(setting, name)["model_name"])
    for task, result in fresh.document.tasks.items():
        stored = run["document"]["tasks"][task]["metrics"]
        for metric, entry in result.metrics.items():
            assert stored[metric].get("value") == entry.get("value"), (task, metric)
            assert stored[metric].get("ci") == (list(entry["ci"]) if entry.get("ci") else None)


def test_seed_file_is_committed() -> None:
    assert SEED_FILE.is_file() and SEED_FILE.stat().st_size < 8 * 2**20


def test_synthetic_board_holds_the_baselines_and_the_trained_tiny_demo(sqlite_url: str,
                                                                       tmp_path: Path) -> None:
    from eval_harness.tasks.base import ScoreOptions
    from leaderboard.seeds import seed_synthetic
    from leaderboard.views import ranked

    sessions = open_store(sqlite_url)
    data = tmp_path / "demo-data"
    options = ScoreOptions(embeddings=False, resamples=100)
    assert seed_synthetic(sessions, data, options) == 3
    assert seed_synthetic(sessions, data, options) == 0  # once per data fingerprint
    with sessions() as session:
        rows = ranked(session, "synthetic-demo", "code_cls")
    by_name = {r["model"].split(" ")[0]: r for r in rows}
    assert set(by_name) == {"majority", "random", "tiny-demo"}
    # The trained checkpoint beats both baselines, and the board says so with its bounds.
    assert by_name["tiny-demo"]["value"] > by_name["random"]["value"] + 0.2
    assert by_name["tiny-demo"]["rank_upper_bound"] == 1
    assert by_name["majority"]["rank_upper_bound"] >= 2
    # Named from what was loaded: the synthetic benchmark, never "COde".
    assert {r["provenance"]["dataset"] for r in rows} == {"COde-synthetic"}
