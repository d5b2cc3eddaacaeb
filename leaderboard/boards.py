"""Where each board's held-out references come from (they stay on the server).

- ``code-test-600``: the published ground truths of the real COde test split, read from
  the peer runs folder (``$CODEBENCH_PEER_RUNS``); ids are the checkups' 0-based
  positions among the test rows of ``complete_dataset.csv`` (``00000``..``00599``).
- ``synthetic-demo``: the test split of the synthetic benchmark in ``$CODEBENCH_DATA_DIR``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from eval_harness.errors import DataError
from eval_harness.predictions import ReferenceSet
from leaderboard.store.schema import Board

BOARDS = ("code-test-600", "synthetic-demo")


def references_for(board: str) -> ReferenceSet:
    from eval_harness.settings import Settings, peer_runs_dir

    if board == "code-test-600":
        return _published_references(peer_runs_dir())
    if board == "synthetic-demo":
        return _synthetic_references(Settings.from_env().data_dir)
    raise DataError.single("board", f"unknown board {board!r}; boards: {', '.join(BOARDS)}")


@lru_cache(maxsize=4)
def _published_references(peer_dir: Path) -> ReferenceSet:
    from eval_harness.predictions import read_peer_run

    runs = sorted(peer_dir.glob("*/*/predictions.jsonl"))
    if not runs:
        raise DataError.single(str(peer_dir), "this server has no code-test-600 references "
                               "(the published runs folder is absent)",
                               fix="set CODEBENCH_PEER_RUNS to the pocket-dentist-code folder")
    references, _ = read_peer_run(runs[0])
    return references


def _synthetic_references(data_dir: Path) -> ReferenceSet:
    from eval_harness.api import load_split

    if not Path(data_dir).is_dir():
        raise DataError.single(str(data_dir), "the synthetic benchmark is not built",
                               fix="make demo, or set CODEBENCH_DATA_DIR")
    return load_split(Path(data_dir), "test", "en").references


def board_row(board: str, references: ReferenceSet) -> Board:
    titles = {"code-test-600": "COde test split (600 checkups)",
              "synthetic-demo": "Synthetic demo benchmark (COde layout, synthetic images)"}
    from leaderboard.standings import board_seed

    info = references.dataset_info()
    return Board(id=board, title=titles[board], n_checkups=len(references.references),
                 dataset_fingerprint=info.fingerprint,
                 reports_fingerprint=info.reports_fingerprint,
                 resamples=1000, resample_seed=board_seed(board))


def position_ids(board: str) -> dict[str, str] | None:
    """checkup id -> position id for ``code-test-600`` when this server has the COde
    folder (``$CODEBENCH_CODE_DIR``), verified: every published reference (class and
    report) must equal the folder's checkup at that position. None without the folder."""
    from eval_harness.settings import Settings, peer_runs_dir

    code_dir = Settings.from_env().code_dir
    if board != "code-test-600" or code_dir is None:
        return None
    return _verified_positions(code_dir, peer_runs_dir())


@lru_cache(maxsize=2)
def _verified_positions(code_dir: Path, peer_dir: Path) -> dict[str, str]:
    from eval_harness.data.load import load_checkups
    from eval_harness.predictions import peer_run_on_checkups

    references = _published_references(peer_dir)
    checkups = load_checkups(code_dir)
    # Raises a DataError naming the first positions whose references differ.
    peer_run_on_checkups(references, [], checkups, name="COde", source=str(code_dir))
    test = [c for c in checkups if c.split == "test"]
    return {c.checkup_id: f"{i:05d}" for i, c in enumerate(test)}
