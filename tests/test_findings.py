"""Fine-grained findings and ICD-10 codes (eval_harness.labels.findings; issue 10, item 1)."""

from __future__ import annotations

import json
import re

import pytest

from eval_harness.labels.anomaly_map import load_anomaly_map
from eval_harness.labels.findings import (
    find_codes,
    find_findings,
    finding_synonyms,
    findings_id,
    icd10_codes,
    normalise_code,
)
from eval_harness.labels.report_labeler import label_report
from tests.conftest import require_shared


def affirmed(text: str, language: str = "en", **kw: object) -> list[str]:
    return [f.anomaly for f in find_findings(text, language, **kw) if f.status == "present"]


def statuses(text: str, language: str = "en") -> dict[str, str]:
    return {f.anomaly: f.status for f in find_findings(text, language)}


# ------------------------------------------------------------------ fine-grained minimal pairs


@pytest.mark.parametrize(("text", "expected"), [
    ("Diagnosis: Angle's Class II malocclusion.", "Class II Malocclusion"),
    ("Diagnosis: Angle’s Class III malocclusion.", "Class III Malocclusion"),
    ("Diagnosis: Angle Class II, division 1.", "Class II Malocclusion"),
    ("Diagnosis: skeletal Class III.", "Class III Malocclusion"),
    ("Diagnosis: Class I malocclusion.", "Class I Malocclusion"),
])
def test_angle_classes_are_told_apart(text: str, expected: str) -> None:
    # One word apart, one anomaly each: Class II is not Class III although code-v1 files both
    # under the "Class III Malocclusion" class.
    assert affirmed(text) == [expected]
    assert {f.cls for f in find_findings(text)} == {"Class III Malocclusion"}


@pytest.mark.parametrize(("text", "expected"), [
    ("诊断：安氏II类错𬌗畸形", "Class II Malocclusion"),
    ("诊断：安氏III类错颌", "Class III Malocclusion"),
    ("诊断：安氏Ⅱ类", "Class II Malocclusion"),
    ("诊断：安氏Ⅲ类", "Class III Malocclusion"),
])
def test_chinese_angle_classes_are_told_apart(text: str, expected: str) -> None:
    assert affirmed(text, "cn") == [expected]


def test_chronic_and_acute_pulpitis_are_the_map_row_pulpitis() -> None:
    # code-v1 has no row for acute or chronic pulpitis: both are its Pulpitis row, with the
    # qualifier in the evidence; acute pericoronitis IS a row of its own.
    rows = load_anomaly_map().names_en.values()
    assert not any("acute pulpitis" in r.lower() or "chronic pulpitis" in r.lower() for r in rows)
    for text in ("Chronic pulpitis of tooth 36.", "Acute pulpitis of tooth 36."):
        (f,) = find_findings(text)
        assert (f.anomaly, f.status) == ("Pulpitis", "present")
        assert f.text.lower().endswith("pulpitis")
    assert affirmed("Acute pericoronitis of tooth 38.") == ["Acute Pericoronitis"]


def test_class_phrase_names_the_row_inside_it_or_none() -> None:
    # "deep caries" is a class phrase of the labeler holding the map name "caries"; "reverse
    # overjet" affirms the class but names no row: no fine-grained finding is invented.
    assert affirmed("Deep caries in tooth 46.") == ["Dental Caries"]
    assert label_report("Reverse overjet of the incisors.")["Class III Malocclusion"].status == \
        "present"
    assert affirmed("Reverse overjet of the incisors.") == []


def test_synonyms_from_the_references() -> None:
    assert affirmed("Diagnosis: Tooth structure defect (K07.303).") == ["Tooth Structure Loss"]
    assert affirmed("Diagnosis: Dental arch defect (K08.100x002).") == ["Tooth Loss"]
    assert affirmed("Diagnosis: Partial edentulism.") == ["Tooth Loss"]
    assert affirmed("Crowding of teeth and deep overbite.") == ["Dental Crowding",
                                                                 "Deep Overbite"]


# ------------------------------------------------------------------ status and evidence


def test_negated_and_uncertain_findings_with_their_cue() -> None:
    text = "No Class II malocclusion. Suspected chronic pulpitis of tooth 26."
    found = {f.anomaly: f for f in find_findings(text)}
    neg, unc = found["Class II Malocclusion"], found["Pulpitis"]
    assert (neg.status, neg.cue) == ("negated", "No")
    assert (unc.status, unc.cue) == ("uncertain", "Suspected")
    assert text[neg.span[0]:neg.span[1]] == neg.text == "Class II malocclusion"
    assert neg.cue_span is not None and text[neg.cue_span[0]:neg.cue_span[1]] == "No"


def test_negated_list_and_chinese_negation() -> None:
    assert statuses("No gingivitis, calculus or periodontitis.") == {
        "Gingivitis": "negated", "Calculus": "negated", "Periodontitis": "negated"}
    assert statuses("未见牙髓炎，可疑牙隐裂", "cn") == {"Pulpitis": "negated",
                                                    "Cracked Tooth": "uncertain"}


def test_status_agrees_with_the_class_labels() -> None:
    # Same cue machinery: where a finding is the only mention of its class, the class label
    # and the finding have the same status.
    for text in ("No pulpitis.", "Possible deep caries of 36.", "Gingivitis is present."):
        (f,) = find_findings(text)
        assert label_report(text)[f.cls].status == f.status


def test_sections_restrict_findings_and_codes() -> None:
    report = ("Patient Record: Preliminary diagnosis: pulpitis (K04.005).\n"
              "Examination: Crowding.\nDiagnosis: Chronic gingivitis (K05.151).\n")
    assert affirmed(report, sections=["diagnosis"]) == ["Gingivitis"]
    assert [c.code for c in find_codes(report, sections=["diagnosis"])] == ["K05.151"]
    assert [c.code for c in find_codes(report)] == ["K04.005", "K05.151"]
    with pytest.raises(ValueError):
        find_findings("no findings", sections=["nonsense"])


# ------------------------------------------------------------------ ICD-10 codes


def test_codes_minimal_pair_and_normalisation() -> None:
    (c12,) = find_codes("Angle's Class II malocclusion (K07.200x012).")
    (c13,) = find_codes("Angle's Class III malocclusion (k07.200X013).")
    assert (c12.code, c12.category, c12.anomaly) == ("K07.200x012", "K07", "Class II Malocclusion")
    assert (c13.code, c13.category, c13.anomaly) == ("K07.200x013", "K07",
                                                     "Class III Malocclusion")
    assert c13.text == "k07.200X013"
    assert normalise_code(" k02.800X008") == "K02.800x008"


def test_code_in_a_negated_clause() -> None:
    assert [(c.code, c.status) for c in find_codes("No K02.1 found; K04.005 confirmed.")] == [
        ("K02.1", "negated"), ("K04.005", "present")]
    # A code annotating a mention shares its status, also across "of tooth 36".
    codes = find_codes("No deep caries of tooth 36 (K02.800x008, K02.901). Pulpitis (K04.005).")
    assert [(c.code, c.status) for c in codes] == [
        ("K02.800x008", "negated"), ("K02.901", "negated"), ("K04.005", "present")]
    (c,) = find_codes("疑似牙髓炎（K04.005）", language="cn")
    assert (c.code, c.status, c.anomaly) == ("K04.005", "uncertain", "Pulpitis")


def test_unknown_codes_are_kept_not_guessed() -> None:
    text = "Diagnosis: malocclusion (M26.4); caries (K02.9); (ICD-10: K02); K07.200x099."
    codes = find_codes(text)
    assert [(c.code, c.category, c.anomaly) for c in codes] == [
        ("M26.4", "M26", None), ("K02.9", "K02", None), ("K02", "K02", None),
        ("K07.200x099", "K07", None)]


def test_resin_brands_and_ranges_are_not_codes() -> None:
    text = ("Filled with 3M Z350 resin and 3M P60; R655 healing abutment; ICD-10 range "
            "K00-K14; ICD-10 code: K03")
    assert [c.code for c in find_codes(text)] == ["K03"]


def test_data_files_load_and_name_real_map_rows() -> None:
    amap = load_anomaly_map()
    table = icd10_codes()
    assert len(table) == 19
    code_rx = re.compile(r"[A-Z]\d{2}\.\d{3}(?:x\d{3})?")
    for code, row in table.items():
        assert code_rx.fullmatch(code), code
        assert amap.is_known(row["anomaly"]), (code, row["anomaly"])
        assert row["source"].strip() and row["icd10"].startswith(code[:3])
    for language in ("en", "cn"):
        for anomaly in finding_synonyms(language):
            assert amap.is_known(anomaly)
    assert findings_id().startswith("rules-v2+")


def test_findings_need_a_label_map() -> None:
    with pytest.raises(ValueError, match="label map"):
        find_findings("pulpitis", rules="rules-v1")


# ------------------------------------------------------------------ the real references


def _references() -> dict[str, str]:
    peer = require_shared()
    path = peer / "sft" / "Qwen2.5-VL-7B-Instruct-SFT" / "predictions.jsonl"
    out = {}
    for line in path.read_text("utf-8").splitlines():
        row = json.loads(line)
        if row["task"] == "code_report":
            out[row["id"]] = row["ground_truth"]
    assert len(out) == 600
    return out


def test_reference_diagnoses_yield_findings_and_known_codes() -> None:
    refs = _references()
    with_any = with_code = 0
    unknown: list[str] = []
    for text in refs.values():
        findings = [f for f in find_findings(text, sections=["diagnosis"])
                    if f.status == "present"]
        codes = [c for c in find_codes(text, sections=["diagnosis"]) if c.status == "present"]
        with_any += bool(findings or codes)
        with_code += bool(codes)
        unknown += [c.code for c in codes if c.anomaly is None]
    # Measured: 593 of 600 Diagnosis sections name a finding or a code, 468 carry a code,
    # and every reference code is in the data file. Raise, never lower.
    assert with_any >= 593
    assert with_code >= 468
    assert unknown == []


def test_reference_codes_agree_with_the_findings_they_annotate() -> None:
    # Each reference code names the anomaly of the finding written just before it (the
    # pairing the data file records), e.g. all 174 K07.200x013 follow Angle Class III.
    refs = _references()
    agree = total = 0
    for text in refs.values():
        findings = find_findings(text)
        for c in find_codes(text):
            before = [f for f in findings if f.span[1] <= c.span[0]
                      and not re.search(r"[.;\n]", text[f.span[1]:c.span[0]])]
            total += 1
            agree += bool(before) and before[-1].anomaly == c.anomaly
    assert total >= 936
    assert agree >= total - 2  # the one report's "chronic gingival pigmentation (K05.151)"
