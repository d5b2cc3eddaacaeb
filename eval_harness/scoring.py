"""Score aligned predictions: task metrics, CIs, per-sample records → results document.

Data flows one way: predictions → answer extraction → metrics (pure functions) →
bootstrap CIs → ``TaskResult`` and per-sample records. Nothing here loads a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from eval_harness.metrics.base import MetricResult
from eval_harness.metrics.stats import CI, ConfusionData, bootstrap_ci, sum_statistic
from eval_harness.predictions import Prediction, ScoringInput
from eval_harness.results import TaskResult, sha256_text


@dataclass(frozen=True)
class ScoreOptions:
    resamples: int = 1000
    seed: int = 0
    level: float = 0.95
    language: str = "en"
    embeddings: bool = True  # MiniLM cosine (about 30 ms per new text on 2 cores)
    uncertain_positive: bool = False  # clinical labels: count "uncertain" as positive


def _provenance(pred: Prediction) -> dict[str, Any]:
    """The per-sample fields that say how an answer came about (error, serving meta)."""
    return {**({"error": pred.error} if pred.error else {}),
            **({"meta": pred.meta} if pred.meta else {})}


def _entry(result: MetricResult, ci: CI | None) -> dict[str, Any]:
    out = result.to_dict()
    if ci is not None and result.value is not None:
        out["ci"] = [ci.low, ci.high]
        out["ci_level"] = ci.level
    return out


def _bootstrap_info(options: ScoreOptions) -> dict[str, Any]:
    return {"resamples": options.resamples, "seed": options.seed, "level": options.level,
            "method": "percentile bootstrap over checkups"}


# --------------------------------------------------------------------------- code_cls


def score_classification(inp: ScoringInput,
                         options: ScoreOptions) -> tuple[TaskResult, list[dict[str, Any]]]:
    from eval_harness.metrics.classification import classification_metrics
    from eval_harness.tasks.code_cls import extract_class

    refs = [r.primary for r in inp.references]
    if any(r is None for r in refs):
        missing = [r.sample_id for r in inp.references if r.primary is None][:3]
        raise ValueError(f"references without a class, e.g. {', '.join(missing)}")
    extractions = [extract_class(p.text, p.failed) for p in inp.predictions]
    computed = classification_metrics(refs, extractions)
    labels = [e.label if e.status == "ok" else None for e in extractions]
    answered = [i for i, e in enumerate(extractions) if e.status == "ok"]
    views: dict[str, dict[str, dict[str, Any]]] = {}
    for view, index in (("all", list(range(len(refs)))), ("answered", answered)):
        data = (ConfusionData.from_labels([refs[i] for i in index], [labels[i] for i in index])
                if index else None)
        views[view] = {
            name: _entry(result, bootstrap_ci(data, name, n_resamples=options.resamples,
                                              seed=options.seed, level=options.level)
                         if data is not None and result.value is not None else None)
            for name, result in computed["views"][view].items()}
    calibration: dict[str, Any] = {}
    if any(p.scores for p in inp.predictions):
        for view, index in (("all", list(range(len(refs)))), ("answered", answered)):
            calibration[view] = _calibration(inp, index, options)
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
        **_provenance(pred),
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


def _calibration(inp: ScoringInput, index: list[int],
                 options: ScoreOptions) -> dict[str, MetricResult]:
    from eval_harness.metrics.calibration import calibration_metrics

    chosen = [inp.predictions[i] for i in index]
    return calibration_metrics([inp.references[i].primary for i in index],
                               [p.scores for p in chosen], [p.failed for p in chosen])


def _calibration_entries(results: dict[str, MetricResult],
                         options: ScoreOptions) -> dict[str, dict[str, Any]]:
    from eval_harness.metrics.calibration import ece_from_stats

    entries = {}
    for name, result in results.items():
        ci = None
        if result.value is not None:
            data, statistic = ((result.details["sufficient_stats"], sum_statistic(ece_from_stats))
                               if name == "ece" else (result.per_sample, "mean"))
            ci = bootstrap_ci(data, statistic, n_resamples=options.resamples, seed=options.seed,
                              level=options.level)
        entries[name] = _entry(MetricResult(result.name, result.value, result.signature,
                                            result.definition, skipped=result.skipped), ci)
    return entries


# --------------------------------------------------------------------------- code_report


def _fill_failed(result: MetricResult, answered: list[int], n: int) -> MetricResult:
    """The "all" view of a mean metric: failed samples score 0.0, never dropped."""
    if result.value is None or result.per_sample is None:
        return result
    values = [0.0] * n
    for i, value in zip(answered, result.per_sample, strict=True):
        values[i] = value
    return MetricResult(result.name, float(np.mean(values)), result.signature,
                        result.definition + " Failed samples score 0.", values,
                        dict(result.details), None)


def score_report(inp: ScoringInput,
                 options: ScoreOptions) -> tuple[TaskResult, list[dict[str, Any]]]:
    from eval_harness.metrics import clinical, text
    from eval_harness.metrics.embeddings import MiniLMEmbedder

    refs = [r.report or "" for r in inp.references]
    if any(not r.strip() for r in refs):
        raise ValueError("every report reference must be non-empty")
    hyps = ["" if p.failed or p.text is None else p.text for p in inp.predictions]
    answered = [i for i, p in enumerate(inp.predictions) if not p.failed and p.text is not None]
    n = len(refs)
    lang = options.language
    embedder = MiniLMEmbedder() if options.embeddings else None
    ans_hyps, ans_refs = [hyps[i] for i in answered], [refs[i] for i in answered]
    text_answered = (text.report_metrics(ans_hyps, ans_refs, lang, embedder=embedder)
                     if answered else {})
    if not options.embeddings and "cosine" in text_answered:
        text_answered["cosine"] = MetricResult.skip("cosine", "disabled (--no-embeddings)")
    # Corpus BLEU over all samples: a failed sample adds its reference length and no
    # matches, exactly as an empty hypothesis would.
    stats_all = np.array(text.bleu_sufficient_stats(hyps, refs, lang), dtype=np.float64)
    text_all = {name: _fill_failed(result, answered, n)
                for name, result in text_answered.items() if name != "bleu"}
    text_all["bleu"] = text.corpus_bleu(hyps, refs, lang, stats=stats_all.astype(int).tolist())
    classes = [r.primary for r in inp.references]
    clinical_all = _clinical(hyps, refs, classes, lang, options)
    clinical_answered = (_clinical(ans_hyps, ans_refs, [classes[i] for i in answered], lang,
                                   options) if answered else {})
    bleu_stat = sum_statistic(text.bleu_from_stats_batch)
    views: dict[str, dict[str, dict[str, Any]]] = {}
    for view, results, index in (("all", {**text_all, **clinical_all}, list(range(n))),
                                 ("answered", {**text_answered, **clinical_answered}, answered)):
        entries = {}
        for name, result in results.items():
            ci = None
            if result.value is not None and index:
                if name == "bleu":
                    ci = bootstrap_ci(stats_all[index], bleu_stat, n_resamples=options.resamples,
                                      seed=options.seed, level=options.level)
                elif name == "clinical_f1":
                    ci = bootstrap_ci(np.asarray(result.details["sufficient_stats"]),
                                      sum_statistic(clinical.macro_f1_from_counts),
                                      n_resamples=options.resamples, seed=options.seed,
                                      level=options.level)
                elif result.per_sample is not None:
                    ci = bootstrap_ci(result.per_sample, "mean", n_resamples=options.resamples,
                                      seed=options.seed, level=options.level)
            entries[name] = _entry(_without_bulky_details(result), ci)
        views[view] = entries
    # clinical_f1's per-sample value is an agreement fraction; its F1 needs the counts.
    clinical_stats = [list(map(int, row)) for row in
                      clinical_all["clinical_f1"].details["sufficient_stats"]]
    per_sample_names = [k for k, v in {**text_all, **clinical_all}.items()
                        if v.per_sample is not None]
    samples = [{
        "id": ref.sample_id, "task": inp.task, "prediction": pred.text,
        "status": "failed" if pred.failed else "ok", "reference_class": ref.primary,
        "target_sha256": sha256_text(refs[i]),
        "metrics": {name: {**text_all, **clinical_all}[name].per_sample[i]
                    for name in per_sample_names},
        "bleu_stats": stats_all[i].astype(int).tolist(),
        "clinical_stats": clinical_stats[i],
        **_provenance(pred),
    } for i, (ref, pred) in enumerate(zip(inp.references, inp.predictions, strict=True))]
    return TaskResult(
        task=inp.task, primary_metric="bleu_sentence_mean", n=n,
        n_failed=n - len(answered), n_unparseable=0, metrics=views["all"],
        answered=views["answered"], tables={}, notes=list(inp.notes),
    ), samples


def _clinical(hyps: list[str], refs: list[str], classes: list[str | None], language: str,
              options: ScoreOptions) -> dict[str, MetricResult]:
    from eval_harness.metrics import clinical

    out = {"clinical_f1": clinical.clinical_efficacy_f1(
               hyps, refs, language, uncertain_positive=options.uncertain_positive),
           "section_completeness": clinical.section_completeness(hyps, language)}
    if all(c is not None for c in classes):
        out["primary_class_accuracy"] = clinical.primary_class_accuracy(
            hyps, classes, language, uncertain_positive=options.uncertain_positive)
    else:
        out["primary_class_accuracy"] = MetricResult.skip(
            "primary_class_accuracy", "reference classes unknown for some samples")
    return out


def _without_bulky_details(result: MetricResult) -> MetricResult:
    """Per-sample statistics live in samples.jsonl, not in the results document."""
    details = {k: v for k, v in result.details.items() if k != "sufficient_stats"}
    return MetricResult(result.name, result.value, result.signature, result.definition,
                        None, details, result.skipped)
