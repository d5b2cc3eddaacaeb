"""Reading predictions and references for scoring without a model.

Predictions JSONL (../shared/DESIGN.md): one object per sample,
``{"id": "<checkup_id>", "task": "<a registered task>", "prediction": "<text>"}``
plus optional ``"scores": {class: prob}``, ``"failed": true``, ``"error": "..."`` and
``"meta": {...}`` (how the answer was served: kept as provenance, never scored).
The peer harness format (``--peer-run``) carries the ground truth in each line.
Tasks come from the registry (``eval_harness.tasks``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval_harness.data.checkup import Checkup
from eval_harness.errors import DataError, Problem
from eval_harness.fingerprint import dataset_fingerprint, reports_fingerprint
from eval_harness.jsonl import read_json_lines, write_json_lines
from eval_harness.labels.classes import CLASSES
from eval_harness.tasks import by_peer_name, task_names

# The classes in the published peer runs were assigned by their publishers (the paper's
# own table, which code-v1 reproduces on the test split); this id names that source in
# the fingerprint of a peer run.
PEER_LABEL_MAP = "pocket-dentist-published"


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
class ReferenceSet:
    """What a run is scored against, and where it came from."""

    references: list[Reference]
    name: str  # "COde", "COde-synthetic", "peer-run", "references"
    split: str
    label_map: str | None
    source: str  # the file or folder, for messages

    def dataset_info(self):
        from eval_harness.results import DatasetInfo

        return DatasetInfo(
            name=self.name, split=self.split, size=len(self.references),
            fingerprint=dataset_fingerprint(((r.sample_id, r.primary) for r in self.references),
                                            self.label_map),
            label_map=self.label_map,
            reports_fingerprint=reports_fingerprint((r.sample_id, r.report)
                                                    for r in self.references))


@dataclass
class ScoringInput:
    """Aligned references and predictions for one task; missing predictions are failures."""

    task: str
    references: list[Reference]
    predictions: list[Prediction]
    source: str
    notes: list[str] = field(default_factory=list)


def _shown(value: Any, limit: int = 60) -> str:
    """A value from the file as a message quotes it: repr, cut to ``limit`` characters (a
    hostile file's 200 KB task name is not echoed back whole)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def read_predictions(path: Path | str) -> list[Prediction]:
    """Parse a predictions JSONL, collecting every problem with its line."""
    path = Path(path)
    problems: list[Problem] = []
    out: list[Prediction] = []
    seen: dict[tuple[str, str], int] = {}
    for number, obj in read_json_lines(path):
        sid, task = obj.get("id"), obj.get("task")

        def bad(message: str, fix: str | None = None, _n: int = number, _id=sid) -> None:
            shown = (_id if len(_id) <= 60 and _id.isprintable() else _shown(_id)
                     ) if isinstance(_id, str) else None
            problems.append(Problem(str(path), message, line=_n, checkup_id=shown, fix=fix))

        if not isinstance(sid, str) or not sid:
            bad("missing or non-string 'id'", 'add "id": "<checkup_id>"')
            continue
        if task not in task_names():
            bad(f"unknown task {_shown(task)}", f"use one of: {', '.join(task_names())}")
            continue
        if (sid, task) in seen:
            bad(f"duplicate prediction for {task} (first on line {seen[sid, task]})")
            continue
        seen[sid, task] = number
        failed = obj.get("failed", False)
        if not isinstance(failed, bool):
            bad(f"'failed' must be true or false, not {_shown(failed)}")
            continue
        text = obj.get("prediction")
        if text is not None and not isinstance(text, str):
            bad("'prediction' must be a string")
            continue
        if obj.get("error") is not None and not isinstance(obj["error"], str):
            bad("'error' must be a string (the backend's message)")
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
    if not out:
        raise DataError.single(str(path), "no predictions: the file is empty",
                               fix='one {"id", "task", "prediction"} object per line')
    return out


def prediction_line(p: Prediction) -> dict[str, Any]:
    """A prediction as one line of the shared predictions format."""
    return {"id": p.sample_id, "task": p.task, "prediction": p.text,
            **({"failed": True} if p.failed else {}),
            **({"error": p.error} if p.error else {}),
            **({"scores": p.scores} if p.scores else {}),
            **({"meta": p.meta} if p.meta else {})}


def write_predictions(predictions: list[Prediction], path: Path | str) -> Path:
    """Write a predictions JSONL atomically; ``read_predictions`` reads it back equal."""
    return write_json_lines(Path(path), (prediction_line(p) for p in predictions))


def _valid_scores(scores: object) -> bool:
    # Probabilities or any non-negative weights (renormalised for calibration), not all 0.
    return (isinstance(scores, dict) and not set(scores) - set(CLASSES)
            and all(isinstance(v, int | float) and not isinstance(v, bool)
                    and math.isfinite(v) and v >= 0 for v in scores.values())
            and sum(scores.values()) > 0)


def references_from_checkups(checkups: list[Checkup], *, name: str, split: str,
                             source: str) -> ReferenceSet:
    if not checkups:
        raise DataError.single(source, f"no {split!r} checkups")
    return ReferenceSet([Reference(c.checkup_id, c.primary, c.classes, c.reference_report,
                                   c.language) for c in checkups],
                        name=name, split=split, label_map=checkups[0].label_map, source=source)


def read_references(path: Path | str, split: str = "test") -> ReferenceSet:
    """A references JSONL: ``{"id", "class", "classes"?, "report"?, "language"?,
    "label_map"?}`` (``write_references`` writes one)."""
    path = Path(path)
    refs: list[Reference] = []
    problems: list[Problem] = []
    label_maps: set[str | None] = set()
    seen: set[str] = set()
    for number, obj in read_json_lines(path):
        sid, cls = obj.get("id"), obj.get("class")
        classes = obj.get("classes") or [cls]
        where = {"line": number, "checkup_id": sid if isinstance(sid, str) else None}
        if not isinstance(sid, str) or cls not in CLASSES:
            problems.append(Problem(str(path), "needs a string 'id' and a 'class' among the six",
                                    **where))
            continue
        if sid in seen:
            problems.append(Problem(str(path), "duplicate id", **where))
            continue
        if not isinstance(classes, list) or any(c not in CLASSES for c in classes):
            problems.append(Problem(str(path), "'classes' must be a list of the six classes",
                                    **where))
            continue
        report = obj.get("report")
        if report is not None and not isinstance(report, str):
            problems.append(Problem(str(path), "'report' must be a string", **where))
            continue
        seen.add(sid)
        label_maps.add(obj.get("label_map"))
        refs.append(Reference(sid, cls, tuple(c for c in CLASSES if c in classes), report,
                              obj.get("language", "en")))
    if problems:
        raise DataError(problems)
    if not refs:
        raise DataError.single(str(path), "no references: the file is empty")
    if len(label_maps) > 1:
        raise DataError.single(str(path), "lines name different label maps: "
                               f"{', '.join(sorted(map(str, label_maps)))}")
    return ReferenceSet(refs, name="references", split=split, label_map=label_maps.pop(),
                        source=str(path))


def write_references(references: ReferenceSet, path: Path | str) -> Path:
    """The references of a set as JSONL, label-map id on every line (same fingerprint)."""
    return write_json_lines(Path(path), ({
        "id": r.sample_id, "class": r.primary, "classes": list(r.classes),
        **({"report": r.report} if r.report is not None else {}),
        "language": r.language, "label_map": references.label_map}
        for r in references.references))


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


def read_peer_run(run_dir: Path | str) -> tuple[ReferenceSet, list[Prediction]]:
    """A pocket-dentist peer run: ground truth inside each line.

    ``code_cls_NNNNN`` and ``code_rpt_NNNNN`` with the same number are one checkup
    (NNNNN: its position among the test rows of the COde CSV); the reference class of
    a report is the classification ground truth.
    """
    run_dir = Path(run_dir)
    path = run_dir / "predictions.jsonl" if run_dir.is_dir() else run_dir
    peer_tasks = by_peer_name()
    rows: dict[str, dict[str, dict]] = {task: {} for task in peer_tasks.values()}
    # The peer writes failed generations only to failures.jsonl and drops them from
    # its metrics; we read them back so they count as failures, never vanish.
    sources = [path] + ([path.with_name("failures.jsonl")]
                        if path.with_name("failures.jsonl").is_file() else [])
    for source in sources:
        for number, obj in read_json_lines(source):
            task = peer_tasks.get(obj.get("task", ""))
            sid = str(obj.get("id", ""))
            if task is None or "_" not in sid:
                raise DataError.single(str(source), "not a peer-run line "
                                       f"(task {obj.get('task')!r}, id {sid!r})", line=number)
            if not isinstance(obj.get("ground_truth"), str) or not obj["ground_truth"].strip():
                raise DataError.single(str(source), "peer-run line without its ground truth",
                                       line=number, checkup_id=sid,
                                       fix='each line needs "ground_truth": "<reference>"')
            if obj.get("prediction") is not None and not isinstance(obj["prediction"], str):
                raise DataError.single(str(source), "'prediction' must be a string",
                                       line=number, checkup_id=sid)
            if not isinstance(obj.get("failed", False), bool):
                raise DataError.single(str(source), "'failed' must be true or false",
                                       line=number, checkup_id=sid)
            key = sid.rsplit("_", 1)[1]
            if source is path or key not in rows[task]:
                rows[task][key] = obj | ({"failed": True} if source is not path else {})
    cls_rows, report_rows = rows.get("code_cls", {}), rows.get("code_report", {})
    bad = sorted({obj["ground_truth"] for obj in cls_rows.values()} - set(CLASSES))
    if bad:
        raise DataError.single(str(path), f"classification ground truth that is not a COde "
                               f"class: {', '.join(map(repr, bad[:3]))}")
    refs = []
    for key in sorted(set(cls_rows) | set(report_rows)):
        primary = cls_rows[key]["ground_truth"] if key in cls_rows else None
        report = report_rows[key]["ground_truth"] if key in report_rows else None
        refs.append(Reference(key, primary, (primary,) if primary else (), report))
    preds = [Prediction(key, task, obj.get("prediction"), obj.get("failed", False),
                        "failed in the peer run" if obj.get("failed") else None)
             for task, lines in rows.items() for key, obj in sorted(lines.items())]
    if not preds:
        raise DataError.single(str(path), "no predictions: the file is empty")
    return ReferenceSet(refs, name="COde (peer run)", split="test",
                        label_map=PEER_LABEL_MAP if cls_rows else None,
                        source=str(path)), preds


def peer_run_on_checkups(references: ReferenceSet, predictions: list[Prediction],
                         checkups: list[Checkup], *, name: str,
                         source: str) -> tuple[ReferenceSet, list[Prediction]]:
    """A peer run moved onto a COde folder: its NNNNN is the position of the checkup among
    the folder's test rows in file order. Every reference report and class of the run
    must equal the folder's, so a wrong folder or order is an error, not a silent
    misalignment. The result carries the folder's ids and label map, hence its
    fingerprint."""
    from dataclasses import replace

    test = [c for c in checkups if c.split == "test"]
    by_key = {f"{i:05d}": c for i, c in enumerate(test)}
    unknown = [r.sample_id for r in references.references if r.sample_id not in by_key]
    if unknown:
        raise DataError.single(source, f"the peer run has {len(unknown)} position(s) beyond "
                               f"the folder's {len(test)} test checkups, e.g. {unknown[0]}")
    differ = [f"{r.sample_id} ({by_key[r.sample_id].checkup_id})"
              for r in references.references
              if (r.report is not None and r.report != by_key[r.sample_id].reference_report)
              or (r.primary is not None and r.primary != by_key[r.sample_id].primary)]
    if differ:
        raise DataError.single(source, f"{len(differ)} of the peer run's references differ "
                               f"from the folder's test checkups at the same position, e.g. "
                               f"{', '.join(differ[:3])}",
                               fix="point --data at the COde release the run was made on")
    moved = references_from_checkups([by_key[r.sample_id] for r in references.references],
                                     name=name, split="test", source=source)
    return moved, [replace(p, sample_id=by_key[p.sample_id].checkup_id) for p in predictions]


def peer_run_inputs(run_dir: Path | str) -> dict[str, ScoringInput]:
    """A peer run aligned per task, for scripts that score one task directly."""
    references, predictions = read_peer_run(run_dir)
    tasks = dict.fromkeys(p.task for p in predictions)
    return {task: align(task, references.references, predictions, references.source)
            for task in tasks}
