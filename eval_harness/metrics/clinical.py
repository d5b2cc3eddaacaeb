"""Clinical accuracy of generated reports, read with the rule-based report labeler.

Three pure functions over lists, each returning a MetricResult with one value per sample.
Text overlap (BLEU, ROUGE) rewards copying phrasing; these ask whether the report says the
right thing: the right diagnosis, the same findings as the reference, all nine sections.
Every signature names the labeler's rule version and hash, so numbers computed under
different rules are visibly not comparable. A missing or failed generation (None or "")
is scored, never dropped: it affirms nothing and has no sections.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from eval_harness.data.checkup import REPORT_SECTIONS
from eval_harness.labels.classes import CLASSES
from eval_harness.labels.report_labeler import (
    ClassLabel,
    label_report,
    rules_id,
    section_spans,
)
from eval_harness.metrics import counts
from eval_harness.metrics.base import MetricResult

_FIELDS = tuple(s[0] for s in REPORT_SECTIONS)
_LANGUAGES = ("en", "cn")
# Per-sample sufficient statistics of the clinical macro-F1, in this column order: summed
# over any resample of checkups they give that resample's macro-F1 (macro_f1_from_counts),
# which is what a bootstrap CI needs (macro-F1 is not a mean of per-sample values).
STATS_FIELDS: tuple[str, ...] = tuple(f"{c}:{k}" for c in CLASSES for k in ("tp", "fp", "fn"))


def macro_f1_from_counts(sums: Any) -> Any:
    """Macro-F1 from summed ``STATS_FIELDS`` counts: shape (18,) -> float, (B, 18) -> (B,).

    A class with no positive on either side is left out of the mean, as scikit-learn does
    with ``zero_division=np.nan``; NaN when no class is defined.
    """
    return counts.macro_f1(sums, len(CLASSES), undefined="exclude")


def _check(language: str, *pairs: tuple[str, Sequence[object]]) -> None:
    if language not in _LANGUAGES:
        raise ValueError(f"language must be one of {_LANGUAGES}, not {language!r}")
    lengths = {name: len(seq) for name, seq in pairs}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs differ in length: {lengths}")


@lru_cache(maxsize=1 << 14)
def _reference_labels(text: str, language: str) -> dict[str, ClassLabel]:
    """Reference reports are labelled once per process: every run is scored against
    the same references. Callers only read the labels (ClassLabel is frozen)."""
    return label_report(text, language)


def _positive(label: ClassLabel, uncertain_positive: bool) -> bool:
    return label.status == "present" or (uncertain_positive and label.status == "uncertain")


def _signature(language: str, scope: str, uncertain_positive: bool | None = None,
               rules: str | None = None) -> str:
    parts = [f"code-bench-labeler:{rules_id(rules)}", f"lang:{language}", f"scope:{scope}"]
    if uncertain_positive is not None:
        parts.append(f"uncertain:{'positive' if uncertain_positive else 'negative'}")
    return "|".join(parts)


def _has_text(s: str) -> bool:
    # Markdown leftovers ("**", "-", "#") alone do not make a section non-empty.
    return any(ch.isalnum() for ch in s)


def diagnosis_labels(report: str | None, language: str = "en", rules: str | None = None
                     ) -> tuple[dict[str, ClassLabel], str]:
    """The labeler's reading of a report as ``primary_class_accuracy`` reads it: its
    Diagnosis section when it has one with text in it, else the whole report. Returns the
    six labels and what was read: "diagnosis", "no_diagnosis_section" or
    "empty_diagnosis_section" (the last two: the whole report). The space's demo shows the
    same reading, so the page and the metric never disagree about a report."""
    text = report or ""
    spans = section_spans(text, language).get("diagnosis")
    if spans and any(_has_text(text[a:b]) for a, b in spans):
        return label_report(text, language, sections=["diagnosis"], rules=rules), "diagnosis"
    scope = "empty_diagnosis_section" if spans else "no_diagnosis_section"
    return label_report(text, language, rules=rules), scope


def primary_class_accuracy(generated_reports: Sequence[str | None],
                           reference_classes: Sequence[str], language: str = "en",
                           uncertain_positive: bool = False,
                           rules: str | None = None) -> MetricResult:
    """Does each generated report's Diagnosis section affirm the reference class?

    The Diagnosis section is read when the report has one with text in it; otherwise the
    whole report is (details count both fall-backs). "uncertain" counts as affirming only
    with ``uncertain_positive=True``. `rules`: the labeler's rules version (default: the
    labeler's current one; scripts/labeler_agreement.py compares versions with it).
    """
    _check(language, ("generated_reports", generated_reports),
           ("reference_classes", reference_classes))
    unknown = sorted(set(reference_classes).difference(CLASSES))
    if unknown:
        raise ValueError(f"reference classes that are not COde classes: {unknown}")
    name = "primary_class_accuracy"
    signature = _signature(language, "diagnosis-else-report", uncertain_positive, rules)
    definition = ("Share of generated reports whose Diagnosis section (the whole report when "
                  "it has none) the rule-based labeler reads as affirming the reference class.")
    if not generated_reports:
        return MetricResult.skip(name, "no samples", signature, definition)

    per_sample: list[float] = []
    statuses: Counter[str] = Counter()
    no_section: list[int] = []
    empty_section: list[int] = []
    by_class: dict[str, list[float]] = {c: [] for c in CLASSES}
    for i, (report, ref) in enumerate(zip(generated_reports, reference_classes, strict=True)):
        labels, scope = diagnosis_labels(report, language, rules)
        if scope != "diagnosis":
            (empty_section if scope == "empty_diagnosis_section" else no_section).append(i)
        label = labels[ref]
        statuses[label.status] += 1
        hit = float(_positive(label, uncertain_positive))
        per_sample.append(hit)
        by_class[ref].append(hit)
    n = len(per_sample)
    return MetricResult(
        name=name, value=sum(per_sample) / n, signature=signature, definition=definition,
        per_sample=per_sample,
        details={
            "n": n,
            "n_correct": int(sum(per_sample)),
            "reference_class_status": {s: statuses.get(s, 0)
                                       for s in ("present", "uncertain", "negated", "absent")},
            "per_class_accuracy": {c: (sum(v) / len(v) if v else None)
                                   for c, v in by_class.items()},
            "per_class_n": {c: len(v) for c, v in by_class.items()},
            # Where the Diagnosis section was missing or blank, the whole report was read.
            "whole_report_fallback": {"no_diagnosis_section": len(no_section),
                                      "empty_diagnosis_section": len(empty_section),
                                      "indices": sorted(no_section + empty_section)},
            "uncertain_positive": uncertain_positive,
            "rules": rules_id(rules),
        })


def clinical_efficacy_f1(generated_reports: Sequence[str | None],
                         reference_reports: Sequence[str | None], language: str = "en",
                         uncertain_positive: bool = False) -> MetricResult:
    """Macro-F1 over the six classes between labels of generated and reference reports.

    Per class, positive = present (or uncertain, with ``uncertain_positive=True``); both
    whole reports are labeled. A class with no positive in either list has no F1 and is left
    out of the macro average (listed in details). per_sample: the fraction of the six
    classes on which the two reports' labels agree.
    """
    _check(language, ("generated_reports", generated_reports),
           ("reference_reports", reference_reports))
    name = "clinical_efficacy_macro_f1"
    import sklearn  # heavy: imported on use, never at module import
    from sklearn.metrics import precision_recall_fscore_support

    signature = (f"sklearn:{sklearn.__version__}|average:macro|zero_division:nan-excluded|"
                 + _signature(language, "report", uncertain_positive))
    definition = ("Macro-F1 over the six classes of the labeler's positive labels on generated "
                  "reports against those on the reference reports; per sample, the fraction of "
                  "the six classes on which the two agree.")
    if not generated_reports:
        return MetricResult.skip(name, "no samples", signature, definition)

    y_true = [[int(_positive(lab[c], uncertain_positive)) for c in CLASSES]
              for lab in (_reference_labels(r, language) for r in reference_reports)]
    y_pred = [[int(_positive(lab[c], uncertain_positive)) for c in CLASSES]
              for lab in (label_report(r, language) for r in generated_reports)]
    per_sample = [sum(a == b for a, b in zip(t, p, strict=True)) / len(CLASSES)
                  for t, p in zip(y_true, y_pred, strict=True)]
    stats = [[x for a, b in zip(t, p, strict=True) for x in (a & b, b & (1 - a), a & (1 - b))]
             for t, p in zip(y_true, y_pred, strict=True)]

    import numpy as np

    precision, recall, f1, support = precision_recall_fscore_support(
        np.array(y_true), np.array(y_pred), average=None, zero_division=np.nan)
    predicted = np.array(y_pred).sum(axis=0)

    def num(x: float) -> float | None:
        return None if np.isnan(x) else float(x)

    per_class = {c: {"precision": num(precision[k]), "recall": num(recall[k]),
                     "f1": num(f1[k]), "support": int(support[k]),
                     "predicted": int(predicted[k])}
                 for k, c in enumerate(CLASSES)}
    defined = [float(x) for x in f1 if not np.isnan(x)]
    details = {
        "n": len(per_sample),
        "per_class": per_class,
        "classes_without_positives": [c for k, c in enumerate(CLASSES) if np.isnan(f1[k])],
        "per_sample": "fraction of the six classes on which generated and reference agree",
        "n_empty_generations": sum(1 for r in generated_reports if not (r or "").strip()),
        "uncertain_positive": uncertain_positive,
        "rules": rules_id(),
        "stats_fields": list(STATS_FIELDS),
        "sufficient_stats": stats,  # per sample; see macro_f1_from_counts
    }
    if not defined:
        result = MetricResult.skip(name, "no class is positive in either list of reports",
                                   signature, definition)
        result.per_sample, result.details = per_sample, details
        return result
    # The mean of the defined per-class F1s is sklearn's macro F1 with zero_division=nan.
    return MetricResult(name=name, value=sum(defined) / len(defined), signature=signature,
                        definition=definition, per_sample=per_sample, details=details)


def section_completeness(generated_reports: Sequence[str | None],
                         language: str = "en") -> MetricResult:
    """Which of the nine report sections each generated report has, with text in them.

    A section counts when its title starts a line (accepted titles: labels/rules/
    sections.json) and its content has at least one letter or digit. per_sample: the
    fraction of the nine present; details: the rate of each section.
    """
    _check(language, ("generated_reports", generated_reports))
    name = "section_completeness"
    signature = f"code-bench-sections:{rules_id()}|lang:{language}|sections:9"
    definition = ("Mean share of the nine report sections that a generated report has under "
                  "its own title with non-empty content.")
    if not generated_reports:
        return MetricResult.skip(name, "no samples", signature, definition)
    per_sample: list[float] = []
    counts: Counter[str] = Counter()
    for report in generated_reports:
        text = report or ""
        spans = section_spans(text, language)
        found = [f for f in _FIELDS if any(_has_text(text[a:b]) for a, b in spans.get(f, []))]
        counts.update(found)
        per_sample.append(len(found) / len(_FIELDS))
    n = len(per_sample)
    return MetricResult(
        name=name, value=sum(per_sample) / n, signature=signature, definition=definition,
        per_sample=per_sample,
        details={"n": n, "section_rate": {f: counts.get(f, 0) / n for f in _FIELDS},
                 "rules": rules_id()})
