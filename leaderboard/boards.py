"""Where each board's held-out references come from (they stay on the server).

- ``code-test-600``: the published ground truths of the real COde test split, read from
  the peer runs folder (``$CODEBENCH_PEER_RUNS``); ids are the checkups' 0-based
  positions among the test rows of ``complete_dataset.csv`` (``00000``..``00599``).
- ``synthetic-demo``: the test split of the synthetic benchmark in ``$CODEBENCH_DATA_DIR``.

A server scores only the boards whose references it holds (``scorable_boards``): the
submit form offers those, and a submission to another board is refused without naming
any server folder (the folders are for the operator's log).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from eval_harness.errors import DataError
from eval_harness.predictions import ReferenceSet
from leaderboard.store.schema import Board

# Every board, in the order pages list them.
BOARDS = ("code-test-600", "synthetic-demo")
TITLES = {"code-test-600": "COde test split (600 checkups)",
          "synthetic-demo": "Synthetic demo benchmark (COde layout, synthetic images)"}


def scorable_boards() -> tuple[str, ...]:
    """The boards this server can score now: those whose held-out references are here
    (the published runs for ``code-test-600``, the built synthetic benchmark for
    ``synthetic-demo``). Checked on each call: folders may appear while the app runs."""
    from eval_harness.settings import Settings, peer_runs_dir

    present = {"code-test-600": bool(_peer_runs(peer_runs_dir())),
               "synthetic-demo": (Settings.from_env().data_dir
                                  / "complete_dataset.csv").is_file()}
    return tuple(board for board in BOARDS if present[board])


def _peer_runs(peer_dir: Path) -> list[Path]:
    """The published runs' prediction files (each holds the board's references)."""
    return sorted(Path(peer_dir).glob("*/*/predictions.jsonl"))


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

    runs = _peer_runs(peer_dir)
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
    from leaderboard.standings import board_seed

    info = references.dataset_info()
    return Board(id=board, title=TITLES[board], n_checkups=len(references.references),
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
