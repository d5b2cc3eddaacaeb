"""Classification metrics: hand-computed values and scikit-learn cross-checks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from eval_harness.labels.class_answers import Extraction
from eval_harness.labels.classes import CLASSES
from eval_harness.metrics.classification import classification_metrics, multilabel_metrics

DC, GI, C3, PU, TL, TSL = CLASSES


def ok(label: str) -> Extraction:
    return Extraction(label, label, "ok", "exact class name")


UNP = Extraction("no idea", None, "unparseable", "no class named")
FAIL = Extraction(None, None, "failed", "generation failed")

# Hand-made case: 8 samples, one unparseable, one failed.
REFS = [DC, DC, GI, GI, C3, PU, TL, TSL]
EXTS = [ok(DC), ok(GI), ok(GI), UNP, FAIL, ok(PU), ok(TSL), ok(TSL)]


@pytest.fixture(scope="module")
def result() -> dict:
    return classification_metrics(REFS, EXTS)


def values(view: dict) -> dict[str, float]:
    return {name: m.value for name, m in view.items()}


def test_all_view_hand_computed(result: dict) -> None:
    got = values(result["views"]["all"])
    assert got["accuracy"] == pytest.approx(4 / 8)
    # per-class F1: DC 2/3, GI 1/2, C3 0, PU 1, TL 0, TSL 2/3
    assert got["macro_f1"] == pytest.approx(17 / 36)
    assert got["weighted_f1"] == pytest.approx(4 / 8)
    assert got["weighted_precision"] == pytest.approx(4.5 / 8)
    assert got["weighted_recall"] == pytest.approx(4 / 8)
    assert result["primary"] == "macro_f1"


def test_answered_view_hand_computed(result: dict) -> None:
    got = values(result["views"]["answered"])
    assert got["accuracy"] == pytest.approx(4 / 6)
    assert got["macro_f1"] == pytest.approx(3 / 6)
    assert got["weighted_f1"] == pytest.approx(11 / 18)
    assert result["views"]["answered"]["accuracy"].details == {"view": "answered", "n": 6}


def test_per_class_table(result: dict) -> None:
    rows = result["per_class"]["all"]
    assert [r["class"] for r in rows] == list(CLASSES)
    table = {r["class"]: (r["precision"], r["recall"], r["f1"], r["support"]) for r in rows}
    assert table[DC] == pytest.approx((1.0, 0.5, 2 / 3, 2))
    assert table[GI] == pytest.approx((0.5, 0.5, 0.5, 2))
    assert table[C3] == (0.0, 0.0, 0.0, 1)
    assert table[PU] == (1.0, 1.0, 1.0, 1)
    assert table[TL] == (0.0, 0.0, 0.0, 1)
    assert table[TSL] == pytest.approx((0.5, 1.0, 2 / 3, 1))
    answered = {r["class"]: r["support"] for r in result["per_class"]["answered"]}
    assert answered == {DC: 2, GI: 1, C3: 0, PU: 1, TL: 1, TSL: 1}


def test_confusion_matrix(result: dict) -> None:
    cm = result["confusion_matrix"]
    assert cm["rows"] == list(CLASSES)
    assert cm["columns"] == [*CLASSES, "unparseable", "failed"]
    assert cm["counts"] == [
        [1, 1, 0, 0, 0, 0, 0, 0],
        [0, 1, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 1, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 1, 0, 0],
    ]


def test_counts_and_per_sample(result: dict) -> None:
    assert result["counts"] == {"n": 8, "n_answered": 6, "n_failed": 1, "n_unparseable": 1}
    assert result["views"]["all"]["accuracy"].per_sample == [1.0, 0, 1, 0, 0, 1, 0, 1]


def test_signature_and_definition(result: dict) -> None:
    import sklearn

    m = result["views"]["all"]["macro_f1"]
    assert f"sklearn:{sklearn.__version__}" in m.signature
    assert "extraction:synonyms-v1+" in m.signature
    assert "view:all" in m.signature and "wrong" in m.definition
    assert m.to_dict()["value"] == pytest.approx(17 / 36)


def random_case(seed: int, n: int = 300) -> tuple[list[str], list[Extraction]]:
    rng = np.random.default_rng(seed)
    refs = [CLASSES[i] for i in rng.integers(0, 6, n)]
    exts = []
    for r in refs:
        u = rng.random()
        exts.append(ok(r) if u < 0.5 else ok(CLASSES[rng.integers(0, 6)]) if u < 0.85
                    else UNP if u < 0.95 else FAIL)
    return refs, exts


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn(seed: int) -> None:
    refs, exts = random_case(seed)
    res = classification_metrics(refs, exts)
    # "all": a non-answer is any label outside CLASSES, always wrong
    preds = [e.label if e.status == "ok" else "NOT-A-CLASS" for e in exts]
    labels = list(CLASSES)
    all_view = values(res["views"]["all"])
    assert all_view["accuracy"] == pytest.approx(accuracy_score(refs, preds))
    assert all_view["macro_f1"] == pytest.approx(
        f1_score(refs, preds, labels=labels, average="macro", zero_division=0))
    p, r, f, _ = precision_recall_fscore_support(refs, preds, labels=labels,
                                                 average="weighted", zero_division=0)
    assert (all_view["weighted_precision"], all_view["weighted_recall"],
            all_view["weighted_f1"]) == pytest.approx((p, r, f))
    # "answered": the plain sklearn numbers over the answered subset
    kept = [i for i, e in enumerate(exts) if e.status == "ok"]
    t = [refs[i] for i in kept]
    q = [preds[i] for i in kept]
    answered = values(res["views"]["answered"])
    assert answered["accuracy"] == pytest.approx(accuracy_score(t, q))
    assert answered["weighted_f1"] == pytest.approx(f1_score(t, q, average="weighted"))
    # non-answers lower the "all" numbers, never raise them
    assert all_view["accuracy"] <= answered["accuracy"]
    # the confusion matrix holds every sample exactly once
    assert sum(map(sum, res["confusion_matrix"]["counts"])) == len(refs)


def test_nothing_answered_is_skipped_not_zero() -> None:
    res = classification_metrics([DC, GI], [UNP, FAIL])
    assert res["views"]["all"]["accuracy"].value == 0.0
    skipped = res["views"]["answered"]["macro_f1"]
    assert skipped.value is None and skipped.skipped
    assert res["per_class"]["answered"] == []


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="references"):
        classification_metrics([DC], [ok(DC), ok(DC)])
    with pytest.raises(ValueError, match="COde classes"):
        classification_metrics(["Periodontitis"], [ok(DC)])
    with pytest.raises(ValueError, match="not a class"):
        classification_metrics([DC], [Extraction("x", "Periodontitis", "ok", "")])


def test_multilabel_hand_computed() -> None:
    refs = [{DC, GI}, {PU}, {TL}, set()]
    preds = [{DC}, {PU, TSL}, {TL}, set()]
    res = multilabel_metrics(refs, preds)
    m = {name: r.value for name, r in res["metrics"].items()}
    assert m["exact_match"] == pytest.approx(0.5)
    assert m["macro_f1"] == pytest.approx(0.5)  # DC, PU, TL = 1; others 0
    assert m["micro_f1"] == pytest.approx(0.75)  # TP 3, FP 1, FN 1
    assert res["metrics"]["exact_match"].per_sample == [0.0, 0.0, 1.0, 1.0]
    f1 = {r["class"]: r["f1"] for r in res["per_class"]}
    assert f1 == {DC: 1.0, GI: 0.0, C3: 0.0, PU: 1.0, TL: 1.0, TSL: 0.0}
    assert res["counts"] == {"n": 4}


def test_multilabel_rejects_unknown_class() -> None:
    with pytest.raises(ValueError, match="not COde classes"):
        multilabel_metrics([{DC}], [{"Periodontitis"}])
