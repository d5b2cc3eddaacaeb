"""Paired comparison of two runs on the same checkups.

For every metric with per-sample data: a paired bootstrap (same resampled checkups
for both runs) gives the difference, its CI and a p-value; accuracy also gets
McNemar's test. p-values are Holm-corrected across all metrics of the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from eval_harness.errors import DataError
from eval_harness.metrics.stats import ConfusionData, holm, mcnemar, paired_bootstrap, sum_statistic
from eval_harness.results import ResultsDocument

CLS_METRICS = ("accuracy", "macro_f1", "weighted_f1")


@dataclass
class Row:
    task: str
    metric: str
    a: float
    b: float
    delta: float
    ci: tuple[float, float]
    p_bootstrap: float
    p_mcnemar: float | None = None
    p_holm: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"ci": list(self.ci)}


def _by_id(samples: list[dict], task: str) -> dict[str, dict]:
    return {s["id"]: s for s in samples if s["task"] == task}


def compare_runs(a: tuple[ResultsDocument, list[dict]], b: tuple[ResultsDocument, list[dict]],
                 *, resamples: int = 1000, seed: int = 0) -> list[Row]:
    (doc_a, samples_a), (doc_b, samples_b) = a, b
    if doc_a.dataset.fingerprint != doc_b.dataset.fingerprint:
        raise DataError.single("compare", "the runs were scored on different datasets "
                               f"({doc_a.dataset.fingerprint[:12]} vs "
                               f"{doc_b.dataset.fingerprint[:12]}); numbers are not comparable")
    rows: list[Row] = []
    for task in [t for t in doc_a.tasks if t in doc_b.tasks]:
        sa, sb = _by_id(samples_a, task), _by_id(samples_b, task)
        if set(sa) != set(sb):
            raise DataError.single("compare", f"{task}: the runs cover different checkups "
                                   f"({len(set(sa) ^ set(sb))} differ)")
        ids = sorted(sa)
        if task == "code_cls":
            rows.extend(_classification_rows(task, [sa[i] for i in ids], [sb[i] for i in ids],
                                             resamples, seed))
        else:
            rows.extend(_report_rows(task, [sa[i] for i in ids], [sb[i] for i in ids],
                                     resamples, seed))
    adjusted = holm({f"{r.task}/{r.metric}": min(p for p in (r.p_bootstrap, r.p_mcnemar)
                                                 if p is not None) for r in rows})
    for r in rows:
        r.p_holm = adjusted[f"{r.task}/{r.metric}"]
    return rows


def _row(task: str, metric: str, result, p_mcnemar: float | None = None) -> Row:
    return Row(task, metric, result.estimate_a, result.estimate_b, result.delta,
               (result.ci_low, result.ci_high), result.p_value, p_mcnemar)


def _classification_rows(task: str, a: list[dict], b: list[dict], resamples: int,
                         seed: int) -> list[Row]:
    refs = [s["reference"] for s in a]
    if refs != [s["reference"] for s in b]:
        raise DataError.single("compare", f"{task}: the runs disagree on reference labels")
    data_a = ConfusionData.from_labels(refs, [s["extracted"] for s in a])
    data_b = ConfusionData.from_labels(refs, [s["extracted"] for s in b])
    rows = []
    for metric in CLS_METRICS:
        result = paired_bootstrap(data_a, data_b, metric, resamples, seed)
        p_mc = (mcnemar([s["correct"] for s in a], [s["correct"] for s in b]).p_value
                if metric == "accuracy" else None)
        rows.append(_row(task, metric, result, p_mc))
    if all("calibration" in s for s in a + b):  # both runs gave class probabilities
        for metric in ("log_loss", "brier"):
            rows.append(_row(task, metric, paired_bootstrap(
                [s["calibration"][metric] for s in a], [s["calibration"][metric] for s in b],
                "mean", resamples, seed)))
    return rows


def _report_rows(task: str, a: list[dict], b: list[dict], resamples: int,
                 seed: int) -> list[Row]:
    from eval_harness.metrics.clinical import macro_f1_from_counts
    from eval_harness.metrics.text import bleu_from_stats_batch

    rows = [_row(task, "bleu", paired_bootstrap(
        np.array([s["bleu_stats"] for s in a], dtype=float),
        np.array([s["bleu_stats"] for s in b], dtype=float),
        sum_statistic(bleu_from_stats_batch), resamples, seed))]
    rows.append(_row(task, "clinical_f1", paired_bootstrap(
        np.array([s["clinical_stats"] for s in a], dtype=float),
        np.array([s["clinical_stats"] for s in b], dtype=float),
        sum_statistic(macro_f1_from_counts), resamples, seed)))
    # Means of per-sample values; clinical_f1's per-sample value is only an agreement
    # fraction, so its row above is computed from the summed counts instead.
    names = [n for n in a[0]["metrics"] if n in b[0]["metrics"] and n != "clinical_f1"]
    for name in names:
        values_a = [s["metrics"][name] for s in a]
        values_b = [s["metrics"][name] for s in b]
        rows.append(_row(task, name, paired_bootstrap(values_a, values_b, "mean",
                                                      resamples, seed)))
    return rows


def format_rows(rows: list[Row], name_a: str, name_b: str) -> str:
    lines = [f"A = {name_a}\nB = {name_b}",
             f"{'task':<12}{'metric':<24}{'A':>8}{'B':>8}{'A-B':>9}  {'95% CI of A-B':<20}"
             f"{'p boot':>8}{'p McN':>8}{'p Holm':>8}"]
    for r in rows:
        mc = f"{r.p_mcnemar:.4f}" if r.p_mcnemar is not None else "-"
        lines.append(f"{r.task:<12}{r.metric:<24}{r.a:>8.4f}{r.b:>8.4f}{r.delta:>+9.4f}  "
                     f"[{r.ci[0]:+.4f}, {r.ci[1]:+.4f}]  {r.p_bootstrap:>7.4f}{mc:>8}"
                     f"{r.p_holm:>8.4f}")
    lines.append("p boot: paired bootstrap (shifted null); p McN: McNemar; "
                 "p Holm: Holm-adjusted across all rows (smaller of the two tests).")
    return "\n".join(lines)
