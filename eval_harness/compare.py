"""Paired comparison of two runs on the same checkups.

Each task (from the registry) declares the per-sample statistics of its metrics; both
runs' replicates on one resample plan go through ``eval_harness.paired`` (the engine the
leaderboard ranks with), giving per metric the difference, its CI and a p-value. Holm's
correction takes exactly one p-value per metric, the paired bootstrap's; McNemar's
exact test is reported beside it for accuracy-like metrics, never mixed in. A metric
that one run could not compute (METEOR without WordNet, say) is listed with the
reason instead of vanishing from the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eval_harness.errors import DataError
from eval_harness.metrics.stats import holm, mcnemar
from eval_harness.paired import Pair, ResamplePlan, Stat, pair, replicates
from eval_harness.results import ResultsDocument


@dataclass
class Row:
    task: str
    metric: str
    a: float | None
    b: float | None
    delta: float | None
    ci: tuple[float, float] | None
    p_bootstrap: float | None
    p_mcnemar: float | None = None
    p_holm: float | None = None
    skipped: str | None = None  # why no test: the metric is missing from a run

    @classmethod
    def from_pair(cls, task: str, metric: str, result: Pair,
                  p_mcnemar: float | None = None) -> Row:
        return cls(task, metric, result.a, result.b, result.delta,
                   (result.ci_low, result.ci_high), result.p_value, p_mcnemar)

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"ci": list(self.ci) if self.ci else None}


def exact_mcnemar_p(correct_a: Sequence[bool | float], correct_b: Sequence[bool | float]) -> float:
    return mcnemar(correct_a, correct_b, exact=True).p_value


def _by_id(samples: list[dict], task: str) -> dict[str, dict]:
    return {s["id"]: s for s in samples if s["task"] == task}


def _check_same_data(doc_a: ResultsDocument, doc_b: ResultsDocument,
                     shared: list[str]) -> None:
    from eval_harness.tasks import get_task

    da, db = doc_a.dataset, doc_b.dataset
    if da.fingerprint != db.fingerprint:
        raise DataError.single("compare", "the runs were scored on different datasets "
                               f"({da.fingerprint[:12]} vs {db.fingerprint[:12]}: different "
                               "checkups, reference classes or label map); numbers are not "
                               "comparable")
    reports = any(get_task(t).uses_reports for t in shared)
    if reports and da.reports_fingerprint != db.reports_fingerprint:
        raise DataError.single("compare", "the runs were scored against different reference "
                               "reports; report numbers are not comparable")


def compare_runs(a: tuple[ResultsDocument, list[dict]], b: tuple[ResultsDocument, list[dict]],
                 *, resamples: int = 1000, seed: int = 0) -> list[Row]:
    from eval_harness.tasks import task_names

    (doc_a, samples_a), (doc_b, samples_b) = a, b
    shared = [t for t in doc_a.tasks if t in doc_b.tasks]
    if not shared:
        raise DataError.single("compare", f"the runs share no task (A: {', '.join(doc_a.tasks)}; "
                               f"B: {', '.join(doc_b.tasks)})")
    unknown = [t for t in shared if t not in task_names()]
    if unknown:
        raise DataError.single("compare", f"unknown task(s) {', '.join(unknown)} in the results")
    _check_same_data(doc_a, doc_b, shared)
    rows: list[Row] = []
    for task in shared:
        sa, sb = _by_id(samples_a, task), _by_id(samples_b, task)
        if set(sa) != set(sb):
            raise DataError.single("compare", f"{task}: the runs cover different checkups "
                                   f"({len(set(sa) ^ set(sb))} differ)")
        ids = sorted(sa)
        task_rows = paired_rows(task, [sa[i] for i in ids], [sb[i] for i in ids],
                                ResamplePlan(len(ids), resamples, seed))
        rows.extend(task_rows)
        rows.extend(_skipped_rows(task, doc_a, doc_b, {r.metric for r in task_rows}))
    return holm_rows(rows)


def paired_rows(task: str, a: list[dict], b: list[dict], plan: ResamplePlan) -> list[Row]:
    """One row per metric both runs have statistics for, from their replicates on
    ``plan`` (per-sample records of the same checkups, in the same order)."""
    from eval_harness.tasks import get_task

    stats_a, stats_b = (get_task(task).statistics(run) for run in (a, b))
    rows = []
    for metric in (m for m in stats_a if m in stats_b):
        rows.append(pair_row(task, metric, stats_a[metric], stats_b[metric], plan))
    return rows


def pair_row(task: str, metric: str, a: Stat, b: Stat, plan: ResamplePlan) -> Row:
    result = pair(a.point(), replicates(a, plan), b.point(), replicates(b, plan))
    p_mcnemar = (exact_mcnemar_p(a.correct, b.correct)
                 if a.correct is not None and b.correct is not None else None)
    return Row.from_pair(task, metric, result, p_mcnemar)


def holm_rows(rows: list[Row]) -> list[Row]:
    """Fill each row's Holm-adjusted p-value, over every row that has a bootstrap p."""
    adjusted = holm({f"{r.task}/{r.metric}": r.p_bootstrap for r in rows
                     if r.p_bootstrap is not None})
    for r in rows:
        r.p_holm = adjusted.get(f"{r.task}/{r.metric}")
    return rows


def _skipped_rows(task: str, doc_a: ResultsDocument, doc_b: ResultsDocument,
                  tested: set[str]) -> list[Row]:
    """A row for every metric of either run that got no test, saying why."""
    ma, mb = doc_a.tasks[task].metrics, doc_b.tasks[task].metrics
    rows = []
    for name in dict.fromkeys([*ma, *mb]):
        if name in tested:
            continue
        ea, eb = ma.get(name, {}), mb.get(name, {})
        reasons = [f"{side}: {e.get('skipped') or ('missing' if not e else 'no per-sample data')}"
                   for side, e in (("A", ea), ("B", eb)) if not e or e.get("value") is None]
        if not reasons:
            # Both have a value but the task has no paired test for it (e.g. precision).
            continue
        rows.append(Row(task, name, ea.get("value"), eb.get("value"), None, None, None,
                        skipped="; ".join(reasons)))
    return rows


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_rows(rows: list[Row], name_a: str, name_b: str) -> str:
    lines = [f"A = {name_a}\nB = {name_b}",
             f"{'task':<16}{'metric':<24}{'A':>8}{'B':>8}{'A-B':>9}  {'95% CI of A-B':<20}"
             f"{'p boot':>8}{'p Holm':>8}{'p McN':>8}"]
    for r in rows:
        if r.skipped:
            lines.append(f"{r.task:<16}{r.metric:<24}{_num(r.a, '>8.4f'):>8}"
                         f"{_num(r.b, '>8.4f'):>8}  not compared: {r.skipped}")
            continue
        lines.append(f"{r.task:<16}{r.metric:<24}{r.a:>8.4f}{r.b:>8.4f}{r.delta:>+9.4f}  "
                     f"[{r.ci[0]:+.4f}, {r.ci[1]:+.4f}]  {r.p_bootstrap:>7.4f}"
                     f"{_num(r.p_holm, '>8.4f'):>8}{_num(r.p_mcnemar, '>8.4f'):>8}")
    lines.append("p boot: paired bootstrap (shifted null); p Holm: the bootstrap p, "
                 "Holm-adjusted across all rows; p McN: McNemar's exact test (beside, not "
                 "in Holm).")
    return "\n".join(lines)
