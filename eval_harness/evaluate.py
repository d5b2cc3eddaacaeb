"""Scoring inputs of several tasks into one results document."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from eval_harness.predictions import Prediction, ScoringInput
from eval_harness.results import DatasetInfo, ResultsDocument
from eval_harness.scoring import ScoreOptions, _bootstrap_info, score_classification, score_report

SCORERS = {"code_cls": score_classification, "code_report": score_report}


def evaluate_inputs(inputs: dict[str, ScoringInput], options: ScoreOptions, *,
                    dataset: DatasetInfo, model: dict[str, Any],
                    prompt_hash: str | None = None) -> tuple[ResultsDocument, list[dict]]:
    tasks, samples = {}, []
    for task, inp in inputs.items():
        result, task_samples = SCORERS[task](inp, options)
        tasks[task] = result
        samples.extend(task_samples)
    document = ResultsDocument(
        dataset=dataset, model=model, tasks=tasks, bootstrap=_bootstrap_info(options),
        prompt_hash=prompt_hash,
        serving=serving_summary(p for inp in inputs.values() for p in inp.predictions))
    return document, samples


def serving_summary(predictions: Iterable[Prediction]) -> dict[str, Any] | None:
    """Who answered, summed over samples: a served-model or fingerprint change mid-run
    shows up as two keys. None when no prediction carries backend metadata."""
    models: Counter[str] = Counter()
    fingerprints: Counter[str] = Counter()
    usage: Counter[str] = Counter()
    retries = with_meta = 0
    for pred in predictions:
        if not pred.meta:
            continue
        with_meta += 1
        meta = pred.meta
        if meta.get("served_model"):
            models[str(meta["served_model"])] += 1
        if meta.get("system_fingerprint"):
            fingerprints[str(meta["system_fingerprint"])] += 1
        retries += int(meta.get("retries") or 0)
        for key, value in (meta.get("usage") or {}).items():
            if key in ("prompt_tokens", "completion_tokens") and isinstance(value, int):
                usage[key] += value
    if not with_meta:
        return None
    return {"samples_with_meta": with_meta, "served_models": dict(models),
            "system_fingerprints": dict(fingerprints), "retries": retries,
            "usage": dict(usage)}
