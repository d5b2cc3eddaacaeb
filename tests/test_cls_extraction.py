"""Answer extraction for the COde classification task."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from eval_harness.labels.class_answers import (
    SYNONYMS_VERSION,
    Extraction,
    extract_class,
    find_classes,
    load_synonyms,
    normalize,
    synonyms_id,
)
from eval_harness.labels.classes import CLASSES, CLASSES_CN

DC, GI, C3, PU, TL, TSL = CLASSES


@pytest.mark.parametrize("label", CLASSES)
@pytest.mark.parametrize("form", [str, str.upper, str.lower,
                                  lambda s: f"  {s.lower()}.\n", lambda s: s.replace(" ", "-"),
                                  lambda s: f"**{s}**"])
def test_exact_class_name_variants(label: str, form) -> None:
    text = form(label)
    got = extract_class(text)
    assert got == Extraction(text, label, "ok", "exact class name")


@pytest.mark.parametrize(("text", "label"), [
    ("caries", DC), ("tooth decay", DC), ("龋病", DC), ("龋齿", DC),
    ("gingivitis", GI), ("牙龈炎", GI),
    ("class 3 malocclusion", C3), ("Class III", C3), ("angle class III", C3),
    ("Angle's Class III", C3), ("安氏III类错颌", C3), ("安氏Ⅲ类错颌", C3), ("反颌", C3),
    ("pulpitis", PU), ("牙髓炎", PU),
    ("tooth loss", TL), ("missing teeth", TL), ("牙列缺损", TL), ("牙齿缺失", TL),
    ("tooth structure loss", TSL), ("牙体缺损", TSL), ("loss of tooth structure", TSL),
])
def test_synonyms(text: str, label: str) -> None:
    got = extract_class(text)
    assert (got.status, got.label) == ("ok", label), got.reason


@pytest.mark.parametrize(("text", "label"), [
    ("The most likely diagnosis is irreversible pulpitis of tooth 36.", PU),
    ("Answer: Dental Caries: visible tooth decay including deep caries.", DC),
    ("Findings suggest tooth structure loss on 46 (wedge-shaped defect).", TSL),
    ("There is missing tooth structure on the incisal edge.", TSL),
    ("The patient presents an anterior crossbite, i.e. a Class III relationship.", C3),
    ("诊断：慢性牙髓炎。", PU),
    ("该患者为安氏Ⅲ类错颌，前牙反颌。", C3),
    ("ＴＯＯＴＨ　ＬＯＳＳ", TL),  # full-width letters and space
    ("Class III Malocclusion<end_of_turn>\n\nClass III Malocclusion<end_of_turn>", C3),
])
def test_free_text_single_class(text: str, label: str) -> None:
    got = extract_class(text)
    assert (got.status, got.label) == ("ok", label), got.reason
    assert got.raw == text


def test_tooth_structure_loss_is_not_also_tooth_loss() -> None:
    # Longest phrase first, no double counting of the overlapping span.
    assert find_classes("tooth structure loss") == [(TSL, "Tooth Structure Loss")]
    assert find_classes("loss of tooth structure") == [(TSL, "loss of tooth structure")]
    got = extract_class("Diagnosis: Tooth Structure Loss.")
    assert (got.status, got.label) == ("ok", TSL)


@pytest.mark.parametrize("text", ["Class II", "Class II malocclusion", "Angle class II",
                                  "安氏II类错颌", "安氏Ⅱ类错颌", "class iiia"])
def test_class_ii_never_matches_class_iii(text: str) -> None:
    got = extract_class(text)
    assert got.status == "unparseable"
    assert got.label is None
    assert got.reason == "no class named"


def test_class_iii_is_matched_despite_containing_class_ii() -> None:
    assert extract_class("Angle Class III").label == C3
    assert extract_class("Class III, not Class II").label == C3


@pytest.mark.parametrize("text", [
    "Dental Caries or Gingivitis",
    "caries; possibly pulpitis",
    "牙龈炎和龋齿",
    "Tooth Loss and Tooth Structure Loss",
    "1. Dental Caries 2. Gingivitis 3. Class III Malocclusion 4. Pulpitis",
])
def test_several_classes_are_unparseable(text: str) -> None:
    got = extract_class(text)
    assert got.status == "unparseable"
    assert got.label is None
    assert got.reason.startswith("several classes named:")
    assert got.raw == text


def test_several_classes_reason_names_them() -> None:
    got = extract_class("Either tooth decay or 牙髓炎")
    assert got.reason == "several classes named: Dental Caries ('tooth decay'); Pulpitis ('牙髓炎')"


def test_same_class_repeated_is_one_class() -> None:
    got = extract_class("Caries. Dental caries with tooth decay on 16 and 龋齿 on 26.")
    assert (got.status, got.label) == ("ok", DC)
    assert "'caries'" in got.reason and "'tooth decay'" in got.reason


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_empty_is_unparseable(text: str | None) -> None:
    assert extract_class(text) == Extraction(text, None, "unparseable", "empty output")


@pytest.mark.parametrize("text", ["I cannot determine this from the images.", "Malocclusion",
                                  "Periodontitis", "N/A"])
def test_no_class_is_unparseable(text: str) -> None:
    assert extract_class(text) == Extraction(text, None, "unparseable", "no class named")


def test_failed_keeps_raw_text() -> None:
    got = extract_class("Error code: 400", failed=True)
    assert got == Extraction("Error code: 400", None, "failed", "generation failed")
    # failed wins even when the text names a class
    assert extract_class("Pulpitis", failed=True).status == "failed"
    assert extract_class(None, failed=True) == Extraction(None, None, "failed",
                                                          "generation failed")


def test_reasoning_block() -> None:
    got = extract_class("<think>caries? maybe pulpitis</think>\nPulpitis")
    assert (got.status, got.label) == ("ok", PU)
    # template opened <think> in the prompt; the answer sits before </think>
    got = extract_class("Tooth Loss\n</think>")
    assert (got.status, got.label) == ("ok", TL)
    assert "reasoning block" in got.reason
    # a hedging block stays unparseable
    assert extract_class("caries or gingivitis?\n</think>").status == "unparseable"
    # unclosed reasoning: nothing after it is an answer
    assert extract_class("Gingivitis <think> or caries").label == GI
    assert extract_class("<think> caries").status == "unparseable"


def test_normalize() -> None:
    assert normalize("  Class-III   Malocclusion! ") == "class iii malocclusion"
    assert normalize("安氏Ⅲ类") == "安氏iii类"


def test_synonyms_id_and_version() -> None:
    assert SYNONYMS_VERSION == "synonyms-v1"
    assert re.fullmatch(r"synonyms-v1\+[0-9a-f]{12}", synonyms_id())


def test_data_file_covers_classes_and_chinese_names() -> None:
    raw = resources.files("eval_harness.labels").joinpath("data", "synonyms-v1.json")
    doc = json.loads(raw.read_text(encoding="utf-8"))
    assert doc["version"] == SYNONYMS_VERSION
    assert list(doc["classes"]) == list(CLASSES)
    for label, cn in CLASSES_CN.items():
        assert cn in doc["classes"][label]["cn"]
        assert extract_class(cn).label == label
    # every listed synonym, alone, reads as its own class (no cross-class overlaps)
    for label, names in doc["classes"].items():
        for name in names["en"] + names["cn"]:
            got = extract_class(name)
            assert (got.status, got.label) == ("ok", label), (name, got.reason)
    assert synonyms_id().endswith(load_synonyms().sha256[:12])
