"""Scoring inputs of several tasks into one results document."""

from __future__ import annotations

from typing import Any

from eval_harness.predictions import ScoringInput
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
    document = ResultsDocument(dataset=dataset, model=model, tasks=tasks,
                               bootstrap=_bootstrap_info(options), prompt_hash=prompt_hash)
    return document, samples
