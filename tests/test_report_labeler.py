"""The negation-aware report labeler: minimal pairs, metamorphic negation, spans, sections."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest

from eval_harness.data.checkup import REPORT_SECTIONS
from eval_harness.labels.classes import CLASSES
from eval_harness.labels.report_labeler import (
    RULES_VERSION,
    ClassLabel,
    find_mentions,
    label_report,
    rules_id,
    rules_sha256,
    section_spans,
    split_sections,
)
from tests.conftest import require_shared

ROOT = Path(__file__).resolve().parents[1]
CARIES, GINGIVITIS, CLASS3, PULPITIS, LOSS, STRUCTURE = CLASSES


def statuses(text: str, language: str = "en") -> dict[str, str]:
    return {c: lab.status for c, lab in label_report(text, language).items()}


def nonabsent(text: str, language: str = "en") -> dict[str, str]:
    return {c: s for c, s in statuses(text, language).items() if s != "absent"}


# ------------------------------------------------------------------ minimal pairs (English)

@pytest.mark.parametrize(("text", "expected"), [
    ("Dental caries on tooth 16.", {CARIES: "present"}),
    ("No caries detected.", {CARIES: "negated"}),
    ("Rule out caries of 26.", {CARIES: "uncertain"}),
    ("Caries on 16, none on 26.", {CARIES: "present"}),  # the comma ends "none"'s reach
    ("Tooth pain with no obvious cause.", {}),  # pseudo-negation: nothing negated
    ("No change in the gingival inflammation.", {GINGIVITIS: "present"}),
    ("Possible early caries on 26.", {CARIES: "uncertain"}),
    ("Caries on 36?", {CARIES: "uncertain"}),
    ("Pulpitis cannot be ruled out.", {PULPITIS: "uncertain"}),
    ("Pulpitis was ruled out.", {PULPITIS: "negated"}),
    ("Caries not seen on the bitewings.", {CARIES: "negated"}),
    ("Caries-free dentition.", {CARIES: "negated"}),
    ("No new radiolucent areas suggestive of caries.", {CARIES: "negated"}),
    ("Angle's Class III malocclusion.", {CLASS3: "present"}),
    ("Angle’s Class III malocclusion (K07.200x013).", {CLASS3: "present"}),
    ("Angle's Class II malocclusion.", {}),
    ("Angle Class I malocclusion with crowding.", {}),
    ("Skeletal Class III pattern with anterior crossbite.", {CLASS3: "present"}),
    ("Posterior crossbite on the right.", {}),
    ("Anterior crossbite not resolved.", {CLASS3: "present"}),
    ("Anterior crossbite resolved.", {CLASS3: "negated"}),
    ("Kennedy Class III partial edentulism.", {LOSS: "present"}),
    ("Class III cavity on tooth 12 restored with composite.", {}),  # G.V. Black, not Angle
    ("Periapical periodontitis of tooth 36.", {PULPITIS: "present"}),
    ("Chronic periodontitis.", {GINGIVITIS: "present"}),
    ("No periapical radiolucency.", {PULPITIS: "negated"}),
    ("Teeth 15, 44, and 46 are missing.", {LOSS: "present"}),
    ("Congenitally missing tooth 12.", {}),
    ("Wedge-shaped defects on teeth 14 and 24.", {STRUCTURE: "present"}),
    ("Tooth structure defect of tooth 46 (K07.303).", {STRUCTURE: "present"}),
    ("Dental arch defect at tooth 36 (K08.100x002).", {LOSS: "present"}),
    ("A loss of tooth structure on 26.", {STRUCTURE: "present"}),
    ("The oral cavity is clean; cavity preparation on 36.", {}),
    ("Enamel sealing to prevent caries.", {}),  # hypothetical: says nothing about the patient
    ("Fluoride varnish for caries prevention.", {}),
    ("Return if gingival bleeding occurs.", {}),
    ("Tooth 35 shows no percussion pain or gingival inflammation.", {GINGIVITIS: "negated"}),
    ("No caries, gingivitis or pulpitis.",
     {CARIES: "negated", GINGIVITIS: "negated", PULPITIS: "negated"}),
    ("No signs of decay, mobility, or periodontal disease.",
     {CARIES: "negated", GINGIVITIS: "negated"}),
    ("No significant gingival swelling in the implant area.",
     {GINGIVITIS: "negated", LOSS: "present"}),  # the negation stops at its own finding
    ("The gingiva shows no significant redness or swelling.", {GINGIVITIS: "negated"}),
    ("No caries, but gingivitis around 31.", {CARIES: "negated", GINGIVITIS: "present"}),
    ("No caries on 16, gingival redness noted.", {CARIES: "negated", GINGIVITIS: "present"}),
])
def test_english_minimal_pairs(text: str, expected: dict[str, str]) -> None:
    assert nonabsent(text) == expected


# ------------------------------------------------------------------ minimal pairs (Chinese)

@pytest.mark.parametrize(("text", "expected"), [
    ("46深龋。", {CARIES: "present"}),
    ("未见龋坏。", {CARIES: "negated"}),
    ("余牙未见明显龋坏。", {CARIES: "negated"}),
    ("不排除牙髓炎。", {PULPITIS: "uncertain"}),
    ("36牙髓炎？", {PULPITIS: "uncertain"}),
    ("46牙髓炎待排。", {PULPITIS: "uncertain"}),
    ("1周前无明显诱因出现牙痛。", {}),
    ("牙龈无明显红肿。", {GINGIVITIS: "negated"}),
    ("全口牙龈红肿，探诊出血。", {GINGIVITIS: "present"}),
    ("安氏III类错𬌗。", {CLASS3: "present"}),
    ("安氏Ⅲ类错颌畸形。", {CLASS3: "present"}),
    ("安氏II类错颌。", {}),
    ("前牙反颌。", {CLASS3: "present"}),
    ("未见牙列拥挤及反颌。", {CLASS3: "negated"}),
    ("肯氏III类牙列缺损。", {LOSS: "present"}),
    ("根尖周未见明显低密度影。", {PULPITIS: "negated"}),
    ("36根尖周低密度影。", {PULPITIS: "present"}),
    ("慢性根尖周炎。", {PULPITIS: "present"}),
    ("慢性牙周炎。", {GINGIVITIS: "present"}),
    ("未见牙齿磨耗及楔状缺损。", {STRUCTURE: "negated"}),
    ("24楔状缺损，46缺失。", {STRUCTURE: "present", LOSS: "present"}),
    ("无牙颌。", {LOSS: "present"}),  # the "无" inside the mention negates nothing
    ("去腐备洞，酸蚀粘接，树脂充填。", {}),  # acid etching is not erosion
    ("涂氟预防龋齿。", {}),
    ("如有牙龈出血随诊。", {}),
    ("否认牙龈出血史。", {GINGIVITIS: "negated"}),
])
def test_chinese_minimal_pairs(text: str, expected: dict[str, str]) -> None:
    assert nonabsent(text, "cn") == expected


# ------------------------------------------------------------- metamorphic: insert a negation

# (text before the mention, the mention, the rest, its class); the rest has other findings
# in their own sentences, which the inserted negation must leave alone.
_AFFIRMATIVE_EN = [
    ("Diagnosis: ", "pulpitis", " of tooth 36. Gingival redness noted.", PULPITIS),
    ("Examination: ", "anterior crossbite", ". Tooth 46 is missing.", CLASS3),
    ("The radiograph shows ", "periapical radiolucency", " at 46. Deep caries on 47.", PULPITIS),
    ("Tooth 21 shows ", "tooth structure loss", ". Chronic gingivitis.", STRUCTURE),
    ("Findings: ", "gingival swelling", " in the anterior region. Angle Class III malocclusion.",
     GINGIVITIS),
    ("The patient has ", "missing teeth", " in the lower arch. Wedge-shaped defects on 14.",
     LOSS),
    ("Examination shows ", "dental caries", " on tooth 16. Pulpitis of tooth 26.", CARIES),
    ("Radiograph: ", "wedge-shaped defects", " on 14 and 24. No caries.", STRUCTURE),
]
_AFFIRMATIVE_CN = [
    ("检查：", "深龋", "达牙本质中层。46牙髓炎。", CARIES),
    ("检查：", "牙龈红肿", "。安氏III类错颌。", GINGIVITIS),
    ("检查：24", "楔状缺损", "。46缺失。", STRUCTURE),
    ("影像：36", "根尖周低密度影", "。17深龋。", PULPITIS),
    ("检查：", "前牙反颌", "。牙龈出血。", CLASS3),
]


@pytest.mark.parametrize("cue", ["no", "absence of", "negative for", "without"])
@pytest.mark.parametrize("case", _AFFIRMATIVE_EN, ids=[c[1] for c in _AFFIRMATIVE_EN])
def test_inserting_a_negation_flips_only_that_class(case: tuple[str, str, str, str],
                                                    cue: str) -> None:
    before, mention, rest, cls = case
    original = statuses(before + mention + rest)
    negated = statuses(f"{before}{cue} {mention}{rest}")
    assert original[cls] == "present"
    assert negated[cls] == "negated"
    assert {c: s for c, s in negated.items() if c != cls} == \
        {c: s for c, s in original.items() if c != cls}


@pytest.mark.parametrize("cue", ["未见", "无", "否认"])
@pytest.mark.parametrize("case", _AFFIRMATIVE_CN, ids=[c[1] for c in _AFFIRMATIVE_CN])
def test_inserting_a_chinese_negation_flips_only_that_class(
        case: tuple[str, str, str, str], cue: str) -> None:
    before, mention, rest, cls = case
    original = statuses(before + mention + rest, "cn")
    negated = statuses(before + cue + mention + rest, "cn")
    assert original[cls] == "present"
    assert negated[cls] == "negated"
    assert {c: s for c, s in negated.items() if c != cls} == \
        {c: s for c, s in original.items() if c != cls}


# ------------------------------------------------- the synthetic generator's negated mentions

# Anomalies the label map files under a class other than the one they clinically name.
_MAP_DIFFERS = {"Cracked Tooth"}  # map: Pulpitis; the labeler reads a crack as structure loss


@pytest.mark.parametrize("language", ["en", "cn"])
def test_synthetic_reports_never_affirm_an_absent_class(language: str) -> None:
    """The synthetic texts negate or hedge classes the checkup does NOT have ("未见龋坏",
    "Cannot rule out mild gingivitis") and use pseudo-negations; none may read as present."""
    import random

    from eval_harness.data.synth.text import make_texts
    from eval_harness.labels.anomaly_map import load_anomaly_map

    amap = load_anomaly_map()
    names = sorted(n for n in amap.names_en.values() if n not in _MAP_DIFFERS)
    rng = random.Random(20240611)
    suffix, title, sep = ("", 1, ": ") if language == "en" else ("_cn", 2, "：")
    wrong = []
    for _ in range(300):
        anomalies = rng.sample(names, rng.choice((1, 1, 2)))
        texts = make_texts(rng, anomalies, has_radiograph=rng.random() < 0.5)
        report = "\n".join(f"{s[title]}{sep}{texts[s[0] + suffix]}" for s in REPORT_SECTIONS)
        carried = set(amap.classes_of(anomalies))
        wrong += [(c, lab.evidence, anomalies) for c, lab in label_report(report, language).items()
                  if lab.status == "present" and c not in carried]
    assert wrong == []


# ------------------------------------------------------------ precedence, evidence, spans

@pytest.mark.parametrize(("text", "status", "evidence_at"), [
    ("No caries on 16. Caries on 26.", "present", "Caries on 26"),
    ("Possible caries on 16. No caries on 26.", "uncertain", "caries on 16"),
    ("No caries on 16. Possible caries on 26.", "uncertain", "caries on 26"),
    ("Caries on 26. Possible caries on 16. No caries on 36.", "present", "Caries on 26"),
])
def test_precedence_affirmed_over_uncertain_over_negated(text: str, status: str,
                                                         evidence_at: str) -> None:
    label = label_report(text)[CARIES]
    assert label.status == status
    assert label.span is not None
    assert label.span[0] == text.index(evidence_at) + evidence_at.lower().index("caries")


def test_spans_point_at_evidence_and_cue() -> None:
    text = ("Patient Record: Follow-up consultation.\n"
            "Examination: Tooth 36 shows no percussion pain or gingival inflammation.\n"
            "Radiographic Examination: Possible periapical radiolucency at 46.\n"
            "Diagnosis: Deep caries in tooth 36 (K02.800x008).\n")
    labels = label_report(text)
    seen = 0
    for label in labels.values():
        if label.status == "absent":
            assert label == ClassLabel("absent")
            continue
        seen += 1
        assert label.span is not None and label.evidence is not None
        assert text[label.span[0]:label.span[1]] == label.evidence
        if label.cue is not None:
            assert label.cue_span is not None
            assert text[label.cue_span[0]:label.cue_span[1]] == label.cue
    assert seen == 3
    assert labels[GINGIVITIS].cue == "no"
    assert labels[PULPITIS].cue == "Possible"
    assert labels[CARIES].evidence == "Deep caries"


def test_mentions_record_every_decision() -> None:
    found = find_mentions("No caries on 16. Caries on 26 to prevent pulpitis.")
    assert [(m.cls, m.status, m.cue_role) for m in found] == [
        (CARIES, "negated", "pre"), (CARIES, "present", None),
        (PULPITIS, "hypothetical", "pre")]


def test_empty_and_bad_input() -> None:
    assert all(s == "absent" for s in statuses("").values())
    assert all(lab.status == "absent" for lab in label_report(None).values())
    with pytest.raises(ValueError, match="language"):
        label_report("caries", language="fr")
    with pytest.raises(ValueError, match="unknown report sections"):
        label_report("caries", sections=["diagnoses"])
    assert nonabsent("龋坏", "zh") == {CARIES: "present"}  # zh is an alias of cn


# --------------------------------------------------------------------------- sections

_REPORT = ("Patient Record: Follow-up consultation. Diagnosis: Pulpitis (K04.005).\n"
           "Examination: Tooth 37 shows deep caries.\n"
           "Radiographic Examination: \n"
           "Diagnosis: Pulpitis in tooth 37 (K04.005).\n"
           "Treatment Plan: \nTreatment Recommendations: \n"
           "Management: Temporary seal removed.\n"
           "Medical Instructions: Return if discomfort occurs.\n"
           "Remarks: ")


def test_split_sections_reads_the_reference_format() -> None:
    sections = split_sections(_REPORT)
    assert list(sections) == [s[0] for s in REPORT_SECTIONS]
    # "Diagnosis:" inside the Patient Record line does not start a section.
    assert sections["patient_record"].endswith("Diagnosis: Pulpitis (K04.005).")
    assert sections["diagnosis"] == "Pulpitis in tooth 37 (K04.005)."
    assert sections["radiographs_examination"] == "" and sections["remarks"] == ""


def test_split_sections_reads_markdown_and_chinese() -> None:
    md = "**Patient Record:**\n* Visit: follow-up\n\n## Diagnosis\n- Deep caries on 36\n"
    assert split_sections(md) == {"patient_record": "* Visit: follow-up",
                                  "diagnosis": "- Deep caries on 36"}
    cn = "病历记录：复诊。\n检查：36深龋。\n影像学检查：\n诊断：36深龋。\n医嘱：不适随诊。"
    assert split_sections(cn, "cn") == {"patient_record": "复诊。", "examination": "36深龋。",
                                        "radiographs_examination": "", "diagnosis": "36深龋。",
                                        "medical_instructions": "不适随诊。"}


def test_section_restriction_keeps_full_report_offsets() -> None:
    diag = label_report(_REPORT, sections=["diagnosis"])
    assert {c: lab.status for c, lab in diag.items() if lab.status != "absent"} == \
        {PULPITIS: "present"}  # the examination's caries is outside the Diagnosis section
    span = diag[PULPITIS].span
    assert span is not None and span[0] == _REPORT.index("Pulpitis in tooth 37")
    assert section_spans(_REPORT)["diagnosis"] == [
        (_REPORT.index("Pulpitis in tooth 37"), _REPORT.index("\nTreatment Plan"))]
    assert label_report(_REPORT)[CARIES].status == "present"
    assert label_report("Caries on 16.", sections=["diagnosis"])[CARIES].status == "absent"


# ---------------------------------------------------------------------- rules and speed

def test_rules_are_versioned_and_hashed() -> None:
    folder = resources.files("eval_harness.labels").joinpath("rules")
    manifest = json.loads(folder.joinpath("manifest.json").read_text("utf-8"))
    assert manifest["version"] == RULES_VERSION
    digest = hashlib.sha256()
    for name in ["manifest.json", *manifest["files"]]:
        digest.update(name.encode() + b"\0" + folder.joinpath(name).read_bytes() + b"\0")
    assert rules_sha256() == digest.hexdigest()
    assert re.fullmatch(rf"{re.escape(RULES_VERSION)}\+[0-9a-f]{{12}}", rules_id())
    listed = set(manifest["files"])
    on_disk = {p.name for p in folder.iterdir() if p.name.endswith(".json")} - {"manifest.json"}
    assert listed == on_disk  # every rule file is hashed


def test_nothing_compiles_at_import() -> None:
    code = ("import eval_harness.labels.report_labeler as m; "
            "print(m._rules.cache_info().currsize, m.rules_sha256.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["0", "0"]


def test_labels_hundreds_of_reports_per_second() -> None:
    reports = [_REPORT.replace("37", str(n)) for n in range(11, 48)] * 8  # ~300 reports
    label_report(_REPORT)  # compile the rules outside the timing
    start = time.perf_counter()
    for r in reports:
        label_report(r)
    per_second = len(reports) / (time.perf_counter() - start)
    # Thousands per second on a developer machine; the floor only catches a regex that
    # started to backtrack, not a slow CI box.
    assert per_second > 200


# --------------------------------------------------------------- the 600 real references

def _agreement_script():  # scripts/ is not a package: load the file itself
    spec = importlib.util.spec_from_file_location(
        "labeler_agreement", ROOT / "scripts" / "labeler_agreement.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_agreement_on_real_references_stays_at_the_documented_figure() -> None:
    peer = require_shared()
    script = _agreement_script()
    refs = script.load_references(peer)
    assert len(refs) == 600
    assert {c: sum(r.cls == c for r in refs) for c in CLASSES} == {c: 100 for c in CLASSES}
    totals = script.agreement(refs)["totals"]
    assert totals["whole_present"] >= script.FLOOR_WHOLE_REPORT
    assert totals["diagnosis_present"] >= script.FLOOR_DIAGNOSIS
    assert totals["other_present"] <= script.CEILING_OTHER_PRESENT
    doc = (ROOT / "docs" / "labeler-agreement.md").read_text(encoding="utf-8")
    assert rules_id() in doc, "rules changed: rerun " + script.COMMAND
    assert f"{script.FLOOR_WHOLE_REPORT}/600" in doc and f"{script.FLOOR_DIAGNOSIS}/600" in doc
