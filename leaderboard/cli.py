"""`python -m leaderboard`: the board's commands (exit codes as `python -m eval_harness`).

- ``db upgrade``: create or migrate the database (`CODEBENCH_DB_URL`, else SQLite in
  `CODEBENCH_LEADERBOARD_DIR`).
- ``seed``: score the published runs into the committed seed file (needs ../shared), then
  load it; without ``--peer-dir`` contents it only loads the committed file.
- ``list``: a board's ranked rows for a task (``--json`` for a list of row objects).
- ``submit FILE`` or ``submit --model-spec JSON``: validate and queue a predictions file
  or a model (exit 1 with every reason when it is refused; nothing is stored then).
- ``status ID``: a submission's state, its history and, when it failed, why.
- ``show ID``: a row's provenance, reproduce command and per-class F1 with CIs.
- ``export``: a board's ranked rows as CSV (formula cells neutralised) or JSON.
- ``withdraw ID --reason``: off the board for good; the row and its history stay.
- ``rescore``: recompute a board's rows from what was stored, with this scorer.
- ``worker [--once]``: score queued submissions through the harness.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from eval_harness import cli_runtime
from eval_harness.cli_runtime import OneLineErrors
from eval_harness.errors import UsageError


def _sessions(args: argparse.Namespace):
    from eval_harness.settings import Settings
    from leaderboard.seeds import ensure_seeded
    from leaderboard.store.database import open_store

    sessions = open_store(args.db)
    ensure_seeded(sessions, data_dir=Settings.from_env().data_dir)
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
    if args.build and not args.synthetic:
        if not peer_dir.is_dir():
            raise UsageError(f"published runs not found at {peer_dir} (set CODEBENCH_PEER_RUNS "
                             "or pass --peer-dir)")
        summary = build_seed(peer_dir, SEED_FILE, workers=args.workers,
                             embeddings=args.embeddings)
        print(f"scored {summary['runs']} published runs -> {summary['path']}")
    sessions = _sessions(args)
    print("board code-test-600 seeded")
    if args.synthetic:
        from eval_harness.settings import Settings
        from eval_harness.tasks.base import ScoreOptions
        from leaderboard.seeds import build_synthetic_seed, seed_synthetic

        options = ScoreOptions(embeddings=args.embeddings)
        if args.build:  # on a fresh copy of the demo's benchmark, whatever DATA_DIR holds
            import tempfile

            with tempfile.TemporaryDirectory() as scratch:
                summary = build_synthetic_seed(Path(scratch) / "data", options)
            print(f"scored {summary['runs']} demo rows -> {summary['path']}")
        added = seed_synthetic(sessions, Settings.from_env().data_dir, options)
        print(f"board synthetic-demo: {added} row(s) added (baselines and tiny-demo)")
    return 0


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _ranked(args: argparse.Namespace, **filters) -> list[dict]:
    """The board's ranked rows; an unknown board is a usage error naming the boards."""
    from leaderboard.views import ranked

    with _sessions(args)() as session:
        try:
            return ranked(session, args.board, args.task, **filters)
        except LookupError as error:
            raise UsageError(str(error.args[0])) from None


def _interval(row: dict) -> str:
    """"3–7" (a row's rank interval), "3" when it is one rank, "—" when unranked."""
    low, high = row.get("rank_low"), row.get("rank_high")
    if low is None:
        return "—"
    return str(low) if low == high else f"{low}–{high}"


def _list(args: argparse.Namespace) -> int:
    rows = _ranked(args, rank_by=args.rank_by, setting=args.setting)
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
        return 0
    metric = rows[0]["metric"] if rows else (args.rank_by or "its primary metric")
    print(f"{args.board} / {args.task}: {len(rows)} rows by {metric} (95% CI); rank = the "
          "row's 95% rank interval (rows the board cannot separate share ranks)")
    for row in rows:
        print(f"{_interval(row):>7}  {row['model'][:44]:<44} {_fmt(row['value'])} "
              f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]  {row['setting'] or '—':<10} "
              f"{_source(row)}")
    return 0


def _source(row: dict) -> str:
    """Where a row came from, in a few words (``show ID`` gives the whole provenance)."""
    provenance = row.get("provenance") or {}
    if provenance.get("commit"):
        repo = provenance["source"].removeprefix("https://github.com/")
        return f"published run, {repo}@{provenance['commit'][:7]}, scored here"
    scorer = "" if row.get("current_scorer") else f" (harness {row['harness_version']})"
    return f"submitted by {row['submitter']}{scorer}"


def _folder():
    from eval_harness.settings import Settings

    return Settings.from_env().leaderboard_dir


def _boards(args: argparse.Namespace) -> int:
    from leaderboard.boards import scorable_boards
    from leaderboard.views import board_summaries

    with _sessions(args)() as session:
        found = board_summaries(session)
    scorable = scorable_boards()
    for board in found:
        board["scorable"] = board["id"] in scorable
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    for board in found:
        can = ("this server scores submissions to it" if board["scorable"] else
               "not scored here (its held-out references are not on this server)")
        print(f"{board['id']}: {board['title']}; {board['rows']} row(s), "
              f"{board['pending']} waiting; {can}")
    return 0


def _board_to_submit(board: str | None) -> str:
    """``--board``, else the first board this server can score (said on stderr)."""
    from leaderboard.boards import scorable_boards

    if board is not None:
        return board
    scorable = scorable_boards()
    if not scorable:
        raise UsageError("this server can score no board: build the synthetic benchmark "
                         "(make demo) or set CODEBENCH_PEER_RUNS to the published runs")
    print(f"board: {scorable[0]} (the first this server can score; --board to choose)",
          file=sys.stderr)
    return scorable[0]


def _submit(args: argparse.Namespace) -> int:
    from leaderboard.submissions import Limits, Rejected, submit_model, submit_predictions

    if (args.file is None) == (args.model_spec is None):
        raise UsageError("give a predictions FILE or --model-spec JSON, not both")
    if args.file is not None and not args.file.is_file():
        raise UsageError(f"{args.file}: no such file")
    args.board = _board_to_submit(args.board)
    meta = {"model_name": args.model_name, "submitter": args.submitter,
            "base_model": args.base_model, "link": args.link, "setting": args.setting,
            "params_billion": args.params, "open_weights": args.open_weights}
    limits = Limits(per_day=args.per_day)
    try:
        if args.model_spec is not None:
            try:
                spec = json.loads(args.model_spec)
            except json.JSONDecodeError as error:
                raise UsageError(f"--model-spec is not JSON ({error.msg})") from None
            accepted = submit_model(_sessions(args), args.board, spec, meta, limits=limits)
        else:
            accepted = submit_predictions(_sessions(args), args.board, args.file.read_bytes(),
                                          meta, folder=_folder(), name=args.file.name,
                                          limits=limits)
    except Rejected as rejected:
        for problem in rejected.problems:
            print(f"refused: {problem}", file=sys.stderr)
        if rejected.detail:  # this command runs on the server: its operator may see folders
            print(f"server detail: {rejected.detail}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"id": accepted.submission_id, "duplicate": accepted.duplicate}))
    elif accepted.duplicate:
        print(f"the same file is already submission {accepted.submission_id} on {args.board}")
    else:
        print(f"submission {accepted.submission_id} queued on {args.board} (pending)")
    return 0


def _status(args: argparse.Namespace) -> int:
    from leaderboard.views import submission_status

    with _sessions(args)() as session:
        status = submission_status(session, args.id)
    if status is None:
        raise UsageError(f"no submission {args.id}")
    if args.json:
        print(json.dumps(status, indent=1, default=str))
        return 0
    print(f"submission {status['id']}: {status['model']} on {status['board']}: "
          f"{status['status']}")
    for event in status["events"]:
        print(f"  {event['at']}  {event['status']:<9} {event['detail']}")
    if status["failure_category"]:
        print(f"failed ({status['failure_category']}):\n{status['failure_log']}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from leaderboard.views import per_class, submission_detail

    with _sessions(args)() as session:
        detail = submission_detail(session, args.id)
        if detail is None:
            raise UsageError(f"no submission {args.id}")
        if "code_cls" in detail["tasks"]:
            detail["per_class"] = per_class(session, args.id)
    if args.json:
        print(json.dumps(detail, indent=1, default=str))
        return 0
    for key, value in detail.items():
        if key != "per_class":
            print(f"{key:>16}: {_field(value)}")
    for row in detail.get("per_class", []):
        print(f"{row['class']:>24}  F1 {_fmt(row['f1'])} [{_fmt(row['f1_ci_low'])}, "
              f"{_fmt(row['f1_ci_high'])}]  support {row['support']}")
    return 0


def _field(value: object) -> str:
    """A ``show`` value as a reader wants it, not as Python prints it: "—" for a field the
    row does not have (not "None"), lists comma-separated, a mapping one "key: value" a
    line, and every continuation line indented under the value."""
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        text = ", ".join(map(_field, value)) or "—"
    elif isinstance(value, dict):
        text = "\n".join(f"{k}: {_field(v)}" for k, v in value.items()) or "—"
    else:
        text = str(value)
    return text.replace("\n", "\n" + " " * 18)


def _export(args: argparse.Namespace) -> int:
    from leaderboard.views import to_csv

    rows = _ranked(args, rank_by=args.rank_by)
    text = (json.dumps(rows, indent=1, default=str) + "\n" if args.format == "json"
            else to_csv(rows))
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(rows)} rows to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _withdraw(args: argparse.Namespace) -> int:
    from leaderboard.queue import withdraw

    try:
        with _sessions(args).begin() as session:
            withdraw(session, args.id, args.reason)
    except (LookupError, ValueError) as error:
        raise UsageError(str(error.args[0])) from None
    print(f"submission {args.id} withdrawn (kept in the history with its reason)")
    return 0


def _rescore(args: argparse.Namespace) -> int:
    from eval_harness.settings import peer_runs_dir
    from eval_harness.tasks.base import ScoreOptions
    from leaderboard.rescore import rescore

    counts = rescore(_sessions(args), args.board, _folder(), peer_runs_dir(),
                     ScoreOptions(embeddings=not args.no_embeddings))
    print(f"{args.board}: {counts['rescored']} row(s) rescored, {counts['kept']} kept "
          "(marked with the version that scored them)")
    return 0


def _worker(args: argparse.Namespace) -> int:
    from eval_harness.tasks.base import ScoreOptions
    from leaderboard.worker import work

    options = ScoreOptions(embeddings=not args.no_embeddings)
    done = work(_sessions(args), _folder(), once=args.once, poll=args.poll, options=options,
                lease=args.lease, timeout=args.job_timeout)
    print(f"processed {done} job(s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrors(prog="python -m leaderboard",
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
                      help="rescore the published runs into the committed seed file first "
                           "(with --synthetic: rescore the demo rows into theirs instead)")
    seed.add_argument("--peer-dir", type=Path, default=None)
    seed.add_argument("--synthetic", action="store_true",
                      help="also score the baselines and tiny-demo into synthetic-demo "
                           "(on $CODEBENCH_DATA_DIR, generated when absent)")
    seed.add_argument("--workers", type=int, default=2)
    seed.add_argument("--embeddings", action="store_true",
                      help="also MiniLM cosine (slow the first time)")
    seed.set_defaults(handler=_seed)
    boards = sub.add_parser("boards", help="the boards, their rows, and whether this "
                            "server can score a submission to each")
    boards.add_argument("--json", action="store_true")
    boards.set_defaults(handler=_boards)
    listing = sub.add_parser("list", help="a board's ranked rows")
    listing.add_argument("--board", default="code-test-600")
    listing.add_argument("--task", default="code_cls")
    listing.add_argument("--rank-by", metavar="METRIC",
                         help="a headline metric of the task (default: its primary); "
                              "code_cls: macro_f1, accuracy, weighted_f1; code_report: "
                              "bleu_sentence_mean, primary_class_accuracy, "
                              "diagnosis_f1_micro, icd_f1, rougeL, meteor; code_multilabel: "
                              "micro_f1, macro_f1")
    listing.add_argument("--setting", choices=("zero-shot", "few-shot", "fine-tuned"))
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    submit = sub.add_parser("submit", help="validate and queue a predictions file or a model")
    submit.add_argument("file", type=Path, nargs="?", help="a predictions JSONL")
    submit.add_argument("--model-spec", help='a model to run, e.g. \'{"backend": "hf", '
                        '"model_args": {"checkpoint": "tiny-demo"}}\'')
    submit.add_argument("--board", default=None, help="default: the first board this "
                        "server can score (see `boards`)")
    submit.add_argument("--model-name", required=True)
    submit.add_argument("--submitter", required=True)
    submit.add_argument("--base-model")
    submit.add_argument("--link")
    submit.add_argument("--setting", choices=("zero-shot", "few-shot", "fine-tuned"))
    submit.add_argument("--params", type=float, help="parameters, in billions")
    weights = submit.add_mutually_exclusive_group()
    weights.add_argument("--open-weights", dest="open_weights", action="store_true",
                         default=None)
    weights.add_argument("--closed-weights", dest="open_weights", action="store_false")
    submit.add_argument("--per-day", type=int, default=5, help="submissions per submitter "
                        "per 24 hours")
    submit.add_argument("--json", action="store_true")
    submit.set_defaults(handler=_submit)
    status = sub.add_parser("status", help="a submission's state and history")
    status.add_argument("id", type=int)
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)
    show = sub.add_parser("show", help="a row's provenance, reproduce command, per-class")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)
    export = sub.add_parser("export", help="a board's ranked rows as CSV or JSON")
    export.add_argument("--board", default="code-test-600")
    export.add_argument("--task", default="code_cls")
    export.add_argument("--rank-by", metavar="METRIC", help="as for list")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", type=Path)
    export.set_defaults(handler=_export)
    gone = sub.add_parser("withdraw", help="take a row off the board, keeping its history")
    gone.add_argument("id", type=int)
    gone.add_argument("--reason", required=True)
    gone.set_defaults(handler=_withdraw)
    again = sub.add_parser("rescore", help="recompute a board's rows with this scorer")
    again.add_argument("--board", default="code-test-600")
    again.add_argument("--no-embeddings", action="store_true")
    again.set_defaults(handler=_rescore)
    worker = sub.add_parser("worker", help="score queued submissions")
    worker.add_argument("--once", action="store_true", help="stop when nothing is pending")
    worker.add_argument("--poll", type=float, default=2.0, help="seconds between polls")
    worker.add_argument("--lease", type=float, default=60.0,
                        help="seconds a claimed job is held without a heartbeat")
    worker.add_argument("--job-timeout", type=float, default=None,
                        help="seconds a job may run before it fails with 'timeout' (default: "
                             "the board's limit, else CODEBENCH_JOB_TIMEOUT_S, 3600)")
    worker.add_argument("--no-embeddings", action="store_true",
                        help="skip MiniLM cosine (faster; the metric is then marked skipped)")
    worker.set_defaults(handler=_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from eval_harness import __version__

    return cli_runtime.run(build_parser, argv,
                           name=f"the COde-Bench leaderboard (eval_harness {__version__})")
