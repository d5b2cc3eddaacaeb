"""Read-only views of the store that the CLI and the app render: pure functions of a
session, no metric code (the numbers and the paired tests come from the harness, the
rank bounds from ``standings``). Nothing here returns a reference report or class.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eval_harness import __version__
from leaderboard.store.schema import Board, RankInterval, Standing, Submission


def rank_metric(task: str, rank_by: str | None) -> str:
    """The metric a task's board is ranked by: ``rank_by`` if it is one of the task's
    headline metrics, else its primary metric; anything else is a LookupError naming
    the choices."""
    from eval_harness.tasks import get_task, task_names

    if task not in task_names():
        raise LookupError(f"no task {task!r}; tasks: {', '.join(task_names())}")
    choices = get_task(task).rank_metrics()
    if rank_by is None:
        return choices[0]
    if rank_by not in choices:
        raise LookupError(f"{task} is not ranked by {rank_by!r}; rank by one of "
                          f"{', '.join(choices)}")
    return rank_by


def ranked(session: Session, board: str, task: str, *, rank_by: str | None = None,
           setting: str | None = None, open_weights: bool | None = None,
           max_params: float | None = None, harness_version: str | None = None
           ) -> list[dict[str, Any]]:
    """The board's finished rows for ``task``, best first by ``rank_by`` (default: the
    task's primary metric), each with its value, 95% CI and rank interval. A row without
    that metric (METEOR where WordNet was missing) is listed last, unranked."""
    if session.get(Board, board) is None:
        raise LookupError(f"no board {board!r}; boards: {', '.join(boards(session)) or 'none'}")
    metric = rank_metric(task, rank_by)
    # Plain columns, not ORM objects: building 10,000 entities would cost most of the read.
    columns = (Submission.id, Submission.model_name, Submission.setting,
               Submission.open_weights, Submission.params_billion, Submission.submitter,
               Submission.status, Submission.harness_version, Submission.provenance,
               RankInterval.value, RankInterval.ci_low, RankInterval.ci_high,
               RankInterval.rank_low, RankInterval.rank_high, Standing.columns)
    interval = sa.and_(RankInterval.submission_id == Standing.submission_id,
                       RankInterval.task == Standing.task, RankInterval.metric == metric)
    query = (sa.select(*columns).join(Submission, Standing.submission_id == Submission.id)
             .outerjoin(RankInterval, interval)
             .where(Standing.board_id == board, Standing.task == task,
                    Submission.status == "finished"))
    if setting:
        query = query.where(Submission.setting == setting)
    if open_weights is not None:
        query = query.where(Submission.open_weights.is_(open_weights))
    if max_params is not None:
        query = query.where(Submission.params_billion <= max_params)
    if harness_version:
        query = query.where(Submission.harness_version == harness_version)
    # Best rank bound first; within one bound, the narrower interval, then the value.
    query = query.order_by(RankInterval.rank_low.asc().nulls_last(),
                           RankInterval.rank_high.asc(), RankInterval.value.desc(),
                           Submission.model_name, Submission.id)
    return [{"id": r.id, "model": r.model_name, "board": board, "task": task,
             "metric": metric, "value": r.value, "ci_low": r.ci_low, "ci_high": r.ci_high,
             "rank_low": r.rank_low, "rank_high": r.rank_high,
             "rank_upper_bound": r.rank_low, "setting": r.setting,
             "open_weights": r.open_weights, "params_billion": r.params_billion,
             "submitter": r.submitter, "status": r.status,
             "harness_version": r.harness_version,
             "current_scorer": r.harness_version == __version__,
             "provenance": r.provenance, **r.columns}
            for r in session.execute(query)]


def boards(session: Session) -> list[str]:
    return list(session.scalars(sa.select(Board.id).order_by(Board.id)))


def board_summaries(session: Session) -> list[dict[str, Any]]:
    """Each board with its title, finished rows and submissions still waiting: every
    board this code knows (``leaderboard.boards.BOARDS``, in that order, with 0 rows
    before its first), then any other the store holds."""
    from leaderboard.boards import BOARDS, TITLES

    counts = dict(session.execute(
        sa.select(Submission.board_id, sa.func.count()).where(Submission.status == "finished")
        .group_by(Submission.board_id)).all())
    waiting = dict(session.execute(
        sa.select(Submission.board_id, sa.func.count())
        .where(Submission.status.in_(("pending", "running"))).group_by(Submission.board_id)
    ).all())
    stored = {b.id: b for b in session.scalars(sa.select(Board))}
    order = [*BOARDS, *sorted(set(stored) - set(BOARDS))]
    return [{"id": board, "title": stored[board].title if board in stored else TITLES[board],
             "checkups": stored[board].n_checkups if board in stored else None,
             "rows": counts.get(board, 0), "pending": waiting.get(board, 0)}
            for board in order]


def submission_status(session: Session, submission_id: int) -> dict[str, Any] | None:
    """What a submitter may see of their submission: state, history, failure reason."""
    s = session.get(Submission, submission_id)
    if s is None:
        return None
    return {"id": s.id, "model": s.model_name, "board": s.board_id, "status": s.status,
            "attempts": s.attempts, "failure_category": s.failure_category,
            "failure_log": s.failure_log,
            "events": [{"at": e.at, "status": e.status, "detail": e.detail}
                       for e in s.events]}


# Per-sample fields that would reveal a held-out reference (its class, its findings).
_HIDDEN = ("reference", "reference_class", "target_sha256")


def own_samples(session: Session, submission_id: int, task: str) -> list[dict[str, Any]]:
    """A submitter's per-sample view of their run: their answer's extraction, whether it
    was right, per-sample metric values and their findings that matched or not. The
    references (class, report, the findings they missed) stay on the server."""
    from leaderboard.ingest import samples_of

    out = []
    for sample in samples_of(session, submission_id, task):
        shown = {k: v for k, v in sample.items() if k not in _HIDDEN}
        if "diagnosis" in shown:
            shown["diagnosis"] = {
                "source": sample["diagnosis"].get("source"),
                **{kind: {k: v for k, v in sample["diagnosis"][kind].items() if k != "fn"}
                   for kind in ("findings", "codes") if kind in sample["diagnosis"]}}
        out.append(shown)
    return out


def per_class(session: Session, submission_id: int, task: str = "code_cls"
              ) -> list[dict[str, Any]]:
    """Per-class precision, recall and F1 of a task, with a bootstrap CI on F1 (chart
    whiskers) where the samples hold single classes (code_cls). For code_report: the F1 of
    each class as the labeler reads the reports against the references (no CI)."""
    from eval_harness.labels.classes import CLASSES
    from eval_harness.metrics.stats import ConfusionData, per_class_f1_intervals
    from leaderboard.ingest import samples_of
    from leaderboard.store.schema import ClassResult

    if task == "code_report":
        return report_per_class(samples_of(session, submission_id, task))
    stored = {c.class_name: c for c in session.scalars(sa.select(ClassResult).where(
        ClassResult.submission_id == submission_id, ClassResult.task == task))}
    samples = samples_of(session, submission_id, task) if task == "code_cls" else []
    intervals = {}
    if samples and all("reference" in s for s in samples):
        data = ConfusionData.from_labels([s["reference"] for s in samples],
                                         [s.get("extracted") for s in samples])
        intervals = dict(zip(CLASSES, per_class_f1_intervals(data), strict=True))
    return [{"class": name, "precision": c.precision, "recall": c.recall, "f1": c.f1,
             "f1_ci_low": intervals.get(name, (None, None, None))[1],
             "f1_ci_high": intervals.get(name, (None, None, None))[2], "support": c.support}
            for name in CLASSES if (c := stored.get(name)) is not None]


def report_per_class(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each class's F1 between the labeler's reading of the reports and of the references,
    from the per-sample ``clinical_stats`` ((tp, fp, fn) per class, in class order: the
    counts ``clinical_f1`` averages). A class neither side affirms has no F1."""
    import numpy as np

    from eval_harness.labels.classes import CLASSES
    from eval_harness.metrics import counts

    rows = [s["clinical_stats"] for s in samples if s.get("clinical_stats")]
    if not rows:
        return []
    sums = np.asarray(rows, dtype=np.float64).sum(axis=0)
    out = []
    for k, name in enumerate(CLASSES):
        tp, fp, fn = (float(x) for x in sums[3 * k:3 * k + 3])
        f1 = counts.macro_f1(sums[3 * k:3 * k + 3], k=1)  # one label: its own F1
        out.append({"class": name, "precision": tp / (tp + fp) if tp + fp else None,
                    "recall": tp / (tp + fn) if tp + fn else None,
                    "f1": None if np.isnan(f1) else f1, "f1_ci_low": None,
                    "f1_ci_high": None, "support": int(tp + fn)})
    return out


def compare(session: Session, a: int, b: int, task: str) -> list[dict[str, Any]]:
    """Two finished rows of one board on the same checkups: the paired table of every
    metric on the board's resample plan (Holm over metrics), and for each ranked metric
    the board's own verdict on the same pair, read from the stored replicates and each
    row's critical value (``eval_harness.paired.better_than``)."""
    from eval_harness.compare import holm_rows, paired_rows
    from leaderboard.ingest import samples_of
    from leaderboard.standings import plan_of

    subs = [session.get(Submission, i) for i in (a, b)]
    runs = [samples_of(session, i, task) for i in (a, b)]
    if None in subs or subs[0].board_id != subs[1].board_id or not runs[0] \
            or [s["id"] for s in runs[0]] != [s["id"] for s in runs[1]]:
        raise LookupError(f"rows {a} and {b} have no {task} results on the same board")
    plan = plan_of(session.get(Board, subs[0].board_id))
    rows = [row.to_dict() for row in holm_rows(paired_rows(task, runs[0], runs[1], plan))]
    verdicts = board_verdicts(session, a, b, task)
    for row in rows:
        row["board_verdict"] = verdicts.get(row["metric"])
    return rows


def board_verdicts(session: Session, a: int, b: int, task: str) -> dict[str, str]:
    """metric -> "A", "B" or "tie": what the board's rank rule says of this pair."""
    from eval_harness.paired import better_than, pair
    from leaderboard.standings import from_bytes
    from leaderboard.store.schema import Replicate

    stored = {(r.submission_id, r.metric): r for r in session.scalars(
        sa.select(Replicate).where(Replicate.submission_id.in_((a, b)),
                                   Replicate.task == task))}
    critical = {(r.submission_id, r.metric): r.critical for r in session.scalars(
        sa.select(RankInterval).where(RankInterval.submission_id.in_((a, b)),
                                      RankInterval.task == task))}
    out = {}
    for (row, metric), ra in stored.items():
        rb = stored.get((b, metric))
        if row != a or rb is None or (a, metric) not in critical or (b, metric) not in critical:
            continue
        verdict = pair(ra.point, from_bytes(ra.values), rb.point, from_bytes(rb.values))
        out[metric] = better_than(verdict, critical[(a, metric)], critical[(b, metric)],
                                  ra.higher_is_better)
    return out


def submission_detail(session: Session, submission_id: int) -> dict[str, Any] | None:
    """Provenance and the commands that reproduce the row, for the detail view:
    ``reproduce`` runs on a visitor's machine (placeholders for their files, never this
    server's paths), ``operator`` on the server that holds the row."""
    s = session.get(Submission, submission_id)
    if s is None:
        return None
    tasks = sorted(session.scalars(sa.select(Standing.task).where(
        Standing.submission_id == submission_id)))
    return {"id": s.id, "model": s.model_name, "board": s.board_id, "status": s.status,
            "kind": s.kind, "setting": s.setting, "base_model": s.base_model,
            "params_billion": s.params_billion, "open_weights": s.open_weights,
            "link": s.link, "submitter": s.submitter, "harness_version": s.harness_version,
            "label_map": s.label_map, "prompt_hash": s.prompt_hash,
            "provenance": s.provenance, "tasks": tasks, "reproduce": reproduce_command(s),
            "operator": operator_command(s)}


def _peer_folder(s: Submission) -> str | None:
    """A published run's folder inside the pocket-dentist repository (setting/name)."""
    folder = (s.provenance or {}).get("folder")
    return "/".join(folder.rsplit("/", 2)[-2:]) if s.kind == "seed" and folder else None


def _data_steps(board: str) -> tuple[str, str]:
    """How a visitor gets a board's checkups onto their machine."""
    if board == "synthetic-demo":
        return ("python -m eval_harness data synth --out demo-data --checkups 300 --seed 1\n",
                "demo-data")
    return ("# COde-Dataset.zip from the Hugging Face dataset zirak-ai/COde, unzipped\n",
            "<your COde folder>")


def reproduce_command(s: Submission) -> str:
    """Commands a visitor can run on their own machine to get this row's numbers (or to
    score their own answers the same way); placeholders in <angle brackets>."""
    peer = _peer_folder(s)
    if peer and s.board_id == "code-test-600":
        return ("# a clone of the published runs (pocket-dentist) at the row's commit\n"
                "python -m eval_harness score --output <out folder> --peer-run "
                f"<your pocket-dentist clone>/results/datasets/code/{peer}")
    setup, data = _data_steps(s.board_id)
    payload = s.payload or {}
    backend = payload.get("backend")
    if backend:
        checkpoint = (payload.get("model_args") or {}).get("checkpoint")
        # A registry name is runnable anywhere; a folder on this server is not shown.
        model_args = (f" --model-args checkpoint={checkpoint}"
                      if checkpoint and "/" not in str(checkpoint) else
                      " --model-args <the model's arguments>" if payload.get("model_args")
                      else "")
        return (f"{setup}python -m eval_harness run --model {backend}{model_args} "
                f"--data {data} --output <out folder>")
    return (f"{setup}python -m eval_harness score --predictions <your file> --data {data} "
            "--split test --output <out folder>")


def operator_command(s: Submission) -> str:
    """The server-side commands (for whoever runs this space): the row's full record, and
    how it was scored, with the server's folders named by their settings."""
    peer = _peer_folder(s)
    show = f"python -m leaderboard show {s.id}"
    if peer:
        return (f"{show}\npython -m eval_harness score --peer-run "
                f"$CODEBENCH_PEER_RUNS/{peer} --output <out folder>")
    name = (s.payload or {}).get("predictions")
    if s.kind == "predictions" and name:
        return (f"{show}\npython -m eval_harness score --predictions "
                f"$CODEBENCH_LEADERBOARD_DIR/submissions/{name} --data <the board's data> "
                "--output <out folder>")
    return f"{show}\npython -m leaderboard rescore --board {s.board_id}"


# CSV cells that a spreadsheet would run as a formula start with one of these.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def to_csv(rows: list[dict[str, Any]],
           header: Callable[[str], str] | None = None) -> str:
    """Rows as CSV, with text cells that look like formulas neutralised by a leading '.
    The header row holds the machine keys, or ``header(key)`` for each (the space's
    download writes the column spec's readable labels)."""
    import csv
    import io

    columns = list(dict.fromkeys(k for row in rows for k in row if k != "provenance"))
    out = io.StringIO()
    # CRLF, as RFC 4180 has it: a cell holding a lone \r is then quoted (with "\n" it was
    # written bare, and a reader split the row there).
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header(k) for k in columns] if header else columns)
    for row in rows:
        writer.writerow([_safe(row.get(k)) if k in row else "" for k in columns])
    return out.getvalue()


def _safe(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA) else value


def confusion(session: Session, submission_id: int, task: str = "code_cls"
              ) -> dict[str, Any]:
    """Reference class x answered class counts (plus "no answer") from the stored
    per-sample records: counts only, for the heat map. For code_report the columns are
    the classes the labeler reads in each report (a report can affirm several, or none)."""
    from eval_harness.labels.classes import CLASSES
    from leaderboard.ingest import samples_of

    report = task == "code_report"
    columns = [*CLASSES, "none affirmed" if report else "no answer"]
    counts = [[0] * len(columns) for _ in CLASSES]
    for s in samples_of(session, submission_id, task):
        reference = s.get("reference_class" if report else "reference")
        if reference not in CLASSES:
            continue
        row = counts[CLASSES.index(reference)]
        if report:
            stats = s.get("clinical_stats") or []
            # Per class (tp, fp, fn): the report affirms the class when tp or fp is 1.
            read = [k for k in range(len(CLASSES)) if sum(stats[3 * k:3 * k + 2])]
            for k in read or [len(CLASSES)]:
                row[k] += 1
        else:
            answered = s.get("extracted")
            row[CLASSES.index(answered) if answered in CLASSES else len(CLASSES)] += 1
    return {"rows": list(CLASSES), "columns": columns, "counts": counts}


def queue_rows(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """The latest submissions (seeds aside) with their state, place in the queue, waiting
    time and, for failures, the category and log excerpt."""
    from datetime import UTC, datetime

    subs = session.scalars(sa.select(Submission).where(Submission.kind != "seed")
                           .order_by(Submission.id.desc()).limit(limit)).all()
    pending = list(session.scalars(sa.select(Submission.id).where(
        Submission.status == "pending").order_by(Submission.created_at, Submission.id)))
    now = datetime.now(UTC)

    def waited(s: Submission) -> float:
        created = s.created_at if s.created_at.tzinfo else s.created_at.replace(tzinfo=UTC)
        return round((now - created).total_seconds())

    return [{"id": s.id, "model": s.model_name, "board": s.board_id, "kind": s.kind,
             "status": s.status,
             "position": pending.index(s.id) + 1 if s.id in pending else None,
             "waiting_s": waited(s) if s.status in ("pending", "running") else None,
             "failure": s.failure_category, "log": (s.failure_log or "")[-500:] or None}
            for s in subs]


def prediction_text(session: Session, submission_id: int, task: str, sample_id: str,
                    folder: Path) -> str | None:
    """A row's own answer to one sample: kept with its per-sample record (runs this server
    scored) or in its stored predictions file; None where the text was not kept (the
    published runs keep only their scores here)."""
    import json

    from leaderboard.store.schema import SampleRecord

    kept = session.scalar(sa.select(SampleRecord.values).where(
        SampleRecord.submission_id == submission_id, SampleRecord.task == task,
        SampleRecord.sample_id == sample_id))
    if kept and isinstance(kept.get("prediction"), str):
        return kept["prediction"]
    s = session.get(Submission, submission_id)
    name = (s.payload or {}).get("predictions") if s is not None else None
    path = folder / "submissions" / str(name)
    if not name or not path.is_file():
        return None
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                obj = json.loads(line)
                if obj.get("id") == sample_id and obj.get("task") == task:
                    return obj.get("prediction")
    return None
