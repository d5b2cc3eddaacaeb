"""``code_multilabel``: every COde class the checkup shows.

The reference is the checkup's class set from the label map (all mapped classes of
its fine-grained anomalies, not only the primary one). Answers are read by
``class_answers.extract_class_set``: every class named, or "none"; an answer naming
no class is unparseable, never guessed. Failed and unparseable answers count as the
empty set in the primary view. Point values from scikit-learn; CIs and paired tests
from per-sample TP/FP/FN counts per class, whose sums give the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from eval_harness.errors import DataError
from eval_harness.labels.classes import CLASSES, CLASSES_CN
from eval_harness.metrics import counts
from eval_harness.tasks.base import ScoreOptions, Task, entry, provenance

# Per-sample sufficient statistics: for each class in CLASSES order, (tp, fp, fn).
STATS_FIELDS = tuple(f"{c}:{k}" for c in CLASSES for k in ("tp", "fp", "fn"))


def _reference_answer(checkup) -> str:
    return ", ".join(checkup.classes) if checkup.classes else "none"


def set_counts(reference: Sequence[str], predicted: Sequence[str]) -> list[int]:
    """(tp, fp, fn) per class for one sample, flattened in STATS_FIELDS order."""
    return counts.set_counts(reference, predicted, CLASSES)


def micro_f1_from_counts(sums: np.ndarray) -> np.ndarray:
    return counts.micro_f1(sums, len(CLASSES))


def macro_f1_from_counts(sums: np.ndarray) -> np.ndarray:
    """scikit-learn's macro F1 with zero_division=0: a class never present on either
    side scores 0 and stays in the mean."""
    return counts.macro_f1(sums, len(CLASSES), undefined="zero")


def score(inp, options: ScoreOptions) -> tuple[Any, list[dict[str, Any]]]:
    from eval_harness.labels.class_answers import extract_class_set, synonyms_id
    from eval_harness.metrics.classification import MULTILABEL_METRICS, multilabel_metrics
    from eval_harness.metrics.stats import bootstrap_ci, sum_statistic
    from eval_harness.results import TaskResult, sha256_text

    missing = [r.sample_id for r in inp.references if not r.classes]
    if missing:
        raise DataError.single(inp.source, f"{len(missing)} reference(s) without a class set, "
                               f"e.g. {', '.join(missing[:3])}")
    refs = [tuple(r.classes) for r in inp.references]
    extractions = [extract_class_set(p.text, p.failed) for p in inp.predictions]
    predicted = [e.labels if e.status == "ok" else () for e in extractions]
    set_stats = np.array([set_counts(r, p) for r, p in zip(refs, predicted, strict=True)],
                         dtype=np.float64)
    statistics = {"micro_f1": sum_statistic(micro_f1_from_counts),
                  "macro_f1": sum_statistic(macro_f1_from_counts)}
    answered = [i for i, e in enumerate(extractions) if e.status == "ok"]
    views: dict[str, dict[str, dict[str, Any]]] = {}
    per_class: dict[str, list[dict[str, Any]]] = {}
    exact_all: list[float] = []
    for view, index in (("all", list(range(len(refs)))), ("answered", answered)):
        computed = multilabel_metrics([set(refs[i]) for i in index],
                                      [set(predicted[i]) for i in index])
        per_class[view] = computed["per_class"]
        if view == "all":
            exact_all = computed["metrics"]["exact_match"].per_sample or []
        views[view] = {}
        for name in MULTILABEL_METRICS:
            result = computed["metrics"][name]
            result.signature += f"|view:{view}|non_answer:empty_set|extraction:{synonyms_id()}"
            ci = None
            if result.value is not None:
                data = (set_stats[index], statistics[name]) if name in statistics else \
                    (np.asarray(result.per_sample), "mean")
                ci = bootstrap_ci(data[0], data[1], n_resamples=options.resamples,
                                  seed=options.seed, level=options.level)
            elif view == "answered":
                result.skipped = "no answered samples: every answer failed or was unparseable"
            views[view][name] = entry(result, ci)
    samples = [{
        "id": ref.sample_id, "task": inp.task, "prediction": pred.text,
        "status": ext.status, "extracted": list(ext.labels) if ext.labels is not None
        else None, "reason": ext.reason, "reference": list(refs[i]),
        "correct": exact_all[i], "set_stats": set_stats[i].astype(int).tolist(),
        "hamming": float((set_stats[i].reshape(-1, 3)[:, 1:].sum()) / len(CLASSES)),
        "target_sha256": sha256_text(", ".join(refs[i])),
        **provenance(pred),
    } for i, (ref, pred, ext) in enumerate(zip(inp.references, inp.predictions, extractions,
                                                strict=True))]
    return TaskResult(
        task=inp.task, primary_metric=TASK.primary_metric, n=len(refs),
        n_failed=sum(e.status == "failed" for e in extractions),
        n_unparseable=sum(e.status == "unparseable" for e in extractions),
        metrics=views["all"], answered=views["answered"],
        tables={"per_class": per_class}, notes=list(inp.notes),
    ), samples


def statistics(records: list[dict]) -> dict[str, Any]:
    """Micro- and macro-F1 from the per-sample (tp, fp, fn) counts; exact match and
    Hamming loss as means of per-sample values."""
    from eval_harness.paired import Stat

    stats = np.array([s["set_stats"] for s in records], dtype=np.float64)
    correct = np.array([float(s["correct"]) for s in records])
    return {"micro_f1": Stat(stats, micro_f1_from_counts),
            "macro_f1": Stat(stats, macro_f1_from_counts),
            "exact_match": Stat(correct, correct=correct),
            "hamming_loss": Stat(np.array([s["hamming"] for s in records]),
                                 higher_is_better=False)}


TASK = Task(
    name="code_multilabel",
    description="Every COde anomaly class the checkup shows (its class set).",
    instructions={
        "en": ("List every one of these oro-dental anomalies that this checkup shows: "
               + ", ".join(CLASSES) + ". Answer with the class names only, separated by "
               "commas, or 'none'."),
        "cn": ("列出本次检查显示的以下所有口腔异常："
               + "、".join(CLASSES_CN[c] for c in CLASSES) + "。只回答类别名称，用逗号分隔；"
               "若都没有，回答“无”。"),
    },
    max_new_tokens=48,
    prompt_fields=("chief_complaint",),
    primary_metric="micro_f1",
    reference_answer=_reference_answer,
    score=score,
    statistics=statistics,
    headline=("micro_f1", "macro_f1"),
)
