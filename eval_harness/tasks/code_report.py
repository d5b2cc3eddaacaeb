"""``code_report``: the complete diagnostic report, nine "Title: text" lines.

Text overlap (BLEU, ROUGE, METEOR, embedding cosine) and clinical content (the
rule-based labeler: the reference class affirmed, per-class agreement, sections
present). Each per-sample value is computed once: text metrics on the answered
reports (a failed report scores 0), clinical metrics on every report (a failed one
is empty and affirms nothing). Both views are subsets of those values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eval_harness.data.checkup import REPORT_SECTIONS
from eval_harness.errors import DataError
from eval_harness.metrics.base import MetricResult
from eval_harness.metrics.diagnosis import METRICS as DIAGNOSIS_METRICS
from eval_harness.metrics.diagnosis import diagnosis_agreement
from eval_harness.tasks.base import SampleMetric, ScoreOptions, Task, filled, provenance, views

# Every metric of the task, in the order tables show them: all present in every document.
TEXT_METRICS = ("bleu", "bleu_sentence_mean", "rouge1", "rouge2", "rougeL", "meteor", "cosine")
CLINICAL_METRICS = ("primary_class_accuracy", "clinical_f1", "section_completeness")
METRICS = TEXT_METRICS + CLINICAL_METRICS + DIAGNOSIS_METRICS


def _reference_answer(checkup) -> str:
    return checkup.reference_report


def _text_metrics(hyps: list[str], refs: list[str], answered: list[int], n: int,
                  options: ScoreOptions) -> dict[str, SampleMetric]:
    from eval_harness.metrics import text

    lang = options.language
    ans_hyps, ans_refs = [hyps[i] for i in answered], [refs[i] for i in answered]
    # Corpus BLEU over all samples: a failed sample adds its reference length and no
    # matches, exactly as an empty hypothesis would.
    stats = np.array(text.bleu_sufficient_stats(hyps, refs, lang), dtype=np.float64)
    stats_list = stats.astype(int).tolist()
    bleu = text.corpus_bleu(hyps, refs, lang, stats=stats_list)
    out = {"bleu": SampleMetric(bleu, stats, text.bleu_from_stats_batch)}
    ans_stats = [stats_list[i] for i in answered]
    results = {"bleu_sentence_mean": text.sentence_bleu_mean(ans_hyps, ans_refs, lang,
                                                             stats=ans_stats or None),
               **text.rouge(ans_hyps, ans_refs, lang),
               "meteor": text.meteor(ans_hyps, ans_refs, lang)}
    if not options.embeddings:
        results["cosine"] = MetricResult.skip(
            "cosine", "disabled (--no-embeddings)",
            definition="Mean over samples of the embedding cosine of report and reference.")
    else:  # with nothing answered this loads no model: every sample scores 0
        results["cosine"] = text.cosine(ans_hyps, ans_refs, lang, embedder=options.embedder)
    for name, result in results.items():
        out[name] = _zero_filled(result, answered, n)
    return out


def _zero_filled(result: MetricResult, answered: list[int], n: int) -> SampleMetric:
    """A mean metric over all samples: failed samples score 0, never dropped."""
    if result.per_sample is not None:
        return SampleMetric(result, filled(result.per_sample, answered, n))
    if not answered and result.skipped == "no samples":
        # Nothing answered: every sample scores 0 (answered view says it is empty).
        zero = MetricResult(result.name, 0.0, result.signature,
                            result.definition + " Failed samples score 0.")
        return SampleMetric(zero, np.zeros(n))
    return SampleMetric(result)


def _clinical_metrics(hyps: list[str], classes: list[str | None],
                      options: ScoreOptions, refs: list[str]) -> dict[str, SampleMetric]:
    from eval_harness.metrics import clinical

    lang, unc = options.language, options.uncertain_positive
    f1 = clinical.clinical_efficacy_f1(hyps, refs, lang, uncertain_positive=unc)
    out = {"clinical_f1": SampleMetric(
        f1, np.asarray(f1.details["sufficient_stats"], dtype=np.float64),
        clinical.macro_f1_from_counts)}
    if all(c is not None for c in classes):
        acc = clinical.primary_class_accuracy(hyps, classes, lang, uncertain_positive=unc)
        out["primary_class_accuracy"] = SampleMetric(acc, np.asarray(acc.per_sample))
    else:
        out["primary_class_accuracy"] = SampleMetric(MetricResult.skip(
            "primary_class_accuracy", "reference classes unknown for some samples"))
    sections = clinical.section_completeness(hyps, lang)
    out["section_completeness"] = SampleMetric(sections, np.asarray(sections.per_sample))
    return out


def _diagnosis_metrics(agreement) -> dict[str, SampleMetric]:
    """Fine-grained and ICD-10 agreement of the Diagnosis (metrics.diagnosis)."""
    return {name: SampleMetric(result, *agreement.data[name])
            for name, result in agreement.results.items()}


def score(inp, options: ScoreOptions) -> tuple[Any, list[dict[str, Any]]]:
    from eval_harness.results import TaskResult, sha256_text

    refs = [r.report or "" for r in inp.references]
    empty = [r.sample_id for r, text in zip(inp.references, refs, strict=True)
             if not text.strip()]
    if empty:
        raise DataError.single(inp.source, f"{len(empty)} reference report(s) are empty, "
                               f"e.g. {', '.join(empty[:3])}")
    hyps = ["" if p.failed or p.text is None else p.text for p in inp.predictions]
    answered = [i for i, p in enumerate(inp.predictions) if not p.failed and p.text is not None]
    n = len(refs)
    ids = [r.sample_id for r in inp.references]
    agreement = diagnosis_agreement(hyps, refs, ids, options.language,
                                    options.uncertain_positive)
    metrics = {**_text_metrics(hyps, refs, answered, n, options),
               **_clinical_metrics(hyps, [r.primary for r in inp.references], options, refs),
               **_diagnosis_metrics(agreement)}
    metrics = {name: metrics[name] for name in METRICS}
    both = views(metrics, n, answered, options)
    per_sample = {name: m.values for name, m in metrics.items()
                  if m.values is not None and m.values.ndim == 1}
    bleu_stats, clinical_stats = metrics["bleu"].values, metrics["clinical_f1"].values
    samples = [{
        "id": ref.sample_id, "task": inp.task, "prediction": pred.text,
        "status": "failed" if pred.failed else "ok", "reference_class": ref.primary,
        "target_sha256": sha256_text(refs[i]),
        "metrics": {name: float(values[i]) for name, values in per_sample.items()},
        "bleu_stats": bleu_stats[i].astype(int).tolist(),
        "clinical_stats": clinical_stats[i].astype(int).tolist(),
        # Where the diagnosis was read (flagged when not the Diagnosis section) and which
        # findings and codes it got right (tp), added (fp) and missed (fn).
        "diagnosis": agreement.samples[i],
        **provenance(pred),
    } for i, (ref, pred) in enumerate(zip(inp.references, inp.predictions, strict=True))]
    return TaskResult(
        task=inp.task, primary_metric=TASK.primary_metric, n=n,
        n_failed=n - len(answered), n_unparseable=0, metrics=both["all"],
        answered=both["answered"], tables=agreement.tables, notes=list(inp.notes),
    ), samples


def statistics(records: list[dict]) -> dict[str, Any]:
    """Corpus BLEU and clinical macro-F1 from summed per-sample counts, the diagnosis
    metrics from each sample's findings and codes (laid out over the anomalies this run's
    records name: a macro average over the reference's anomalies is the same on any
    layout that holds them), every other metric as a mean of per-sample values."""
    from functools import partial

    from eval_harness.metrics import counts, diagnosis
    from eval_harness.metrics.clinical import macro_f1_from_counts
    from eval_harness.metrics.text import bleu_from_stats_batch
    from eval_harness.paired import Stat

    def summed(key: str) -> np.ndarray:
        return np.array([s[key] for s in records], dtype=np.float64)

    out = {"bleu": Stat(summed("bleu_stats"), bleu_from_stats_batch),
           "clinical_f1": Stat(summed("clinical_stats"), macro_f1_from_counts)}
    if records and all("diagnosis" in s for s in records):
        arrays = diagnosis.sample_arrays([s["diagnosis"] for s in records])
        for name, (values, statistic) in diagnosis.statistics_of(arrays).items():
            out[name] = Stat(values, statistic)
        # Micro F1 pools every anomaly: per-sample totals (n x 3) give the same value at a
        # fraction of the resampling cost of one column per anomaly.
        findings = arrays["findings"]
        totals = (findings.reshape(len(records), -1, 3).sum(axis=1) if findings.shape[1]
                  else np.zeros((len(records), 3)))
        out["diagnosis_f1_micro"] = Stat(totals, partial(counts.micro_f1, k=1))
    for name in METRICS:
        if name not in out and records and all(name in s["metrics"] for s in records):
            out[name] = Stat(np.array([s["metrics"][name] for s in records]))
    return {name: out[name] for name in METRICS if name in out}


TASK = Task(
    name="code_report",
    description="The complete diagnostic report of the checkup, one line per section.",
    instructions={
        "en": ("Write the complete diagnostic report, one line per section: "
               + ", ".join(s[1] for s in REPORT_SECTIONS) + "."),
        "cn": ("请撰写完整的诊断报告，每个部分一行："
               + "、".join(s[2] for s in REPORT_SECTIONS) + "。"),
    },
    max_new_tokens=512,
    # History helps the report, not the image-based class.
    prompt_fields=("chief_complaint", "present_illness", "past_medical_record"),
    primary_metric="bleu_sentence_mean",
    reference_answer=_reference_answer,
    score=score,
    statistics=statistics,
    headline=("bleu_sentence_mean", "primary_class_accuracy", "diagnosis_f1_micro", "icd_f1",
              "rougeL", "meteor"),
    peer_name="code_report",
    uses_reports=True,
)
