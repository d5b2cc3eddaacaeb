"""Calibration of class probabilities (``"scores"``): log loss, Brier score, ECE.

Computed only when predictions carry probabilities (``--cls-mode score``, or a
predictions file with ``"scores"``). Scores are read as non-negative weights over the
six classes: a class left out has weight 0 and the weights are renormalised to sum
to 1, since a submitter's softmax over six names may have been taken over more.

A failed answer has no probabilities; in the ``all`` view it is given the uniform
distribution (the answer of a model that knows nothing), so it is counted, neither
dropped nor rewarded. A non-failed answer *without* scores in an otherwise scored run
makes the metrics skipped, with the count, rather than silently computed on fewer.

Log loss and Brier come from scikit-learn; the per-sample values are what its mean
is taken over (tested equal), so CIs bootstrap them. ECE (Guo et al., 2017: equal-width
bins over the top-class confidence) is not in scikit-learn; it is a function of
per-bin sums, so each sample contributes a (count, confidence, correct) row per bin
and the bootstrap resamples those sums.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from eval_harness.labels.classes import CLASSES
from eval_harness.metrics.base import MetricResult
from eval_harness.metrics.classification import sklearn_version

ECE_BINS = 15
_EPS = float(np.finfo(np.float64).eps)  # scikit-learn's log_loss clips to this

_DEFINITIONS = {
    "log_loss": "Mean negative log probability given to the reference class (lower is "
                "better).",
    "brier": "Mean over samples of the squared distance between the probability vector "
             "and the one-hot reference, summed over the six classes (0 best, 2 worst).",
    "ece": f"Expected calibration error: |confidence - accuracy| of the top class, "
           f"averaged over {ECE_BINS} equal-width confidence bins weighted by their size "
           f"(lower is better).",
}


def probability_matrix(scores: Sequence[dict[str, float] | None]) -> np.ndarray:
    """(n, 6) rows summing to 1, in CLASSES order; None rows become uniform."""
    rows = np.full((len(scores), len(CLASSES)), 1.0 / len(CLASSES))
    for i, row in enumerate(scores):
        if row is None:
            continue
        weights = np.array([float(row.get(c, 0.0)) for c in CLASSES])
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("class scores must be non-negative with a positive sum")
        rows[i] = weights / weights.sum()
    return rows


def ece_stats(probabilities: np.ndarray, reference_index: np.ndarray) -> np.ndarray:
    """Per-sample sufficient statistics for ECE: (n, 3 * bins), one-hot in its bin."""
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == reference_index).astype(np.float64)
    bins = np.minimum((confidence * ECE_BINS).astype(int), ECE_BINS - 1)
    stats = np.zeros((len(confidence), ECE_BINS, 3))
    rows = np.arange(len(confidence))
    stats[rows, bins, 0] = 1.0
    stats[rows, bins, 1] = confidence
    stats[rows, bins, 2] = correct
    return stats.reshape(len(confidence), -1)


def ece_from_stats(sums: np.ndarray) -> np.ndarray:
    """ECE of B resamples from their summed statistics, shape (B, 3 * bins)."""
    sums = np.atleast_2d(sums).reshape(len(np.atleast_2d(sums)), ECE_BINS, 3)
    count, confidence, correct = sums[..., 0], sums[..., 1], sums[..., 2]
    total = count.sum(axis=1)
    return np.abs(confidence - correct).sum(axis=1) / np.where(total > 0, total, 1.0)


def calibration_metrics(references: Sequence[str],
                        scores: Sequence[dict[str, float] | None],
                        failed: Sequence[bool]) -> dict[str, MetricResult]:
    """log_loss, brier and ece over the given samples (see the module docstring)."""
    from sklearn.metrics import brier_score_loss, log_loss

    names = tuple(_DEFINITIONS)
    signature = (f"sklearn:{sklearn_version()}|labels:code6|renormalised|failed:uniform|"
                 f"ece_bins:{ECE_BINS}")
    missing = sum(s is None and not f for s, f in zip(scores, failed, strict=True))
    if missing:
        reason = (f"{missing} of {len(scores)} answered predictions carry no class scores; "
                  "calibration needs scores on every answer")
        return {n: MetricResult.skip(n, reason, signature, _DEFINITIONS[n]) for n in names}
    if not references:
        return {n: MetricResult.skip(n, "no samples", signature, _DEFINITIONS[n])
                for n in names}
    probabilities = probability_matrix(scores)
    truth = np.array([CLASSES.index(r) for r in references])
    onehot = np.eye(len(CLASSES))[truth]
    per_log = -np.log(np.clip(probabilities[np.arange(len(truth)), truth], _EPS, 1.0))
    per_brier = ((probabilities - onehot) ** 2).sum(axis=1)
    stats = ece_stats(probabilities, truth)
    # scikit-learn reads probability columns in sorted label order, not ours.
    lexical = sorted(CLASSES)
    by_label = probabilities[:, [CLASSES.index(c) for c in lexical]]
    return {
        "log_loss": MetricResult("log_loss", float(log_loss(references, by_label,
                                                            labels=lexical)),
                                 signature, _DEFINITIONS["log_loss"], per_log.tolist()),
        "brier": MetricResult("brier", float(brier_score_loss(references, by_label,
                                                              labels=lexical)),
                              signature, _DEFINITIONS["brier"], per_brier.tolist()),
        "ece": MetricResult("ece", float(ece_from_stats(stats.sum(axis=0))[0]), signature,
                            _DEFINITIONS["ece"], details={"sufficient_stats": stats}),
    }
