"""Uncertainty and significance: bootstrap CIs, paired bootstrap, McNemar, Holm.

The bootstrap resamples checkups (samples) with replacement. It is vectorised over
sufficient statistics: a resample is a row of a count matrix ``W`` (B × n, how many
times each sample was drawn), and every statistic here is a function of ``W`` times
per-sample vectors, so all B resamples are evaluated with a few matrix products and
no Python loop over resamples:

- ``mean``: ``W @ values / n``.
- classification (``accuracy``, ``macro_f1``, ``weighted_f1``, ...): ``W @ onehot``
  gives every resample's confusion counts; TP/FP/FN arrays of shape (B, classes)
  give the F1s with the same formulas and zero-division rule as scikit-learn.
- ``sum_statistic(fn)``: corpus-level scores such as corpus BLEU; the caller passes
  per-sample sufficient statistics (n × k) and ``fn`` mapping summed statistics
  (B × k) to scores (B,), so the resampled corpus score is exact, not an average
  of sentence scores.

Resample indices come from ``numpy.random.default_rng(seed)``; the same
(n, n_resamples, seed) always gives the same resamples (``iter_resample_indices``),
which is also what makes the paired test paired: both systems see the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from eval_harness.labels.classes import CLASSES

# A statistic maps (prepared data, weights W of shape (B, n)) to B values.
Statistic = Callable[[Any, np.ndarray], np.ndarray]

DEFAULT_RESAMPLES = 1000
# Cap on cells of one chunk of the B × n count matrix (float64: 16 MB), so memory
# stays bounded for large n; for n = 600 all 1,000 resamples are one chunk.
_MAX_CHUNK_CELLS = 2_000_000


# ---------------------------------------------------------------------------
# Resampling


def _chunk_rows(n: int) -> int:
    return max(1, _MAX_CHUNK_CELLS // max(n, 1))


def iter_resample_indices(n: int, n_resamples: int = DEFAULT_RESAMPLES,
                          seed: int = 0) -> Iterator[np.ndarray]:
    """Chunks (rows × n) of resample indices; the concatenation is the full B × n matrix.

    The chunking depends only on n, so results depend only on (n, n_resamples, seed).
    """
    if n < 1:
        raise ValueError("cannot bootstrap an empty sample")
    if n_resamples < 1:
        raise ValueError("n_resamples must be positive")
    rng = np.random.default_rng(seed)
    step = _chunk_rows(n)
    for start in range(0, n_resamples, step):
        yield rng.integers(0, n, size=(min(step, n_resamples - start), n))


def resample_indices(n: int, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """The full B × n index matrix the vectorised bootstrap uses (for checks and loops)."""
    return np.concatenate(list(iter_resample_indices(n, n_resamples, seed)))


@lru_cache(maxsize=4)
def resample_weights(n: int, n_resamples: int = DEFAULT_RESAMPLES,
                     seed: int = 0) -> tuple[np.ndarray, ...]:
    """The resample count matrices, chunk by chunk, for (n, n_resamples, seed).

    Every metric of a run, in both views of the same size, resamples the same checkups:
    the matrices are built once and shared (read-only) instead of once per metric.
    """
    chunks = []
    for idx in iter_resample_indices(n, n_resamples, seed):
        weights = counts_from_indices(idx, n)
        weights.setflags(write=False)
        chunks.append(weights)
    return tuple(chunks)


def counts_from_indices(indices: np.ndarray, n: int) -> np.ndarray:
    """B × n matrix: how often each sample occurs in each resample (one bincount)."""
    rows = indices.shape[0]
    flat = (indices + (np.arange(rows) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


# ---------------------------------------------------------------------------
# Statistics


def mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of per-sample values (``values`` shape (n,))."""
    return (weights @ values) / weights.sum(axis=1)


@dataclass(frozen=True)
class ConfusionData:
    """Integer-coded references and predictions; prediction ``k`` means no class.

    Any prediction outside ``labels`` (None, "unparseable", a failure) is coded as
    the extra column ``k``: it counts as a miss of the true class, never as a class.
    """

    refs: np.ndarray  # (n,) in 0..k-1
    preds: np.ndarray  # (n,) in 0..k
    labels: tuple[str, ...]

    @classmethod
    def from_labels(cls, references: Sequence[str], predictions: Sequence[str | None],
                    labels: Sequence[str] = CLASSES) -> ConfusionData:
        if len(references) != len(predictions):
            raise ValueError(f"{len(references)} references but {len(predictions)} predictions")
        index = {c: i for i, c in enumerate(labels)}
        unknown = sorted(set(references).difference(index))
        if unknown:
            raise ValueError(f"references outside labels: {unknown}")
        refs = np.fromiter((index[r] for r in references), dtype=np.int64, count=len(references))
        preds = np.fromiter((index.get(p, len(labels)) if p is not None else len(labels)
                             for p in predictions), dtype=np.int64, count=len(predictions))
        return cls(refs=refs, preds=preds, labels=tuple(labels))

    @property
    def n(self) -> int:
        return int(self.refs.shape[0])

    def confusion(self, weights: np.ndarray) -> np.ndarray:
        """(B, k, k+1) confusion counts of every resample: W @ one-hot(ref, pred)."""
        k = len(self.labels)
        onehot = np.zeros((self.n, k * (k + 1)))
        onehot[np.arange(self.n), self.refs * (k + 1) + self.preds] = 1.0
        return (weights @ onehot).reshape(-1, k, k + 1)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # scikit-learn's zero_division=0: an undefined ratio is 0.
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _prf(data: ConfusionData, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-resample, per-class precision, recall, F1 and support, each (B, k)."""
    k = len(data.labels)
    conf = data.confusion(weights)
    tp = np.einsum("bii->bi", conf[:, :, :k])
    support = conf.sum(axis=2)  # reference counts; non-answers included
    predicted = conf[:, :, :k].sum(axis=1)  # non-answers predict no class
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * tp, support + predicted)  # = 2TP / (2TP + FP + FN), as sklearn
    return precision, recall, f1, support


def _weighted(per_class: np.ndarray, support: np.ndarray) -> np.ndarray:
    return _safe_div((per_class * support).sum(axis=1), support.sum(axis=1))


def accuracy(data: ConfusionData, weights: np.ndarray) -> np.ndarray:
    conf = data.confusion(weights)
    k = len(data.labels)
    return np.einsum("bii->b", conf[:, :, :k]) / weights.sum(axis=1)


def macro_f1(data: ConfusionData, weights: np.ndarray) -> np.ndarray:
    return _prf(data, weights)[2].mean(axis=1)


def weighted_f1(data: ConfusionData, weights: np.ndarray) -> np.ndarray:
    _, _, f1, support = _prf(data, weights)
    return _weighted(f1, support)


def weighted_precision(data: ConfusionData, weights: np.ndarray) -> np.ndarray:
    precision, _, _, support = _prf(data, weights)
    return _weighted(precision, support)


def weighted_recall(data: ConfusionData, weights: np.ndarray) -> np.ndarray:
    _, recall, _, support = _prf(data, weights)
    return _weighted(recall, support)


def sum_statistic(fn: Callable[[np.ndarray], np.ndarray]) -> Statistic:
    """A corpus statistic from summed sufficient statistics.

    ``data`` is an (n, k) array of per-sample sufficient statistics (for BLEU:
    hypothesis/reference lengths, n-gram matches and totals); ``fn`` maps the summed
    statistics of B resamples, shape (B, k), to B scores.
    """

    def statistic(data: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return np.asarray(fn(weights @ data), dtype=np.float64)

    return statistic


def _ratio(sums: np.ndarray) -> np.ndarray:
    return _safe_div(sums[:, 0], sums[:, 1])


ratio_of_sums = sum_statistic(_ratio)  # data (n, 2): sum of column 0 / sum of column 1

STATISTICS: dict[str, Statistic] = {
    "mean": mean,
    "accuracy": accuracy,
    "macro_f1": macro_f1,
    "weighted_f1": weighted_f1,
    "weighted_precision": weighted_precision,
    "weighted_recall": weighted_recall,
    "ratio_of_sums": ratio_of_sums,
}
_CLASSIFICATION = {"accuracy", "macro_f1", "weighted_f1", "weighted_precision", "weighted_recall"}


def _resolve(data: Any, statistic: str | Statistic) -> tuple[Any, Statistic, int]:
    """(prepared data, statistic function, n). Names accept convenient data forms."""
    if isinstance(statistic, str):
        if statistic not in STATISTICS:
            raise ValueError(f"unknown statistic {statistic!r}; use one of {sorted(STATISTICS)}")
        if statistic in _CLASSIFICATION and not isinstance(data, ConfusionData):
            refs, preds = data  # (references, predictions) label lists
            data = ConfusionData.from_labels(refs, preds)
        fn = STATISTICS[statistic]
    else:
        fn = statistic
    if isinstance(data, ConfusionData):
        return data, fn, data.n
    array = np.asarray(data, dtype=np.float64)
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError("cannot bootstrap an empty sample")
    return array, fn, int(array.shape[0])


# ---------------------------------------------------------------------------
# Confidence intervals


@dataclass(frozen=True)
class CI:
    estimate: float  # the statistic on the original sample
    low: float
    high: float
    level: float
    se: float  # bootstrap standard error
    n_resamples: int
    seed: int
    method: str = "percentile bootstrap over samples"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bootstrap_distribution(data: Any, statistic: str | Statistic = "mean", *,
                           n_resamples: int = DEFAULT_RESAMPLES,
                           seed: int = 0) -> tuple[float, np.ndarray]:
    """(point estimate, the B resampled values)."""
    prepared, fn, n = _resolve(data, statistic)
    point = float(fn(prepared, np.ones((1, n)))[0])
    chunks = [fn(prepared, weights) for weights in resample_weights(n, n_resamples, seed)]
    return point, np.concatenate(chunks)


def _percentile_ci(point: float, dist: np.ndarray, level: float, n_resamples: int,
                   seed: int) -> CI:
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    alpha = 1.0 - level
    low, high = np.quantile(dist, [alpha / 2, 1 - alpha / 2])
    se = float(dist.std(ddof=1)) if dist.size > 1 else 0.0
    return CI(estimate=point, low=float(low), high=float(high), level=level, se=se,
              n_resamples=n_resamples, seed=seed)


def bootstrap_ci(data: Any, statistic: str | Statistic = "mean", *,
                 n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                 level: float = 0.95) -> CI:
    """Percentile bootstrap CI of a statistic, resampling samples (checkups).

    ``data``: per-sample values for "mean"; ``(references, predictions)`` or a
    ``ConfusionData`` for classification statistics; an (n, k) array for
    ``sum_statistic``/"ratio_of_sums"; anything a custom ``statistic`` accepts.
    """
    point, dist = bootstrap_distribution(data, statistic, n_resamples=n_resamples, seed=seed)
    return _percentile_ci(point, dist, level, n_resamples, seed)


# ---------------------------------------------------------------------------
# Paired comparison


CONVENTIONS = ("shifted", "sacrebleu")


@dataclass(frozen=True)
class PairedBootstrap:
    estimate_a: float
    estimate_b: float
    delta: float  # estimate_a - estimate_b
    p_value: float  # two-sided, under `convention`
    ci_low: float  # percentile CI of the resampled difference a - b
    ci_high: float
    share_a_better: float  # share of resamples with a > b (Koehn 2004's "wins")
    n_resamples: int
    seed: int
    convention: str
    share_b_better: float = float("nan")  # with a < b (ties make it not 1 - share_a_better)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _p_value(d: np.ndarray, delta: float, convention: str) -> float:
    """Two-sided bootstrap p-value of the observed difference ``delta``.

    - "shifted" (default): the resampled differences d* are shifted to mean 0 to
      simulate the null, p = (#{|d* - mean(d*)| >= |delta|} + 1) / (B + 1)
      (Efron & Tibshirani 1993, §16.4; Koehn 2004). Identical systems get p = 1.
    - "sacrebleu": sacrebleu's ``paired_bs`` verbatim: p = (#{|d*| - mean(|d*|) >
      |delta|} + 1) / (B + 1). Note it centres the absolute differences and counts
      strictly, so two identical systems get p = 1 / (B + 1); use it only to
      reproduce sacrebleu's numbers.
    """
    b = d.shape[0]
    if convention == "shifted":
        count = int(np.sum(np.abs(d - d.mean()) >= abs(delta)))
    elif convention == "sacrebleu":
        absolute = np.abs(d)
        count = int(np.sum(absolute - absolute.mean() > abs(delta)))
    else:
        raise ValueError(f"unknown convention {convention!r}; use one of {CONVENTIONS}")
    return (count + 1) / (b + 1)


def paired_bootstrap(a: Any, b: Any, statistic: str | Statistic = "mean",
                     n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0, *,
                     level: float = 0.95, convention: str = "shifted") -> PairedBootstrap:
    """Paired bootstrap test of two systems scored on the same samples.

    Both systems are evaluated on the same resampled indices (the pairing), the
    statistic is recomputed per resample (vectorised), and the p-value of the
    observed difference follows ``convention`` (see ``_p_value``). The percentile CI
    of the difference and the share of resamples where a beats b (Koehn's "wins")
    are reported beside it.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}; use one of {CONVENTIONS}")
    prep_a, fn_a, n_a = _resolve(a, statistic)
    prep_b, fn_b, n_b = _resolve(b, statistic)
    if n_a != n_b:
        raise ValueError(f"paired test needs the same samples: {n_a} vs {n_b}")
    ones = np.ones((1, n_a))
    est_a, est_b = float(fn_a(prep_a, ones)[0]), float(fn_b(prep_b, ones)[0])
    diffs = []
    for weights in resample_weights(n_a, n_resamples, seed):
        diffs.append(fn_a(prep_a, weights) - fn_b(prep_b, weights))
    d = np.concatenate(diffs)
    delta = est_a - est_b
    alpha = 1.0 - level
    low, high = np.quantile(d, [alpha / 2, 1 - alpha / 2])
    return PairedBootstrap(estimate_a=est_a, estimate_b=est_b, delta=delta,
                           p_value=_p_value(d, delta, convention), ci_low=float(low),
                           ci_high=float(high), share_a_better=float(np.mean(d > 0)),
                           n_resamples=n_resamples, seed=seed, convention=convention,
                           share_b_better=float(np.mean(d < 0)))


@dataclass(frozen=True)
class McNemar:
    statistic: float  # exact: min(b, c); chi-square: continuity-corrected chi²
    p_value: float
    method: str  # "exact binomial" or "chi-square, continuity-corrected"
    a_only: int  # b: samples only system a got right
    b_only: int  # c: samples only system b got right

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


EXACT_BELOW = 25  # discordant pairs below which the exact binomial test is used


def mcnemar(correct_a: Sequence[bool | float], correct_b: Sequence[bool | float], *,
            exact: bool = False) -> McNemar:
    """McNemar's test on paired correctness (two-sided).

    Exact binomial (scipy.stats.binomtest, p = 0.5) when ``exact`` or when the
    discordant pairs b + c < 25; otherwise chi² = max(|b - c| - 1, 0)² / (b + c) with 1 degree of
    freedom (Edwards' continuity correction, clipped so it never inflates a tie).
    """
    from scipy.stats import binomtest, chi2

    ca = np.asarray(correct_a, dtype=bool)
    cb = np.asarray(correct_b, dtype=bool)
    if ca.shape != cb.shape:
        raise ValueError(f"paired test needs the same samples: {ca.shape} vs {cb.shape}")
    b = int(np.sum(ca & ~cb))
    c = int(np.sum(~ca & cb))
    if b + c == 0:
        return McNemar(0.0, 1.0, "exact binomial", b, c)
    if exact or b + c < EXACT_BELOW:
        p = binomtest(b, b + c, 0.5, alternative="two-sided").pvalue
        return McNemar(float(min(b, c)), float(p), "exact binomial", b, c)
    stat = max(abs(b - c) - 1, 0) ** 2 / (b + c)
    return McNemar(float(stat), float(chi2.sf(stat, 1)), "chi-square, continuity-corrected",
                   b, c)


def holm(pvalues: Mapping[str, float]) -> dict[str, float]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    The i-th smallest of m p-values becomes max over j <= i of min(1, (m - j + 1) p_(j)).
    Ties keep the input order, which does not change the adjusted values.
    """
    for name, p in pvalues.items():
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p-value of {name!r} is {p}, not in [0, 1]")
    m = len(pvalues)
    ordered = sorted(pvalues.items(), key=lambda item: item[1])
    adjusted: dict[str, float] = {}
    running = 0.0
    for rank, (name, p) in enumerate(ordered):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[name] = running
    return {name: adjusted[name] for name in pvalues}


def per_class_f1_intervals(data: ConfusionData, n_resamples: int = DEFAULT_RESAMPLES,
                           seed: int = 0, level: float = 0.95
                           ) -> list[tuple[float, float, float]]:
    """(F1, CI low, CI high) of every class of ``data.labels``: the per-class F1 with a
    percentile bootstrap interval over samples (the whiskers of a per-class chart)."""
    point = _prf(data, np.ones((1, data.n)))[2][0]
    resampled = np.concatenate([_prf(data, w)[2]
                                for w in resample_weights(data.n, n_resamples, seed)])
    alpha = 1.0 - level
    low, high = np.quantile(resampled, [alpha / 2, 1 - alpha / 2], axis=0)
    return [(float(f), float(lo), float(hi)) for f, lo, hi in zip(point, low, high, strict=True)]
