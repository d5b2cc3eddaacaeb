"""One column spec for every number the board shows: its readable label, a one-line
definition, how it is written (3 decimals, an interval, a count) and which way is better.

The space's table headers, its column picker and legend, the CSV a visitor downloads and
the About tab's metric cards all read this module, so a metric is called the same thing
everywhere. The machine keys (``macro_f1``) stay what the harness, the store, the CLI's
``export`` and the API use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

Kind = Literal["score", "ci", "rank", "count", "size", "flag", "text"]

#: Why a published run's number can be compared with ours, or that there is none.
_NOT_PUBLISHED = ("The published runs report no such number: it is this harness's own "
                  "metric, computed the same way for every row.")
_PEER_CLS = ("Equals the published runs' figure (their metrics.json, 3 decimals) over the "
             "checkups each run kept, on every run whose answers are class names "
             "(tests/test_peer_cls_conformance.py). The board counts every checkup, so a "
             "run with failed answers scores lower here than in its own table.")
_PEER_TEXT = ("Its mean, standard deviation and median equal the published runs' figures "
              "to 3 decimals over the reports each run kept (4 runs covering failures are "
              "checked on every test run; all 42 on request: "
              "tests/test_peer_report_conformance.py).")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    definition: str
    kind: Kind = "score"
    higher_is_better: bool | None = True  # None: not a score (no best value to mark)
    published: str = ""  # how it matches the published numbers (metrics only)


def _metric(key: str, label: str, definition: str, published: str = _NOT_PUBLISHED,
            higher_is_better: bool = True) -> Column:
    return Column(key, label, definition, "score", higher_is_better, published)


_METRICS = (
    # code_cls
    _metric("accuracy", "Accuracy", "Share of checkups whose answer is the reference class; "
            "failed and unreadable answers count as wrong.", _PEER_CLS),
    _metric("macro_f1", "Macro-F1", "Mean of the six classes' F1 scores: every class "
            "counts the same, however many checkups it has.",
            "The published runs give no macro-F1; the per-class F1 it averages equals their "
            "classwise_metrics.csv exactly over the checkups each run kept."),
    _metric("weighted_f1", "Weighted F1", "Per-class F1 averaged with each class's number "
            "of checkups as weight (the paper's weighted F1).", _PEER_CLS),
    _metric("weighted_precision", "Weighted precision", "Per-class precision averaged with "
            "each class's number of checkups as weight (the paper's weighted P).", _PEER_CLS),
    _metric("weighted_recall", "Weighted recall", "Per-class recall averaged with each "
            "class's number of checkups as weight (the paper's weighted R).", _PEER_CLS),
    _metric("log_loss", "Log loss", "Mean negative log of the probability given to the "
            "reference class (only for runs that give class probabilities).",
            "The published runs give no class probabilities.", higher_is_better=False),
    _metric("brier", "Brier score", "Mean squared distance between the class probabilities "
            "and the reference class (only for runs that give probabilities).",
            "The published runs give no class probabilities.", higher_is_better=False),
    _metric("ece", "Calibration error (ECE)", "How far the top class's confidence is from "
            "how often it is right, over 15 confidence bins.",
            "The published runs give no class probabilities.", higher_is_better=False),
    # code_multilabel
    _metric("micro_f1", "Micro-F1", "F1 of every class a checkup shows, counts pooled over "
            "all checkups and classes."),
    _metric("exact_match", "Exact match", "Share of checkups whose answered class set is "
            "exactly the reference set."),
    _metric("hamming_loss", "Hamming loss", "Share of the six yes/no class decisions per "
            "checkup that are wrong.", higher_is_better=False),
    # code_report: text overlap
    _metric("bleu_sentence_mean", "BLEU (sentence mean)", "Each report's own BLEU against "
            "its reference (smoothed), averaged over reports, 0–1: the convention of the "
            "published COde numbers, and what the report board ranks by.", _PEER_TEXT),
    _metric("bleu", "BLEU (corpus)", "One BLEU-4 over all reports at once (n-gram counts "
            "pooled before the geometric mean), 0–1. Not the paper's figure: usually a "
            "different number from the sentence mean beside it.",
            "The published runs report sentence BLEU, not corpus BLEU: no published number "
            "to match."),
    _metric("rouge1", "ROUGE-1", "Word overlap (unigram F-measure) of report and reference, "
            "averaged over reports."),
    _metric("rouge2", "ROUGE-2", "Two-word overlap (bigram F-measure) of report and "
            "reference, averaged over reports."),
    _metric("rougeL", "ROUGE-L", "Longest common word sequence of report and reference "
            "(F-measure), averaged over reports."),
    _metric("meteor", "METEOR", "Word matches (exact, stem, WordNet synonym) with a penalty "
            "for scrambled order, averaged over reports.", _PEER_TEXT),
    _metric("cosine", "MiniLM cosine", "Cosine similarity of report and reference "
            "sentence embeddings (all-MiniLM-L6-v2), averaged over reports.",
            "Equals the published runs' figure to 3 decimals on their fine-tuned runs; "
            "elsewhere the published 0.0 means the metric was not computed."),
    # code_report: clinical content
    _metric("primary_class_accuracy", "Six-class accuracy (report)", "Share of reports "
            "whose diagnosis, as the rule-based labeler reads it, affirms the checkup's "
            "reference class."),
    _metric("clinical_f1", "Clinical F1 (six classes)", "Macro-F1 over the six classes of "
            "what the labeler reads in the report against what it reads in the reference."),
    _metric("diagnosis_f1_micro", "Fine-grained diagnosis F1", "F1 of the fine-grained "
            "anomalies (Angle Class II vs III, …) the report's Diagnosis affirms against the "
            "reference's, pooled over reports."),
    _metric("diagnosis_f1_macro", "Fine-grained diagnosis F1 (macro)", "The same F1 per "
            "anomaly, averaged over the anomalies the references name."),
    _metric("icd_f1", "ICD-10 F1", "F1 of the ICD-10 codes the report's Diagnosis gives "
            "against the reference's, at the full code (national extension included)."),
    _metric("icd_precision", "ICD-10 precision", "Share of the report's ICD-10 codes that "
            "the reference also gives (full code)."),
    _metric("icd_recall", "ICD-10 recall", "Share of the reference's ICD-10 codes the report "
            "also gives (full code)."),
    _metric("icd_category_f1", "ICD-10 category F1", "ICD-10 F1 at the three-character "
            "category (K07, K04)."),
    _metric("icd_category_precision", "ICD-10 category precision", "ICD-10 precision at the "
            "three-character category."),
    _metric("icd_category_recall", "ICD-10 category recall", "ICD-10 recall at the "
            "three-character category."),
    _metric("section_completeness", "Section completeness", "Mean share of the nine report "
            "sections present under their own title with text."),
    _metric("diagnosis_section_rate", "Diagnosis section rate", "Share of reports with a "
            "Diagnosis section that has text."),
)
METRICS: dict[str, Column] = {c.key: c for c in _METRICS}
# The same key meaning something else on another task.
_PER_TASK = {("code_multilabel", "macro_f1"): replace(
    METRICS["macro_f1"], definition="Mean over the six classes of each class's F1, each "
    "checkup's answered class set against its reference set.", published=_NOT_PUBLISHED)}

_OTHER = (
    Column("rank", "Rank (95%)", "The ranks a row could hold on this board at 95% "
           "confidence (1 = best); overlapping intervals cannot be told apart.", "rank",
           None),
    Column("model", "Model", "The model and, for published runs, their setting folder.",
           "text", None),
    Column("ci", "95% CI", "Bootstrap 95% confidence interval of the score (resampling "
           "checkups).", "ci", None),
    Column("setting", "Setting", "Zero-shot, few-shot or fine-tuned.", "text", None),
    Column("params_billion", "Parameters (B)", "Model size in billions of parameters, "
           "where known.", "size", None),
    Column("open_weights", "Open weights", "Whether the model's weights are published.",
           "flag", None),
    Column("top_confusion", "Top confusion", "The commonest fine-grained finding a report "
           "wrote instead of the reference's (reference → written ×reports).", "text",
           None),
    Column("n_failed", "Failed answers", "Checkups the model gave no answer for (they count "
           "as wrong).", "count", None),
    Column("source", "Source", "A published run, or who submitted the row.", "text", None),
    Column("id", "Row id", "The row's number on this server.", "count", None),
    # Only in the CSV: the raw ends of the intervals and what the rows hold besides.
    Column("metric", "Ranked by", "The metric the rows are ranked by.", "text", None),
    Column("ci_low", "95% CI low", "Lower end of the score's 95% CI.", "score", None),
    Column("ci_high", "95% CI high", "Upper end of the score's 95% CI.", "score", None),
    Column("rank_low", "Best rank (95%)", "Best rank the row could hold.", "count", None),
    Column("rank_high", "Worst rank (95%)", "Worst rank the row could hold.", "count", None),
    Column("board", "Board", "The board (a set of checkups).", "text", None),
    Column("task", "Task", "The task.", "text", None),
    Column("submitter", "Submitted by", "Who submitted the row.", "text", None),
    Column("status", "Status", "The row's state.", "text", None),
    Column("harness_version", "Harness version", "The scorer's version.", "text", None),
    Column("current_scorer", "Current scorer", "Scored by this server's harness version.",
           "flag", None),
)
OTHER: dict[str, Column] = {c.key: c for c in _OTHER}
PER_CLASS_PREFIX = "f1:"


def column(key: str, task: str | None = None) -> Column:
    """The spec of a board column or metric key; a key nobody described shows as itself
    (a metric a newly registered task adds), never as an error."""
    if task and (task, key) in _PER_TASK:
        return _PER_TASK[(task, key)]
    if key in METRICS:
        return METRICS[key]
    if key in OTHER:
        return OTHER[key]
    if key.startswith(PER_CLASS_PREFIX):
        name = key.removeprefix(PER_CLASS_PREFIX)
        return Column(key, f"F1: {name}", f"F1 of the class {name} alone.")
    return Column(key, key, "", "text", None)


def label(key: str, task: str | None = None) -> str:
    return column(key, task).label


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: Any) -> str:
    """A score as a paper's table writes it: 3 decimals, "—" when missing."""
    return "—" if _missing(value) else f"{value:.3f}"


def interval(low: Any, high: Any) -> str:
    """A CI as "0.778–0.841" (en dash), "—" when either end is missing."""
    return "—" if _missing(low) or _missing(high) else f"{low:.3f}–{high:.3f}"


def rank_interval(low: int | None, high: int | None) -> str:
    """A rank interval: "1–4", "3" when both ends agree, "—" for a row not ranked."""
    if low is None or high is None:
        return "—"
    return str(low) if low == high else f"{low}–{high}"


def formatted(spec: Column, value: Any) -> str:
    """One cell as the board shows it, by the column's kind."""
    if _missing(value):
        return "—"
    if spec.kind == "score":
        return number(value)
    if spec.kind == "flag":
        return "yes" if value else "no"
    if spec.kind == "size":
        return f"{value:g}"
    return str(value)


def best(values: list[Any], higher_is_better: bool | None) -> float | None:
    """The best value of a column (None for a column with no direction or no value)."""
    present = [v for v in values if not _missing(v)]
    if higher_is_better is None or not present:
        return None
    return max(present) if higher_is_better else min(present)
