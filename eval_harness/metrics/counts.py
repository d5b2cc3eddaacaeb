"""Precision, recall and F1 from summed per-sample (tp, fp, fn) counts.

Set-valued metrics (the six classes of a report, the fine-grained anomalies of a diagnosis,
its ICD-10 codes) are not means of per-sample values, so their bootstrap CIs and paired
tests resample per-sample counts and recompute the metric from the sums. Counts are laid out
label by label, ``(tp, fp, fn)`` each: shape ``(3k,)`` for one sum, ``(B, 3k)`` for B
resamples. Every function returns a float for one sum and an array of B values otherwise.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np


def _labels(sums: Any, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    arr = np.asarray(sums, dtype=np.float64)
    counts = np.atleast_2d(arr).reshape(-1, k, 3)
    return counts[..., 0], counts[..., 1], counts[..., 2], arr.ndim == 1


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (scikit-learn's zero_division=0)."""
    return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def _out(values: np.ndarray, single: bool) -> Any:
    return float(values[0]) if single else values


def micro_precision(sums: Any, k: int = 1) -> Any:
    tp, fp, _fn, single = _labels(sums, k)
    return _out(_ratio(tp.sum(axis=1), (tp + fp).sum(axis=1)), single)


def micro_recall(sums: Any, k: int = 1) -> Any:
    tp, _fp, fn, single = _labels(sums, k)
    return _out(_ratio(tp.sum(axis=1), (tp + fn).sum(axis=1)), single)


def micro_f1(sums: Any, k: int = 1) -> Any:
    """2TP / (2TP + FP + FN) over the pooled counts of all labels; 0 when nothing is
    positive on either side."""
    tp, fp, fn, single = _labels(sums, k)
    tp, fp, fn = tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1)
    return _out(_ratio(2 * tp, 2 * tp + fp + fn), single)


def macro_f1(sums: Any, k: int, undefined: Literal["exclude", "zero"] = "exclude") -> Any:
    """The mean of per-label F1 = 2TP / (2TP + FP + FN).

    A label with no positive on either side has no F1: ``"exclude"`` leaves it out of the
    mean (scikit-learn's ``zero_division=np.nan``; NaN when no label is defined), ``"zero"``
    scores it 0 and keeps it in (``zero_division=0``)."""
    tp, fp, fn, single = _labels(sums, k)
    denom = 2 * tp + fp + fn
    f1 = _ratio(2 * tp, denom)
    if undefined == "zero":
        return _out(f1.mean(axis=1), single)
    defined = denom > 0
    n_defined = defined.sum(axis=1)
    with np.errstate(invalid="ignore"):
        mean = np.where(n_defined > 0,
                        np.where(defined, f1, 0.0).sum(axis=1) / np.maximum(n_defined, 1),
                        np.nan)
    return _out(mean, single)


def set_counts(reference: Any, predicted: Any, labels: Any) -> list[int]:
    """One sample's (tp, fp, fn) for each of `labels` in order, flattened."""
    ref, pred = set(reference), set(predicted)
    return [int(v) for x in labels for v in (x in ref and x in pred, x in pred and x not in ref,
                                             x in ref and x not in pred)]


def weighted_f1(sums: Any, k: int) -> Any:
    """Per-label F1 averaged with reference support (TP + FN) as weights; 0 without
    support (scikit-learn's ``average="weighted"``, ``zero_division=0``)."""
    tp, fp, fn, single = _labels(sums, k)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    support = tp + fn
    return _out(_ratio((f1 * support).sum(axis=1), support.sum(axis=1)), single)
