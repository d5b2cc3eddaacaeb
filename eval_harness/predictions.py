"""Reading predictions and references for scoring without a model.

Predictions JSONL (../shared/DESIGN.md): one object per sample,
``{"id": "<checkup_id>", "task": "code_cls"|"code_report", "prediction": "<text>"}``
plus optional ``"scores": {class: prob}``, ``"failed": true``, ``"error": "..."`` and
``"meta": {...}`` (how the answer was served: kept as provenance, never scored).
The peer harness format (``--peer-run``) carries the ground truth in each line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval_harness.data.checkup import Checkup
from eval_harness.errors import DataError, Problem
from eval_harness.jsonl import read_json_lines
from eval_harness.labels.classes import CLASSES

TASKS = ("code_cls", "code_report")
PEER_TASKS = {"code_classification": "code_cls", "code_report": "code_report"}


@dataclass(frozen=True)
class Prediction:
    sample_id: str
    task: str
    text: str | None
    failed: bool = False
    error: str | None = None
    scores: dict[str, float] | None = None
    # How it was produced (served model, system_fingerprint, retries, token usage):
    # provenance only, never scored.
    meta: dict[str, Any] | None = None


@dataclass(frozen=True)
class Reference:
    """What a checkup is scored against: its class (set) and its reference report."""

    sample_id: str
    primary: str | None
    classes: tuple[str, ...] = ()
    report: str | None = None
    language: str = "en"


@dataclass
class ScoringInput:
    """Aligned references and predictions for one task; missing predictions are failures."""

    task: str
    references: list[Reference]
    predictions: list[Prediction]
    source: str
    notes: list[str] = field(default_factory=list)


def read_predictions(path: Path | str) -> list[Prediction]:
    """Parse a predictions JSONL, collecting every problem with its line."""
    path = Path(path)
    problems: list[Problem] = []
    out: list[Prediction] = []
    seen: dict[tuple[str, str], int] = {}
    for number, obj in read_json_lines(path):
        sid, task = obj.get("id"), obj.get("task")

        def bad(message: str, fix: str | None = None, _n: int = number, _id=sid) -> None:
            problems.append(Problem(str(path), message, line=_n,
                                    checkup_id=_id if isinstance(_id, str) else None, fix=fix))

        if not isinstance(sid, str) or not sid:
            bad("missing or non-string 'id'", 'add "id": "<checkup_id>"')
            continue
        if task not in TASKS:
            bad(f"unknown task {task!r}", f"use one of: {', '.join(TASKS)}")
            continue
        if (sid, task) in seen:
            bad(f"duplicate prediction for {task} (first on line {seen[sid, task]})")
            continue
        seen[sid, task] = number
        failed = bool(obj.get("failed", False))
        text = obj.get("prediction")
        if text is not None and not isinstance(text, str):
            bad("'prediction' must be a string")
            continue
        if text is None and not failed:
            bad("'prediction' is missing", 'give the model output, or "failed": true')
            continue
        scores = obj.get("scores")
        if scores is not None and not _valid_scores(scores):
            bad("'scores' must map class names to finite non-negative numbers, not all 0",
                'e.g. "scores": {"Pulpitis": 0.7, "Dental Caries": 0.3}')
            continue
        meta = obj.get("meta")
        if meta is not None and not isinstance(meta, dict):
            bad("'meta' must be an object (served model, fingerprint, ...)")
            continue
        out.append(Prediction(sid, task, text, failed, obj.get("error"), scores, meta))
    if problems:
        raise DataError(problems)
    return out


def _valid_scores(scores: object) -> bool:
    # Probabilities or any non-negative weights (renormalised for calibration), not all 0.
    return (isinstance(scores, dict) and not set(scores) - set(CLASSES)
            and all(isinstance(v, int | float) and not isinstance(v, bool)
                    and math.isfinite(v) and v >= 0 for v in scores.values())
            and sum(scores.values()) > 0)


def references_from_checkups(checkups: list[Checkup]) -> list[Reference]:
    return [Reference(c.checkup_id, c.primary, c.classes, c.reference_report, c.language)
            for c in checkups]


def read_references(path: Path | str) -> list[Reference]:
    """A references JSONL: ``{"id", "class", "classes"?, "report"?, "language"?}``."""
    path = Path(path)
    refs: list[Reference] = []
    problems: list[Problem] = []
    for number, obj in read_json_lines(path):
        sid, cls = obj.get("id"), obj.get("class")
        if not isinstance(sid, str) or cls not in CLASSES:
            problems.append(Problem(str(path), "needs a string 'id' and a 'class' among the six",
                                    line=number, checkup_id=sid if isinstance(sid, str) else None))
            continue
        refs.append(Reference(sid, cls, tuple(obj.get("classes") or (cls,)), obj.get("report"),
                              obj.get("language", "en")))
    if problems:
        raise DataError(problems)
    return refs


def align(task: str, references: list[Reference], predictions: list[Prediction],
          source: str) -> ScoringInput:
    """Pair each reference with its prediction; a missing one is a recorded failure.

    Predictions for ids that are not in the references are an error: scoring them
    would silently change the denominator.
    """
    by_id = {p.sample_id: p for p in predictions if p.task == task}
    ref_ids = {r.sample_id for r in references}
    unknown = sorted(set(by_id) - ref_ids)
    if unknown:
        raise DataError.single(source, f"{len(unknown)} {task} prediction(s) for ids not in the "
                               f"references, e.g. {', '.join(unknown[:3])}",
                               fix="check that --data/--references is the split you predicted")
    aligned = [by_id.get(r.sample_id) or Prediction(r.sample_id, task, None, True,
                                                    "missing from predictions file")
               for r in references]
    missing = sum(r.sample_id not in by_id for r in references)
    notes = [f"{missing} {task} sample(s) had no prediction: counted as failed"] if missing else []
    return ScoringInput(task, list(references), aligned, source, notes)


def read_peer_run(run_dir: Path | str) -> dict[str, ScoringInput]:
    """A pocket-dentist peer run: ground truth inside each line.

    ``code_cls_NNNNN`` and ``code_rpt_NNNNN`` with the same number are one checkup;
    the reference class of a report is the classification ground truth.
    """
    run_dir = Path(run_dir)
    path = run_dir / "predictions.jsonl" if run_dir.is_dir() else run_dir
    rows: dict[str, dict[str, dict]] = {"code_cls": {}, "code_report": {}}
    # The peer writes failed generations only to failures.jsonl and drops them from
    # its metrics; we read them back so they count as failures, never vanish.
    sources = [path] + ([path.with_name("failures.jsonl")]
                        if path.with_name("failures.jsonl").is_file() else [])
    for source in sources:
        for number, obj in read_json_lines(source):
            task = PEER_TASKS.get(obj.get("task", ""))
            sid = str(obj.get("id", ""))
            if task is None or "_" not in sid:
                raise DataError.single(str(source), "not a peer-run line "
                                       f"(task {obj.get('task')!r})", line=number)
            key = sid.rsplit("_", 1)[1]
            if source is path or key not in rows[task]:
                rows[task][key] = obj | ({"failed": True} if source is not path else {})
    classes = {key: obj["ground_truth"] for key, obj in rows["code_cls"].items()}
    out: dict[str, ScoringInput] = {}
    for task, lines in rows.items():
        if not lines:
            continue
        refs, preds = [], []
        for key in sorted(lines):
            obj = lines[key]
            primary = obj["ground_truth"] if task == "code_cls" else classes.get(key)
            report = obj["ground_truth"] if task == "code_report" else None
            refs.append(Reference(key, primary, (primary,) if primary else (), report))
            failed = bool(obj.get("failed"))
            preds.append(Prediction(key, task, obj.get("prediction"), failed,
                                    "failed in the peer run" if failed else None))
        out[task] = ScoringInput(task, refs, preds, str(path))
    return out
