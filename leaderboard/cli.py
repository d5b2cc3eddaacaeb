"""`python -m leaderboard`: the board's commands (exit codes as `python -m eval_harness`).

- ``db upgrade``: create or migrate the database (`CODEBENCH_DB_URL`, else SQLite in
  `CODEBENCH_LEADERBOARD_DIR`).
- ``seed``: score the published runs into the committed seed file (needs ../shared), then
  load it; without ``--peer-dir`` contents it only loads the committed file.
- ``list``: a board's ranked rows for a task (``--json`` for a list of row objects).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from eval_harness.cli import _dispatch, _OneLineErrors
from eval_harness.errors import UsageError


def _sessions(args: argparse.Namespace):
    from leaderboard.seeds import ensure_seeded
    from leaderboard.store.database import open_store

    sessions = open_store(args.db)
    ensure_seeded(sessions)
    return sessions


def _upgrade(args: argparse.Namespace) -> int:
    from leaderboard.store.database import default_url, make_engine, upgrade

    url = args.db or default_url()
    upgrade(make_engine(url))
    print(f"database at the latest schema: {url.split('@')[-1]}")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from eval_harness.settings import peer_runs_dir
    from leaderboard.seeds import SEED_FILE, build_seed

    peer_dir = args.peer_dir or peer_runs_dir()
    if args.build:
        if not peer_dir.is_dir():
            raise UsageError(f"published runs not found at {peer_dir} (set CODEBENCH_PEER_RUNS "
                             "or pass --peer-dir)")
        summary = build_seed(peer_dir, SEED_FILE, workers=args.workers,
                             embeddings=args.embeddings)
        print(f"scored {summary['runs']} published runs, {summary['comparisons']} paired "
              f"comparisons -> {summary['path']}")
    _sessions(args)
    print("board code-test-600 seeded")
    return 0


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _list(args: argparse.Namespace) -> int:
    from leaderboard.views import ranked

    sessions = _sessions(args)
    with sessions() as session:
        try:
            rows = ranked(session, args.board, args.task, setting=args.setting)
        except LookupError as error:
            raise UsageError(str(error.args[0])) from None
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
        return 0
    print(f"{args.board} / {args.task}: {len(rows)} rows, primary metric "
          f"{rows[0]['metric'] if rows else '—'} (95% CI); rank = upper bound (ties share it)")
    for row in rows:
        print(f"{row['rank_upper_bound']:>4}  {row['model'][:44]:<44} {_fmt(row['value'])} "
              f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]  {row['setting'] or '—'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineErrors(prog="python -m leaderboard",
                            description="COde-Bench leaderboard: store, seeds and views.")
    parser.add_argument("--db", default=None,
                        help="database URL (default: $CODEBENCH_DB_URL, else SQLite in "
                             "$CODEBENCH_LEADERBOARD_DIR)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command",
                                                                     required=True)
    db.add_parser("upgrade", help="create or migrate to the latest schema").set_defaults(
        handler=_upgrade)
    seed = sub.add_parser("seed", help="load the published runs into code-test-600")
    seed.add_argument("--build", action="store_true",
                      help="rescore the published runs into the committed seed file first")
    seed.add_argument("--peer-dir", type=Path, default=None)
    seed.add_argument("--workers", type=int, default=2)
    seed.add_argument("--embeddings", action="store_true",
                      help="also MiniLM cosine (slow the first time)")
    seed.set_defaults(handler=_seed)
    listing = sub.add_parser("list", help="a board's ranked rows")
    listing.add_argument("--board", default="code-test-600")
    listing.add_argument("--task", default="code_cls")
    listing.add_argument("--setting", choices=("zero-shot", "few-shot", "fine-tuned"))
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status = _dispatch(args)
    sys.stdout.flush()
    return status
