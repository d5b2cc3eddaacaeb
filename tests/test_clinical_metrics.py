"""Clinical metrics on small hand-written lists, with exact expected values."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from eval_harness.data.checkup import REPORT_SECTIONS
from eval_harness.labels.classes import CLASSES
from eval_harness.labels.report_labeler import rules_id
from eval_harness.metrics.clinical import (
    STATS_FIELDS,
    clinical_efficacy_f1,
    macro_f1_from_counts,
    primary_class_accuracy,
    section_completeness,
)

CARIES, GINGIVITIS, CLASS3, PULPITIS, LOSS, STRUCTURE = CLASSES
FIELDS = [s[0] for s in REPORT_SECTIONS]


# ------------------------------------------------------------------ primary_class_accuracy

_GENERATED = [
    "Diagnosis: Pulpitis of tooth 36.",                               # affirmed: 1
    "Examination: Deep caries on 16.\nDiagnosis: No caries.",         # Diagnosis negates: 0
    "Examination: Deep caries on 16.",                                # no Diagnosis: whole, 1
    None,                                                             # failed generation: 0
    "Diagnosis: Possible pulpitis of 26.",                            # hedged: 0 (or 1)
    "Diagnosis: \nExamination: Generalized gingivitis.",              # blank Diagnosis: whole, 1
]
_CLASSES = [PULPITIS, CARIES, CARIES, GINGIVITIS, PULPITIS, GINGIVITIS]


def test_primary_class_accuracy_reads_the_diagnosis_section() -> None:
    result = primary_class_accuracy(_GENERATED, _CLASSES, "en")
    assert result.per_sample == [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    assert result.value == pytest.approx(3 / 6)
    d = result.details
    assert d["n"] == 6 and d["n_correct"] == 3
    assert d["whole_report_fallback"] == {"no_diagnosis_section": 2,
                                          "empty_diagnosis_section": 1, "indices": [2, 3, 5]}
    assert d["reference_class_status"] == {"present": 3, "uncertain": 1, "negated": 1,
                                           "absent": 1}
    assert d["per_class_accuracy"][CARIES] == 0.5
    assert d["per_class_accuracy"][CLASS3] is None and d["per_class_n"][CLASS3] == 0
    assert rules_id() in result.signature and "uncertain:negative" in result.signature


def test_primary_class_accuracy_can_count_uncertain_as_positive() -> None:
    result = primary_class_accuracy(_GENERATED, _CLASSES, "en", uncertain_positive=True)
    assert result.per_sample == [1.0, 0.0, 1.0, 0.0, 1.0, 1.0]
    assert result.value == pytest.approx(4 / 6)
    assert "uncertain:positive" in result.signature


def test_primary_class_accuracy_in_chinese() -> None:
    generated = ["病历记录：复诊。\n诊断：36牙髓炎。", "诊断：未见龋坏。\n检查：16深龋。",
                 "诊断：安氏III类错𬌗。"]
    result = primary_class_accuracy(generated, [PULPITIS, CARIES, CLASS3], "cn")
    assert result.per_sample == [1.0, 0.0, 1.0]


def test_primary_class_accuracy_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="not COde classes"):
        primary_class_accuracy(["Diagnosis: caries"], ["Caries"], "en")
    with pytest.raises(ValueError, match="differ in length"):
        primary_class_accuracy(["a", "b"], [CARIES], "en")
    with pytest.raises(ValueError, match="language"):
        primary_class_accuracy(["a"], [CARIES], "de")
    empty = primary_class_accuracy([], [], "en")
    assert empty.value is None and empty.skipped == "no samples"


# -------------------------------------------------------------------- clinical_efficacy_f1

_REFERENCES = ["Diagnosis: Pulpitis of 36.", "Diagnosis: Gingivitis.", "Diagnosis: Dental caries."]
_CANDIDATES = ["Diagnosis: Pulpitis of 36 and dental caries.", "Diagnosis: No gingivitis.",
               "Diagnosis: Dental caries of 16."]


def test_clinical_efficacy_f1_exact_values() -> None:
    # Labels (reference / generated): {P}/{P,C}, {G}/{}, {C}/{C}.
    # Caries: TP 1, FP 1 -> P .5, R 1, F1 2/3. Gingivitis: FN 1 -> F1 0. Pulpitis: F1 1.
    # Class III, Tooth Loss, Tooth Structure Loss: no positive anywhere -> left out.
    result = clinical_efficacy_f1(_CANDIDATES, _REFERENCES, "en")
    assert result.value == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert result.per_sample == pytest.approx([5 / 6, 5 / 6, 1.0])
    per_class = result.details["per_class"]
    assert per_class[CARIES] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3),
                                 "support": 1, "predicted": 2}
    assert per_class[GINGIVITIS] == {"precision": None, "recall": 0.0, "f1": 0.0,
                                     "support": 1, "predicted": 0}
    assert per_class[PULPITIS]["f1"] == 1.0
    assert result.details["classes_without_positives"] == [CLASS3, LOSS, STRUCTURE]
    # The same number as scikit-learn's own macro F1 with undefined classes left out
    # (columns in CLASSES order: caries, gingivitis, class III, pulpitis, loss, structure).
    y_true = np.array([[0, 0, 0, 1, 0, 0], [0, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]])
    y_pred = np.array([[1, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]])
    expected = f1_score(y_true, y_pred, average="macro", zero_division=np.nan)
    assert result.value == pytest.approx(expected)
    assert "sklearn:" in result.signature and rules_id() in result.signature


def test_sufficient_stats_resample_the_macro_f1() -> None:
    result = clinical_efficacy_f1(_CANDIDATES, _REFERENCES, "en")
    stats = np.array(result.details["sufficient_stats"])
    assert result.details["stats_fields"] == list(STATS_FIELDS) and stats.shape == (3, 18)
    assert stats[0].tolist()[:3] == [0, 1, 0]  # sample 1, caries: a false positive
    assert macro_f1_from_counts(stats.sum(axis=0)) == pytest.approx(result.value)
    # A bootstrap sums resampled rows (weights @ stats): one score per resample.
    weights = np.array([[1, 1, 1], [3, 0, 0], [0, 0, 3], [0, 3, 0]])
    scores = macro_f1_from_counts(weights @ stats)
    assert scores.shape == (4,)
    assert scores[0] == pytest.approx(result.value)
    assert scores[1] == pytest.approx((0 + 1) / 2)  # sample 1 only: caries FP, pulpitis TP
    assert scores[2] == 1.0  # sample 3 only: caries TP
    assert scores[3] == 0.0  # sample 2 only: gingivitis FN
    assert np.isnan(macro_f1_from_counts(np.zeros(18)))


def test_clinical_efficacy_f1_uncertain_positive_and_failures() -> None:
    refs = ["Diagnosis: Gingivitis.", "Diagnosis: Deep caries."]
    gens = ["Diagnosis: Possible gingivitis.", None]
    strict = clinical_efficacy_f1(gens, refs, "en")
    assert strict.value == 0.0 and strict.per_sample == pytest.approx([5 / 6, 5 / 6])
    assert strict.details["n_empty_generations"] == 1
    lenient = clinical_efficacy_f1(gens, refs, "en", uncertain_positive=True)
    assert lenient.per_sample == pytest.approx([1.0, 5 / 6])
    assert lenient.value == pytest.approx((1.0 + 0.0) / 2)  # gingivitis 1, caries 0


def test_clinical_efficacy_f1_without_any_positive_is_skipped() -> None:
    result = clinical_efficacy_f1(["Diagnosis: healthy."], ["Diagnosis: No caries."], "en")
    assert result.value is None and result.skipped
    assert result.per_sample == [1.0]
    with pytest.raises(ValueError, match="differ in length"):
        clinical_efficacy_f1(["a"], [], "en")


# -------------------------------------------------------------------- section_completeness

def test_section_completeness_exact_values() -> None:
    full = "\n".join(f"{title}: text {k}" for k, (_, title, _) in enumerate(REPORT_SECTIONS))
    partial = "**Diagnosis:** Pulpitis of 36\n**Examination:** -\nRemarks: "
    result = section_completeness([full, partial, None], "en")
    assert result.per_sample == pytest.approx([1.0, 1 / 9, 0.0])
    assert result.value == pytest.approx((1 + 1 / 9) / 3)
    rate = result.details["section_rate"]
    assert list(rate) == FIELDS
    assert rate["diagnosis"] == pytest.approx(2 / 3)
    assert rate["examination"] == pytest.approx(1 / 3)  # "-" is not content
    assert rate["remarks"] == pytest.approx(1 / 3)


def test_section_completeness_in_chinese() -> None:
    result = section_completeness(["诊断：36牙髓炎\n检查：叩痛（+）\n备注：", ""], "cn")
    assert result.per_sample == pytest.approx([2 / 9, 0.0])


# ------------------------------------------------------------------------------- shape

def test_results_serialise_and_define_themselves() -> None:
    for result in (primary_class_accuracy(_GENERATED, _CLASSES, "en"),
                   clinical_efficacy_f1(_CANDIDATES, _REFERENCES, "en"),
                   section_completeness(_GENERATED, "en")):
        json.dumps(result.to_dict(with_samples=True))
        assert result.definition.endswith(".") and result.definition.count(". ") == 0
        assert rules_id() in result.signature
