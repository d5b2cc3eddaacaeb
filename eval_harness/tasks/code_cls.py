"""``code_cls``: which one of the six COde classes does the checkup show.

Answers are read by ``class_answers.extract_class`` (exactly one class named, never a
guess); metrics come from scikit-learn with failures and unparseable answers counted
wrong in the primary view; class probabilities, when given, add calibration.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import partial
from typing import Any

from eval_harness.errors import DataError
from eval_harness.labels.classes import CLASSES, CLASSES_CN
from eval_harness.metrics.base import MetricResult
from eval_harness.tasks.base import ScoreOptions, Task, entry, provenance

CLS_METRICS = ("accuracy", "macro_f1", "weighted_f1")


def _reference_answer(checkup) -> str:
    if checkup.primary is None:
        raise ValueError(f"checkup {checkup.checkup_id} has no class")
    return checkup.primary


def _random_answer(rng: random.Random, train: Sequence) -> str:
    return rng.choice(CLASSES)  # uniform over the classes, whatever the train balance


def score(inp, options: ScoreOptions) -> tuple[Any, list[dict[str, Any]]]:
    from eval_harness.labels.class_answers import extract_class
    from eval_harness.metrics.classification import classification_metrics
    from eval_harness.metrics.stats import ConfusionData, bootstrap_ci
    from eval_harness.results import TaskResult, sha256_text

    refs = [r.primary for r in inp.references]
    missing = [r.sample_id for r in inp.references if r.primary is None]
    if missing:
        raise DataError.single(inp.source, f"{len(missing)} reference(s) without a class, "
                               f"e.g. {', '.join(missing[:3])}")
    extractions = [extract_class(p.text, p.failed) for p in inp.predictions]
    computed = classification_metrics(refs, extractions)
    labels = [e.label if e.status == "ok" else None for e in extractions]
    answered = [i for i, e in enumerate(extractions) if e.status == "ok"]
    views: dict[str, dict[str, dict[str, Any]]] = {}
    cis: dict[str, Any] = {}
    for view, index in (("all", list(range(len(refs)))), ("answered", answered)):
        data = (ConfusionData.from_labels([refs[i] for i in index], [labels[i] for i in index])
                if index else None)
        if view == "all" or len(index) < len(refs):  # else the same subset: same CIs
            cis = {name: bootstrap_ci(data, name, n_resamples=options.resamples,
                                      seed=options.seed, level=options.level)
                   for name, result in computed["views"][view].items()
                   if data is not None and result.value is not None}
        views[view] = {name: entry(result, cis.get(name))
                       for name, result in computed["views"][view].items()}
    calibration: dict[str, Any] = {}
    if any(p.scores for p in inp.predictions):
        for view, index in (("all", list(range(len(refs)))), ("answered", answered)):
            calibration[view] = _calibration(inp, index)
            views[view].update(_calibration_entries(calibration[view], options))
    correct = computed["views"]["all"]["accuracy"].per_sample
    samples = [{
        "id": ref.sample_id, "task": inp.task, "prediction": pred.text,
        "status": ext.status, "extracted": ext.label, "reason": ext.reason,
        "reference": ref.primary, "correct": correct[i],
        "target_sha256": sha256_text(ref.primary),
        **({"calibration": {name: calibration["all"][name].per_sample[i]
                            for name in ("log_loss", "brier")}}
           if calibration and calibration["all"]["log_loss"].value is not None else {}),
        **provenance(pred),
    } for i, (ref, pred, ext) in enumerate(zip(inp.references, inp.predictions, extractions,
                                                strict=True))]
    counts = computed["counts"]
    return TaskResult(
        task=inp.task, primary_metric=computed["primary"], n=counts["n"],
        n_failed=counts["n_failed"], n_unparseable=counts["n_unparseable"],
        metrics=views["all"], answered=views["answered"],
        tables={"per_class": computed["per_class"],
                "confusion_matrix": computed["confusion_matrix"]},
        notes=list(inp.notes),
    ), samples


def _calibration(inp, index: list[int]) -> dict[str, MetricResult]:
    from eval_harness.metrics.calibration import calibration_metrics

    chosen = [inp.predictions[i] for i in index]
    return calibration_metrics([inp.references[i].primary for i in index],
                               [p.scores for p in chosen], [p.failed for p in chosen])


def _calibration_entries(results: dict[str, MetricResult],
                         options: ScoreOptions) -> dict[str, dict[str, Any]]:
    from eval_harness.metrics.calibration import ece_from_stats
    from eval_harness.metrics.stats import bootstrap_ci, sum_statistic

    entries = {}
    for name, result in results.items():
        ci = None
        if result.value is not None:
            data, statistic = ((result.details["sufficient_stats"], sum_statistic(ece_from_stats))
                               if name == "ece" else (result.per_sample, "mean"))
            ci = bootstrap_ci(data, statistic, n_resamples=options.resamples, seed=options.seed,
                              level=options.level)
        entries[name] = entry(result, ci)
    return entries


def statistics(records: list[dict]) -> dict[str, Any]:
    """Per-sample (tp, fp, fn) of each class (an answer outside the classes is a miss of
    the reference class, never a class), whose sums give accuracy, macro- and weighted-F1
    exactly as scikit-learn computes them; log loss and Brier where probabilities exist."""
    import numpy as np

    from eval_harness.metrics import counts
    from eval_harness.paired import Stat

    k = len(CLASSES)
    stats = np.array([counts.set_counts([s["reference"]],
                                        [s["extracted"]] if s["extracted"] in CLASSES else [],
                                        CLASSES) for s in records], dtype=np.float64)
    correct = np.array([float(s["correct"]) for s in records])
    out = {"accuracy": Stat(correct, correct=correct),
           "macro_f1": Stat(stats, partial(counts.macro_f1, k=k, undefined="zero")),
           "weighted_f1": Stat(stats, partial(counts.weighted_f1, k=k))}
    if records and all("calibration" in s for s in records):
        for metric in ("log_loss", "brier"):
            out[metric] = Stat(np.array([s["calibration"][metric] for s in records]),
                               higher_is_better=False)
    return out


TASK = Task(
    name="code_cls",
    description="Which one of the six COde anomaly classes the checkup shows.",
    instructions={
        "en": ("Which one of these oro-dental anomalies does this checkup show: "
               + ", ".join(CLASSES) + "? Answer with the class name only."),
        "cn": ("本次检查显示以下哪一种口腔异常："
               + "、".join(CLASSES_CN[c] for c in CLASSES) + "？只回答类别名称。"),
    },
    max_new_tokens=16,
    prompt_fields=("chief_complaint",),
    primary_metric="macro_f1",
    reference_answer=_reference_answer,
    random_answer=_random_answer,
    score=score,
    statistics=statistics,
    headline=CLS_METRICS,
    peer_name="code_classification",
)
