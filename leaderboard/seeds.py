"""The published runs on the real COde test split, as rows of the ``code-test-600`` board.

``build_seed`` scores every run under ../shared/data/peer-runs/pocket-dentist-code through
the harness API (``score_many``) and writes one compressed JSON file,
``leaderboard/seeds/code-test-600.json.gz``, that is committed: a clone without ../shared
still shows all the rows. ``ensure_seeded`` loads that file into a store once.

The file holds figures, per-class rows and per-sample records without prediction text
(correctness, per-sample metric values, findings); never a reference report. Loading it
computes each row's replicates on the board's resample plan and the board's standings.
Each row says where it came from: the public repository, its commit and folder, and that
this harness scored it from the published predictions.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from eval_harness.api import Scored
from eval_harness.results import ResultsDocument
from leaderboard import standings
from leaderboard.ingest import record_scored, stored_sample
from leaderboard.store.schema import Board, Event, Submission

BOARD = "code-test-600"
SEED_FILE = Path(__file__).resolve().parent / "seeds" / f"{BOARD}.json.gz"
SOURCE_REPO = "https://github.com/Kyle17888/pocket-dentist"
SOURCE_COMMIT = "416efab189d7262935e402799ba4fceede8666f8"
SOURCE_FOLDER = "results/datasets/code"
SETTINGS = {"baseline": "zero-shot", "1shot": "few-shot", "2shot": "few-shot",
            "sft": "fine-tuned"}
CLOSED = ("gemini",)  # families whose weights are not published
SCHEMA = "codebench.seed/v1"


def board_row(dataset: dict[str, Any]) -> Board:
    """The board, pinned to the published references' fingerprints (from a seed run's
    results: every published run was scored against the same references)."""
    return Board(id=BOARD, title="COde test split (600 checkups)",
                 description="The real COde test split: 600 checkups, 100 per class; "
                             "references from the published ground truths.",
                 n_checkups=600, dataset_fingerprint=dataset["fingerprint"],
                 reports_fingerprint=dataset.get("reports_fingerprint"),
                 resamples=1000, resample_seed=standings.board_seed(BOARD))


def run_metadata(setting_dir: str, name: str) -> dict[str, Any]:
    """What the folder name says about a published run (size read from the name)."""
    sizes = re.findall(r"(\d+(?:\.\d+)?)[Bb](?![a-z])", name)
    return {"model_name": f"{name} ({setting_dir})", "setting": SETTINGS[setting_dir],
            "base_model": name.removesuffix("-SFT") if setting_dir == "sft" else None,
            "params_billion": float(sizes[-1]) if sizes else None,
            "open_weights": not name.lower().startswith(CLOSED),
            "provenance": {"source": SOURCE_REPO, "commit": SOURCE_COMMIT,
                           "folder": f"{SOURCE_FOLDER}/{setting_dir}/{name}",
                           "scored_by": "this harness, from the published predictions"}}


def _submission(meta: dict[str, Any], content_hash: str) -> Submission:
    return Submission(board_id=BOARD, kind="seed", submitter="published runs",
                      content_hash=content_hash, model_name=meta["model_name"],
                      setting=meta["setting"], base_model=meta["base_model"],
                      params_billion=meta["params_billion"],
                      open_weights=meta["open_weights"], link=meta["provenance"]["source"],
                      provenance=meta["provenance"],
                      events=[Event(status="pending", detail="published run imported")])


def build_seed(peer_dir: Path, out: Path = SEED_FILE, *, workers: int = 2,
               embeddings: bool = False) -> dict[str, Any]:
    """Score every published run and write the seed file; returns its summary."""
    from eval_harness import api
    from eval_harness.hashing import sha256_file
    from eval_harness.tasks.base import ScoreOptions

    runs, jobs = api.peer_run_jobs(peer_dir)
    scored_runs = list(api.score_many(jobs, ScoreOptions(embeddings=embeddings),
                                      workers=workers))
    entries = [(run_metadata(run.parent.name, run.name), sha256_file(run / "predictions.jsonl"),
                scored) for run, scored in zip(runs, scored_runs, strict=True)]
    _write_seed(BOARD, entries, out)
    return {"runs": len(entries), "path": str(out)}


def _write_seed(board: str, entries: list[tuple[dict[str, Any], str, Scored]],
                out: Path) -> None:
    """The seed file of ``board``: each run's metadata, scores and per-sample records,
    written whole or not at all."""
    document = {"schema": SCHEMA, "board": board,
                "runs": [{"content_hash": digest, **meta,
                          "document": scored.document.to_dict(),
                          "samples": [stored_sample(x) for x in scored.samples]}
                         for meta, digest, scored in entries]}
    from eval_harness.atomic import write_atomically

    text = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    write_atomically(out, [gzip.compress(text, mtime=0)])  # mtime=0: same runs, same bytes


def read_seed(path: Path = SEED_FILE) -> dict[str, Any]:
    with gzip.open(path, "rb") as handle:
        document = json.loads(handle.read())
    if document.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a {SCHEMA} file")
    return document


def load_seed(session: Session, path: Path = SEED_FILE) -> int:
    """Insert the seed file's rows (and the board) into a board without seed rows; 0 if
    seeded. Processes starting together wait on the board's lock, and the later ones
    find it seeded."""
    seed = read_seed(path)
    board = seed["board"]
    standings.lock_board(session, board)
    if session.scalar(sa.select(sa.func.count()).select_from(Submission).where(
            Submission.board_id == board, Submission.kind == "seed")):
        return 0
    if session.get(Board, board) is None:
        session.add(_seed_board(board, seed))
    for run in seed["runs"]:
        submission = (_submission(run, run["content_hash"]) if board == BOARD
                      else _synthetic_submission(run))
        session.add(submission)
        scored = Scored(ResultsDocument.from_dict(run["document"]), run["samples"])
        record_scored(session, submission, scored, recompute=False,
                      detail="imported from the committed seed")
    standings.recompute(session, board)
    return len(seed["runs"])


def _seed_board(board: str, seed: dict[str, Any]) -> Board:
    dataset = seed["runs"][0]["document"]["dataset"]
    if board == BOARD:
        return board_row(dataset)
    from leaderboard.boards import TITLES

    return Board(id=board, title=TITLES[board], n_checkups=dataset["size"],
                 dataset_fingerprint=dataset["fingerprint"],
                 reports_fingerprint=dataset.get("reports_fingerprint"),
                 resamples=1000, resample_seed=standings.board_seed(board))


def ensure_seeded(sessions: sessionmaker[Session], path: Path = SEED_FILE,
                  data_dir: Path | None = None) -> int:
    """Load the committed seeds once, each in one transaction (all rows or none): the
    published runs always; the synthetic-demo rows when ``data_dir`` holds the very
    benchmark they were scored on (its references' fingerprint), since rows scored on
    other references would not be comparable. Returns rows added."""
    with sessions.begin() as session:
        added = load_seed(session, path)
    if data_dir is not None and synthetic_seed_fits(data_dir):
        with sessions.begin() as session:
            added += load_seed(session, SYNTHETIC_SEED_FILE)
    return added


def synthetic_seed_fits(data_dir: Path) -> bool:
    """Whether the committed synthetic-demo seed was scored on ``data_dir``'s test split."""
    from eval_harness import api

    if not (Path(data_dir) / "complete_dataset.csv").is_file():
        return False
    seeded = read_seed(SYNTHETIC_SEED_FILE)["runs"][0]["document"]["dataset"]["fingerprint"]
    info = api.load_split(Path(data_dir), "test", "en").references.dataset_info()
    return info.fingerprint == seeded


#: The synthetic-demo board's own rows: the baselines and the shipped tiny-demo checkpoint.
SYNTHETIC_MODELS = (
    ("majority baseline", "majority", {}),
    ("random baseline", "random", {}),
    ("tiny-demo (tiny Qwen2.5-VL, synthetic data)", "hf", {"checkpoint": "tiny-demo"}),
)
DEMO_CHECKUPS, DEMO_SEED = 300, 1  # as `make demo`: a seed the tiny-demo never trained on


SYNTHETIC_SEED_FILE = SEED_FILE.parent / "synthetic-demo.json.gz"


def _synthetic_meta(name: str, backend: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"model_name": name, "payload": {"backend": backend, "model_args": args},
            "setting": "fine-tuned" if backend == "hf" else None,
            "provenance": {"source": "this repository", "scored_by": "this harness",
                           "data": f"synthetic, {DEMO_CHECKUPS} checkups, seed {DEMO_SEED}"}}


def _synthetic_submission(meta: dict[str, Any]) -> Submission:
    return Submission(board_id="synthetic-demo", kind="seed", submitter="COde-Bench",
                      content_hash=meta["content_hash"], model_name=meta["model_name"],
                      payload=meta["payload"], setting=meta["setting"], open_weights=True,
                      params_billion=None, provenance=meta["provenance"],
                      events=[Event(status="pending", detail="demo row")])


def _scored_synthetic(data_dir: Path, options, skip=lambda digest: False):
    """Each demo model scored on ``data_dir``'s synthetic test split (generated first
    when absent): yields (metadata with its content hash, scored, references)."""
    from eval_harness import api
    from eval_harness.data.synth import generate

    if not (data_dir / "complete_dataset.csv").is_file():
        generate(data_dir, DEMO_CHECKUPS, seed=DEMO_SEED)
    split = api.load_split(data_dir, "test", "en")
    for name, backend, args in SYNTHETIC_MODELS:
        digest = f"seed:{name}:{split.references.dataset_info().fingerprint}"
        if skip(digest):
            continue
        # The harness's one evaluation path (the run command's cache and prompt options).
        scored = api.evaluate_on(split, backend, args, ["code_cls", "code_report"], options)
        yield {"content_hash": digest, **_synthetic_meta(name, backend, args)}, scored, \
            split.references


def seed_synthetic(sessions: sessionmaker[Session], data_dir: Path, options) -> int:
    """Score the baselines and the tiny-demo on the synthetic test split into
    ``synthetic-demo`` (any synthetic data: the committed seed covers only the demo's
    own); returns rows added."""
    from leaderboard.boards import board_row as synthetic_board

    def stored(digest: str) -> bool:
        with sessions() as session:
            return session.scalar(sa.select(Submission.id).where(
                Submission.board_id == "synthetic-demo",
                Submission.content_hash == digest)) is not None

    added = 0
    for meta, scored, references in _scored_synthetic(data_dir, options, skip=stored):
        with sessions.begin() as session:
            if session.get(Board, "synthetic-demo") is None:
                session.add(synthetic_board("synthetic-demo", references))
            submission = _synthetic_submission(meta)
            session.add(submission)
            record_scored(session, submission, scored, detail="scored by this harness")
        added += 1
    return added


def build_synthetic_seed(data_dir: Path, options, out: Path = SYNTHETIC_SEED_FILE
                         ) -> dict[str, Any]:
    """Score the demo models on the demo's synthetic benchmark (seed DEMO_SEED, as
    ``make demo`` and the app build it) and write the committed synthetic-demo seed."""
    entries = [(meta, meta["content_hash"], scored)
               for meta, scored, _ in _scored_synthetic(data_dir, options)]
    _write_seed("synthetic-demo", [({k: v for k, v in meta.items() if k != "content_hash"},
                                    digest, scored) for meta, digest, scored in entries], out)
    return {"runs": len(entries), "path": str(out)}
