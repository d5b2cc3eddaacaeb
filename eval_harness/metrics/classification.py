"""Classification metrics for the COde six-way task, computed with scikit-learn.

Two views, side by side:

- ``all``: every sample; failed and unparseable answers count as wrong. These are
  the primary numbers (macro-F1 first).
- ``answered``: only samples whose answer was read as a class (status ``ok``).

Non-answers are given a sentinel prediction that is not in ``labels=CLASSES``, so
scikit-learn counts them as misses of the true class (lower recall) without
inventing a seventh class in the averages. ``zero_division=0`` throughout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eval_harness.labels.class_answers import Extraction, synonyms_id
from eval_harness.labels.classes import CLASSES
from eval_harness.metrics.base import MetricResult

NO_ANSWER = "__no_answer__"  # sentinel prediction; never a class
UNPARSEABLE = "unparseable"
FAILED = "failed"
PRIMARY = "macro_f1"

_DEFINITIONS = {
    "accuracy": "Share of samples whose extracted class equals the reference class.",
    "macro_f1": "Unweighted mean over the six classes of per-class F1.",
    "weighted_precision": "Per-class precision averaged with reference-class support as "
                          "weights (the paper's weighted P).",
    "weighted_recall": "Per-class recall averaged with reference-class support as weights "
                       "(equals accuracy when every prediction is a class or a miss).",
    "weighted_f1": "Per-class F1 averaged with reference-class support as weights "
                   "(the paper's weighted F1).",
}
_VIEW_NOTE = {
    "all": "All samples; failed and unparseable answers count as wrong.",
    "answered": "Only samples whose answer was read as exactly one class.",
}


def sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def _signature(view: str) -> str:
    return (f"sklearn:{sklearn_version()}|labels:code6|view:{view}|"
            f"non_answer:wrong|zero_division:0|extraction:{synonyms_id()}")


def _check_references(references: Sequence[str]) -> None:
    unknown = sorted(set(references).difference(CLASSES))
    if unknown:
        raise ValueError(f"references must be COde classes, got {unknown}")


def _prediction(extraction: Extraction) -> str:
    return extraction.label if extraction.status == "ok" and extraction.label else NO_ANSWER


def _view_metrics(y_true: list[str], y_pred: list[str], view: str,
                  per_sample: bool) -> dict[str, MetricResult]:
    """Aggregate metrics of one view; skipped (never 0.0) when the view is empty."""
    if not y_true:
        return {name: MetricResult.skip(name, f"no samples in view {view!r}",
                                        _signature(view), definition)
                for name, definition in _DEFINITIONS.items()}
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    labels = list(CLASSES)
    p_w, r_w, f_w, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="weighted", zero_division=0)
    values = {
        "accuracy": accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "weighted_precision": p_w,
        "weighted_recall": r_w,
        "weighted_f1": f_w,
    }
    correct = [1.0 if t == p else 0.0 for t, p in zip(y_true, y_pred, strict=True)]
    out: dict[str, MetricResult] = {}
    for name, value in values.items():
        out[name] = MetricResult(
            name=name, value=float(value), signature=_signature(view),
            definition=f"{_DEFINITIONS[name]} {_VIEW_NOTE[view]}",
            per_sample=correct if per_sample and name == "accuracy" else None,
            details={"view": view, "n": len(y_true)})
    return out


def _per_class(y_true: list[str], y_pred: list[str]) -> list[dict[str, Any]]:
    if not y_true:
        return []
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=list(CLASSES), average=None, zero_division=0)
    return [{"class": c, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
             "support": int(s[i])} for i, c in enumerate(CLASSES)]


def _confusion(references: list[str], extractions: Sequence[Extraction]) -> dict[str, Any]:
    """Rows: reference classes; columns: predicted classes, then unparseable, failed."""
    from sklearn.metrics import confusion_matrix

    columns = [*CLASSES, UNPARSEABLE, FAILED]
    if not references:
        return {"rows": list(CLASSES), "columns": columns, "counts": []}
    # Column names cannot collide with class names, so they double as sklearn labels.
    predicted = [e.label if e.status == "ok" else e.status for e in extractions]
    matrix = confusion_matrix(references, predicted, labels=columns)
    rows = [[int(v) for v in row] for row in matrix[: len(CLASSES)]]
    return {"rows": list(CLASSES), "columns": columns, "counts": rows}


def _check_extractions(extractions: Sequence[Extraction]) -> None:
    # sklearn silently ignores predictions outside `labels`; refuse them instead.
    for i, e in enumerate(extractions):
        if e.status not in ("ok", UNPARSEABLE, FAILED):
            raise ValueError(f"sample {i}: unknown extraction status {e.status!r}")
        if e.status == "ok" and e.label not in CLASSES:
            raise ValueError(f"sample {i}: status ok but label {e.label!r} is not a class")


def classification_metrics(references: Sequence[str],
                           extractions: Sequence[Extraction]) -> dict[str, Any]:
    """All classification numbers for one run.

    Returns ``{"primary", "views": {"all"|"answered": {name: MetricResult}},
    "per_class": {"all"|"answered": [row, ...]}, "confusion_matrix", "counts"}``.
    Per-sample correctness (1.0/0.0, aligned with the inputs) is on
    ``views["all"]["accuracy"].per_sample``.
    """
    if len(references) != len(extractions):
        raise ValueError(f"{len(references)} references but {len(extractions)} extractions")
    refs = list(references)
    _check_references(refs)
    _check_extractions(extractions)
    preds = [_prediction(e) for e in extractions]
    kept = [i for i, e in enumerate(extractions) if e.status == "ok"]
    ans_true = [refs[i] for i in kept]
    ans_pred = [preds[i] for i in kept]
    n_failed = sum(e.status == FAILED for e in extractions)
    n_unparseable = sum(e.status == UNPARSEABLE for e in extractions)
    return {
        "primary": PRIMARY,
        "views": {"all": _view_metrics(refs, preds, "all", per_sample=True),
                  "answered": _view_metrics(ans_true, ans_pred, "answered", per_sample=False)},
        "per_class": {"all": _per_class(refs, preds), "answered": _per_class(ans_true, ans_pred)},
        "confusion_matrix": _confusion(refs, extractions),
        "counts": {"n": len(refs), "n_answered": len(kept), "n_failed": n_failed,
                   "n_unparseable": n_unparseable},
    }


MULTILABEL_METRICS = ("micro_f1", "macro_f1", "exact_match", "hamming_loss")


def multilabel_metrics(reference_sets: Sequence[set[str]],
                       predicted_sets: Sequence[set[str]]) -> dict[str, Any]:
    """Multi-label track: per-class P/R/F1, micro/macro F1, exact-set match, Hamming loss.

    Built on a ``MultiLabelBinarizer(classes=CLASSES)``; a class name outside CLASSES
    is an error rather than silently dropped (sklearn would only warn).
    """
    if len(reference_sets) != len(predicted_sets):
        raise ValueError(f"{len(reference_sets)} reference sets but "
                         f"{len(predicted_sets)} predicted sets")
    unknown = sorted(set().union(*reference_sets, *predicted_sets).difference(CLASSES))
    if unknown:
        raise ValueError(f"not COde classes: {unknown}")
    if not reference_sets:
        return {"metrics": {n: MetricResult.skip(n, "no samples")
                            for n in MULTILABEL_METRICS},
                "per_class": [], "counts": {"n": 0}}
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        hamming_loss,
        precision_recall_fscore_support,
    )
    from sklearn.preprocessing import MultiLabelBinarizer

    mlb = MultiLabelBinarizer(classes=list(CLASSES))
    y_true = mlb.fit_transform(reference_sets)
    y_pred = mlb.transform(predicted_sets)
    signature = f"sklearn:{sklearn_version()}|labels:code6|multilabel|zero_division:0"
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    exact = [1.0 if (t == q).all() else 0.0 for t, q in zip(y_true, y_pred, strict=True)]
    metrics = {
        "micro_f1": MetricResult(
            "micro_f1", float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
            signature, "F1 over all (sample, class) decisions pooled."),
        "macro_f1": MetricResult(
            "macro_f1", float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
            signature, "Unweighted mean over the six classes of per-class F1."),
        "exact_match": MetricResult(
            "exact_match", float(accuracy_score(y_true, y_pred)), signature,
            "Share of samples whose predicted class set equals the reference set.",
            per_sample=exact),
        "hamming_loss": MetricResult(
            "hamming_loss", float(hamming_loss(y_true, y_pred)), signature,
            "Share of the six (sample, class) decisions that are wrong (lower is better).",
            per_sample=[float((t != q).mean()) for t, q in zip(y_true, y_pred, strict=True)]),
    }
    per_class = [{"class": c, "precision": float(p[i]), "recall": float(r[i]),
                  "f1": float(f[i]), "support": int(s[i])} for i, c in enumerate(CLASSES)]
    return {"metrics": metrics, "per_class": per_class, "counts": {"n": len(reference_sets)}}
