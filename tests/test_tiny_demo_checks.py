"""scripts/tiny_demo_checks.py: the report/classification agreement it commits to CHECKS.md,
and the table of what each lever buys."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_PULPITIS = ("Examination: deep caries on 36, tender to percussion.\n"
             "Diagnosis: Chronic pulpitis of tooth 36 (K04.003).\nTreatment Plan: RCT.")
_NOTHING = "Examination: unremarkable.\nDiagnosis: \nTreatment Plan: review."


@pytest.fixture(scope="module")
def checks():
    spec = importlib.util.spec_from_file_location("tiny_demo_checks",
                                                  ROOT / "scripts" / "tiny_demo_checks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pair(checkup: str, answered: str | None, report: str) -> list[dict]:
    return [{"id": checkup, "task": "code_cls", "extracted": answered, "prediction": answered},
            {"id": checkup, "task": "code_report", "prediction": report}]


def test_agreement_pairs_the_two_answers_of_each_checkup(checks) -> None:
    # Listed so that pairing by position instead of checkup id would count b as agreeing.
    samples = [*_pair("a", "Pulpitis", _PULPITIS),
               {"id": "b", "task": "code_cls", "extracted": "Dental Caries",
                "prediction": "Dental Caries"},
               {"id": "c", "task": "code_cls", "extracted": None, "prediction": "no idea"},
               {"id": "c", "task": "code_report", "prediction": _NOTHING},
               {"id": "b", "task": "code_report", "prediction": _PULPITIS}]
    # a agrees; b names two classes; c names none twice, which is no agreement.
    assert checks.agreement(samples) == pytest.approx(1 / 3)


def test_the_table_says_what_each_lever_buys_on_the_same_seed(checks) -> None:
    def row(variant: str, seed: int, f1: float) -> dict:
        return {"variant": variant, "seed": seed, "macro_f1": f1, "macro_f1_ci": [0.0, 1.0],
                "primary_class_accuracy": 0.5, "primary_class_accuracy_ci": None,
                "nine_sections": 1.0, "reports": 10, "agreement": 0.5, "test_checkups": 10,
                "majority_macro_f1": 0.05}

    text = checks.render([row("shipped", 0, 0.99), row("shipped", 1, 0.80),
                          row("without stage 1", 1, 0.60), row("blanked images", 2, 0.1)])
    assert "| without stage 1 | 1 | +0.200 |" in text
    # Seed 0 trained the shipped model and seed 2 has no shipped row: neither is compared.
    assert "blanked images | 2 |" not in text.split("What each lever buys")[1]
