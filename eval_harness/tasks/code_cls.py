"""``code_cls``: which one of the six COde classes does the checkup show.

Answers are read by ``class_answers.extract_class`` (exactly one class named, never a
guess); metrics come from scikit-learn with failures and unparseable answers counted
wrong in the primary view; class probabilities, when given, add calibration.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
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
    from eval_harness.metrics.classification import classification_metrics
    from eval_harness.metrics.stats import ConfusionData, bootstrap_ci
    from eval_harness.results import TaskResult, sha256_text
    from eval_harness.tasks.class_answers import extract_class

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


def paired_rows(a: list[dict], b: list[dict], resamples: int, seed: int) -> list:
    from eval_harness.compare import Row, exact_mcnemar_p
    from eval_harness.metrics.stats import ConfusionData, paired_bootstrap

    refs = [s["reference"] for s in a]
    if refs != [s["reference"] for s in b]:
        raise DataError.single("compare", "code_cls: the runs disagree on reference labels")
    data_a = ConfusionData.from_labels(refs, [s["extracted"] for s in a])
    data_b = ConfusionData.from_labels(refs, [s["extracted"] for s in b])
    rows = []
    for metric in CLS_METRICS:
        result = paired_bootstrap(data_a, data_b, metric, resamples, seed)
        p_mc = (exact_mcnemar_p([s["correct"] for s in a], [s["correct"] for s in b])
                if metric == "accuracy" else None)
        rows.append(Row.from_bootstrap(TASK.name, metric, result, p_mc))
    if all("calibration" in s for s in a + b):  # both runs gave class probabilities
        for metric in ("log_loss", "brier"):
            rows.append(Row.from_bootstrap(TASK.name, metric, paired_bootstrap(
                [s["calibration"][metric] for s in a], [s["calibration"][metric] for s in b],
                "mean", resamples, seed)))
    return rows


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
    paired_rows=paired_rows,
    peer_name="code_classification",
)
