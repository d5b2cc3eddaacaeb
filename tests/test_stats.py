"""Bootstrap CIs, paired tests, McNemar and Holm."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from eval_harness.labels.classes import CLASSES
from eval_harness.metrics import stats
from eval_harness.metrics.stats import (
    bootstrap_ci,
    bootstrap_distribution,
    counts_from_indices,
    holm,
    mcnemar,
    paired_bootstrap,
    ratio_of_sums,
    resample_indices,
    sum_statistic,
)


def labels_case(seed: int, n: int) -> tuple[list[str], list[str | None]]:
    rng = np.random.default_rng(seed)
    refs = [CLASSES[i] for i in rng.integers(0, 6, n)]
    preds: list[str | None] = []
    for r in refs:
        u = rng.random()
        preds.append(r if u < 0.55 else None if u < 0.65 else CLASSES[rng.integers(0, 6)])
    return refs, preds


def sk_preds(preds: list[str | None]) -> list[str]:
    return [p if p is not None else "NO-ANSWER" for p in preds]


def test_counts_from_indices() -> None:
    idx = resample_indices(7, 5, seed=3)
    counts = counts_from_indices(idx, 7)
    expected = np.stack([np.bincount(row, minlength=7) for row in idx])
    np.testing.assert_array_equal(counts, expected)
    assert (counts.sum(axis=1) == 7).all()


def test_mean_equals_naive_loop() -> None:
    values = np.random.default_rng(0).random(50)
    _, dist = bootstrap_distribution(values, "mean", n_resamples=200, seed=5)
    idx = resample_indices(50, 200, seed=5)
    naive = np.array([values[row].mean() for row in idx])
    np.testing.assert_allclose(dist, naive, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["accuracy", "macro_f1", "weighted_f1",
                                  "weighted_precision", "weighted_recall"])
def test_classification_equals_sklearn_loop(name: str) -> None:
    refs, preds = labels_case(1, 40)
    point, dist = bootstrap_distribution((refs, preds), name, n_resamples=60, seed=2)
    y, q = np.array(refs), np.array(sk_preds(preds))
    labels = list(CLASSES)

    def sk(t: np.ndarray, p: np.ndarray) -> float:
        if name == "accuracy":
            return accuracy_score(t, p)
        if name == "macro_f1":
            return f1_score(t, p, labels=labels, average="macro", zero_division=0)
        pr, rc, f, _ = precision_recall_fscore_support(t, p, labels=labels, average="weighted",
                                                       zero_division=0)
        return {"weighted_f1": f, "weighted_precision": pr, "weighted_recall": rc}[name]

    assert point == pytest.approx(sk(y, q), abs=1e-12)
    naive = np.array([sk(y[row], q[row]) for row in resample_indices(40, 60, seed=2)])
    np.testing.assert_allclose(dist, naive, rtol=0, atol=1e-12)


def test_classes_absent_from_a_resample_score_zero_as_sklearn() -> None:
    # 6 samples: most resamples miss some class entirely (zero_division=0 path).
    refs = list(CLASSES)
    preds = [CLASSES[0], CLASSES[1], None, CLASSES[3], CLASSES[3], CLASSES[5]]
    _, dist = bootstrap_distribution((refs, preds), "macro_f1", n_resamples=100, seed=0)
    y, q = np.array(refs), np.array(sk_preds(preds))
    naive = [f1_score(y[r], q[r], labels=list(CLASSES), average="macro", zero_division=0)
             for r in resample_indices(6, 100, seed=0)]
    np.testing.assert_allclose(dist, naive, atol=1e-12)


def test_ratio_of_sums_equals_loop() -> None:
    rng = np.random.default_rng(4)
    data = np.column_stack([rng.integers(0, 10, 30), rng.integers(1, 12, 30)]).astype(float)
    point, dist = bootstrap_distribution(data, ratio_of_sums, n_resamples=100, seed=9)
    assert point == pytest.approx(data[:, 0].sum() / data[:, 1].sum())
    naive = [data[r, 0].sum() / data[r, 1].sum() for r in resample_indices(30, 100, seed=9)]
    np.testing.assert_allclose(dist, naive, atol=1e-12)
    # the named form is the same statistic
    assert bootstrap_ci(data, "ratio_of_sums", seed=9).estimate == pytest.approx(point)


def test_sum_statistic_corpus_style() -> None:
    # A BLEU-like corpus score: geometric mean of two summed precisions.
    rng = np.random.default_rng(6)
    totals = rng.integers(5, 20, (25, 2))
    matches = np.minimum(totals, rng.integers(0, 15, (25, 2)))
    data = np.hstack([matches, totals]).astype(float)

    def score(s: np.ndarray) -> np.ndarray:
        return np.sqrt((s[:, 0] / s[:, 2]) * (s[:, 1] / s[:, 3]))

    _, dist = bootstrap_distribution(data, sum_statistic(score), n_resamples=50, seed=1)
    naive = [score(data[r].sum(axis=0)[None, :])[0] for r in resample_indices(25, 50, seed=1)]
    np.testing.assert_allclose(dist, naive, atol=1e-12)


def test_ci_contains_estimate_and_is_deterministic() -> None:
    refs, preds = labels_case(2, 600)
    for name in ("accuracy", "macro_f1", "weighted_f1"):
        ci = bootstrap_ci((refs, preds), name, seed=11)
        assert ci.low <= ci.estimate <= ci.high
        assert 0 < ci.high - ci.low < 0.2
        assert ci.level == 0.95 and ci.n_resamples == 1000 and ci.seed == 11
        assert ci == bootstrap_ci((refs, preds), name, seed=11)
        assert ci != bootstrap_ci((refs, preds), name, seed=12)
    values = np.random.default_rng(3).random(200)
    ci = bootstrap_ci(values)
    assert ci.low <= values.mean() <= ci.high
    assert ci.to_dict()["method"] == "percentile bootstrap over samples"


def test_chunking_is_transparent(monkeypatch: pytest.MonkeyPatch) -> None:
    refs, preds = labels_case(3, 50)
    monkeypatch.setattr(stats, "_MAX_CHUNK_CELLS", 50 * 7)  # chunks of 7 resamples
    _, dist = bootstrap_distribution((refs, preds), "accuracy", n_resamples=30, seed=4)
    assert dist.shape == (30,)
    y, q = np.array(refs), np.array(sk_preds(preds))
    naive = [accuracy_score(y[r], q[r]) for r in resample_indices(50, 30, seed=4)]
    np.testing.assert_allclose(dist, naive, atol=1e-12)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="unknown statistic"):
        bootstrap_ci([1.0], "median")
    with pytest.raises(ValueError, match="references outside labels"):
        bootstrap_ci((["Periodontitis"], [None]), "accuracy")
    with pytest.raises(ValueError, match="same samples"):
        paired_bootstrap([1.0, 0.0], [1.0])


# ----------------------------------------------------------------------------- paired


def test_paired_bootstrap_identical_systems() -> None:
    refs, preds = labels_case(5, 100)
    res = paired_bootstrap((refs, preds), (refs, preds), "macro_f1", 200, 0)
    assert res.delta == 0 and res.p_value == 1.0
    assert res.ci_low == res.ci_high == 0.0
    # sacrebleu's convention counts strictly: identical systems get 1 / (B + 1)
    sb = paired_bootstrap((refs, preds), (refs, preds), "macro_f1", 200, 0,
                          convention="sacrebleu")
    assert sb.p_value == pytest.approx(1 / 201)


def test_paired_bootstrap_matches_hand_loop() -> None:
    rng = np.random.default_rng(7)
    a = (rng.random(80) < 0.7).astype(float)
    b = (rng.random(80) < 0.6).astype(float)
    res = paired_bootstrap(a, b, "mean", 500, 3)
    idx = resample_indices(80, 500, seed=3)
    d = np.array([a[r].mean() - b[r].mean() for r in idx])
    delta = a.mean() - b.mean()
    assert res.delta == pytest.approx(delta)
    shifted = (np.sum(np.abs(d - d.mean()) >= abs(delta)) + 1) / 501
    assert res.p_value == pytest.approx(shifted)
    absd = np.abs(d)
    sacre = (np.sum(absd - absd.mean() > abs(delta)) + 1) / 501
    assert paired_bootstrap(a, b, "mean", 500, 3, convention="sacrebleu").p_value == \
        pytest.approx(sacre)
    assert res.share_a_better == pytest.approx(np.mean(d > 0))
    assert res.ci_low <= delta <= res.ci_high


def test_paired_bootstrap_detects_a_clear_difference() -> None:
    refs, preds = labels_case(8, 600)
    better = [r if i % 3 else p for i, (r, p) in enumerate(zip(refs, preds, strict=True))]
    res = paired_bootstrap((refs, better), (refs, preds), "accuracy", seed=1)
    assert res.delta > 0 and res.p_value < 0.01 and res.share_a_better > 0.99


# ----------------------------------------------------------------------------- McNemar


def pairs(a_only: int, b_only: int, both: int = 5, neither: int = 4) -> tuple[list, list]:
    a = [1] * a_only + [0] * b_only + [1] * both + [0] * neither
    b = [0] * a_only + [1] * b_only + [1] * both + [0] * neither
    return a, b


def test_mcnemar_exact_hand_computed() -> None:
    res = mcnemar(*pairs(3, 7))
    # two-sided binomial, n = 10: 2 * P(X <= 3) = 2 * (1 + 10 + 45 + 120) / 1024
    assert res.p_value == pytest.approx(2 * 176 / 1024)
    assert (res.statistic, res.method, res.a_only, res.b_only) == (3.0, "exact binomial", 3, 7)


def test_mcnemar_chi_square_hand_computed() -> None:
    res = mcnemar(*pairs(10, 20))
    assert res.statistic == pytest.approx(81 / 30)  # (|10 - 20| - 1)² / 30
    # chi-square with 1 df: sf(x) = erfc(sqrt(x / 2))
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(81 / 30 / 2)))
    assert res.method == "chi-square, continuity-corrected"


def test_mcnemar_threshold_and_ties() -> None:
    assert mcnemar(*pairs(12, 12)).method == "exact binomial"  # 24 discordant
    assert mcnemar(*pairs(12, 13)).method.startswith("chi-square")  # 25 discordant
    assert mcnemar(*pairs(12, 12)).p_value == pytest.approx(1.0)
    assert mcnemar(*pairs(15, 15)).p_value == pytest.approx(1.0)
    assert mcnemar([1, 0], [1, 0]).p_value == 1.0
    assert mcnemar([True, False], [True, False]).statistic == 0.0


# ----------------------------------------------------------------------------- Holm


def test_holm_hand_computed() -> None:
    got = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005})
    # sorted d, a, c, b: 4·0.005, 3·0.01, 2·0.03, max(0.06, 1·0.04)
    assert list(got) == ["a", "b", "c", "d"]
    assert got == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06, "d": 0.02})
    assert holm({"x": 0.5, "y": 0.6}) == {"x": 1.0, "y": 1.0}
    assert holm({}) == {}
    assert holm({"only": 0.2}) == {"only": 0.2}
    with pytest.raises(ValueError):
        holm({"bad": 1.5})
