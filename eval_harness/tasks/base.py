"""What a task is, and the scoring machinery every task shares.

A task declares its prompt, its answer extraction, its scorer, its primary metric,
what the baselines answer and how two runs are compared on it. The scorer computes
each per-sample value once, over every sample (a failed answer gets the value an empty
answer earns, 0 for the text metrics); the "all" and "answered" views are the same
per-sample data, subset. A metric that could not be computed still appears, with the
reason, in both views: no results document ever lacks a metric of its task.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from eval_harness.metrics.base import MetricResult

if TYPE_CHECKING:
    from eval_harness.data.checkup import Checkup
    from eval_harness.paired import Stat
    from eval_harness.predictions import Prediction, ScoringInput
    from eval_harness.results import TaskResult

@dataclass(frozen=True)
class ScoreOptions:
    resamples: int = 1000
    seed: int = 0
    level: float = 0.95
    language: str = "en"
    embeddings: bool = True  # MiniLM cosine (about 30 ms per new text on 2 cores)
    uncertain_positive: bool = False  # clinical labels: count "uncertain" as positive
    # Above this share of failed answers in any task the run is "degraded".
    max_failure_rate: float = 0.2
    # Only for tests and the benchmark: the embedder to use instead of MiniLM.
    embedder: Any = field(default=None, compare=False, repr=False)

    def bootstrap_info(self) -> dict[str, Any]:
        return {"resamples": self.resamples, "seed": self.seed, "level": self.level,
                "method": "percentile bootstrap over checkups"}


@dataclass(frozen=True)
class Task:
    """One benchmark task. Register it with one line in ``eval_harness.tasks``."""

    name: str
    description: str
    instructions: dict[str, str]  # language -> the instruction closing the user turn
    max_new_tokens: int
    # Patient record fields put into the prompt (besides age and gender).
    prompt_fields: tuple[str, ...]
    primary_metric: str
    # The answer a perfect model gives for a checkup (baselines, fine-tuning targets).
    reference_answer: Callable[[Checkup], str]
    score: Callable[[ScoringInput, ScoreOptions], tuple[TaskResult, list[dict[str, Any]]]]
    # Per-sample sufficient statistics of every metric two runs can be compared on, from
    # one run's per-sample records in checkup order (what ``eval_harness.paired`` resamples).
    statistics: Callable[[list[dict]], dict[str, Stat]]
    # The metrics a board ranks by (its primary first): each row stores their replicates.
    headline: tuple[str, ...] = ()
    # What the `random` baseline answers; default: a random train checkup's answer.
    random_answer: Callable[[random.Random, Sequence[Checkup]], str] | None = None
    # The task's name in the pocket-dentist peer runs, where it has one.
    peer_name: str | None = None
    # Scored against the reference reports: two runs compare only on the same reports.
    uses_reports: bool = False

    def rank_metrics(self) -> tuple[str, ...]:
        """What a board can rank this task by: the primary metric first."""
        return (self.primary_metric, *(m for m in self.headline if m != self.primary_metric))

    def answer_randomly(self, rng: random.Random, train: Sequence[Checkup]) -> str:
        if self.random_answer is not None:
            return self.random_answer(rng, train)
        return self.reference_answer(rng.choice(list(train)))


# --------------------------------------------------------------------------- shared scoring


def provenance(pred: Prediction) -> dict[str, Any]:
    """The per-sample fields that say how an answer came about (error, serving meta)."""
    return {**({"error": pred.error} if pred.error else {}),
            **({"meta": pred.meta} if pred.meta else {})}


def entry(result: MetricResult, ci: Any = None) -> dict[str, Any]:
    """A metric as the results document holds it: value, CI, signature, definition."""
    details = {k: v for k, v in result.details.items() if k != "sufficient_stats"}
    out = MetricResult(result.name, result.value, result.signature, result.definition,
                       None, details, result.skipped).to_dict()
    if ci is not None and result.value is not None:
        out["ci"] = [ci.low, ci.high]
        out["ci_level"] = ci.level
    return out


Statistic = Callable[[np.ndarray], Any]  # summed sufficient statistics -> value(s)


@dataclass
class SampleMetric:
    """A metric's per-sample data over all n samples, from which any view is a subset.

    ``values`` is (n,) for a mean of per-sample values, or (n, k) sufficient statistics
    whose column sums give the value through ``from_sums`` (corpus BLEU, macro-F1).
    ``result`` carries name, signature, definition and, when skipped, the reason.
    """

    result: MetricResult
    values: np.ndarray | None = None
    from_sums: Statistic | None = None

    def view(self, index: Sequence[int], options: ScoreOptions, empty_reason: str,
             full: bool) -> dict[str, Any]:
        """One view's entry; ``full`` says the index covers every sample, where the
        details computed with the metric (n-gram precisions, say) still hold."""
        from eval_harness.metrics.stats import bootstrap_ci, sum_statistic

        r = self.result
        if self.values is None or r.skipped:
            reason = r.skipped or "not computed"
            return entry(MetricResult.skip(r.name, reason, r.signature, r.definition))
        if not len(index):
            return entry(MetricResult.skip(r.name, empty_reason, r.signature, r.definition))
        data = self.values[list(index)]
        if self.from_sums is None:
            value, statistic = float(np.mean(data)), "mean"
        else:
            sums = data.sum(axis=0)[None, :]
            value = float(np.asarray(self.from_sums(sums)).reshape(-1)[0])
            statistic = sum_statistic(self.from_sums)
        if np.isnan(value):
            return entry(MetricResult.skip(r.name, "undefined on these samples", r.signature,
                                           r.definition))
        ci = bootstrap_ci(data, statistic, n_resamples=options.resamples, seed=options.seed,
                          level=options.level)
        details = {**r.details, "n": len(data)} if full else {"n": len(data)}
        return entry(MetricResult(r.name, value, r.signature, r.definition, None, details),
                     ci)


def views(metrics: dict[str, SampleMetric], n: int, answered: Sequence[int],
          options: ScoreOptions) -> dict[str, dict[str, dict[str, Any]]]:
    """Both views of every metric, from the same per-sample data."""
    every = {name: m.view(range(n), options, "no samples", True)
             for name, m in metrics.items()}
    if len(answered) == n:  # nothing failed: the answered view is the same subset
        return {"all": every, "answered": every}
    return {"all": every,
            "answered": {name: m.view(answered, options, "no answered samples: every answer "
                                      "failed, so this view is not computed", False)
                         for name, m in metrics.items()}}


def filled(per_answered: Sequence[float], answered: Sequence[int], n: int) -> np.ndarray:
    """Per-sample values over all n samples: a sample without an answer scores 0."""
    out = np.zeros(n, dtype=np.float64)
    out[list(answered)] = np.asarray(per_answered, dtype=np.float64)
    return out
