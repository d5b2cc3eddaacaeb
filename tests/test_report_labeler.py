"""The negation-aware report labeler: minimal pairs, metamorphic negation, spans, sections."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from eval_harness.data.checkup import REPORT_SECTIONS
from eval_harness.labels import report_labeler
from eval_harness.labels.anomaly_map import load_anomaly_map, parse_anomaly_map
from eval_harness.labels.classes import CLASSES
from eval_harness.labels.report_labeler import (
    RULES_VERSION,
    RULES_VERSIONS,
    ClassLabel,
    find_mentions,
    label_report,
    map_mentions,
    rules_id,
    rules_sha256,
    section_spans,
    split_sections,
)
from tests.conftest import require_shared

ROOT = Path(__file__).resolve().parents[1]
CARIES, GINGIVITIS, CLASS3, PULPITIS, LOSS, STRUCTURE = CLASSES


def statuses(text: str, language: str = "en", rules: str | None = None) -> dict[str, str]:
    return {c: lab.status for c, lab in label_report(text, language, rules=rules).items()}


def nonabsent(text: str, language: str = "en", rules: str | None = None) -> dict[str, str]:
    return {c: s for c, s in statuses(text, language, rules).items() if s != "absent"}


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
    ("Skeletal Class III pattern with anterior crossbite.", {CLASS3: "present"}),
    ("Anterior crossbite not resolved.", {CLASS3: "present"}),
    ("Anterior crossbite resolved.", {CLASS3: "negated"}),
    ("Kennedy Class III partial edentulism.", {LOSS: "present"}),
    ("Class III cavity on tooth 12 restored with composite.", {}),  # G.V. Black, not Angle
    ("Periapical periodontitis of tooth 36.", {PULPITIS: "present"}),
    ("Chronic periodontitis.", {GINGIVITIS: "present"}),
    ("No periapical radiolucency.", {PULPITIS: "negated"}),
    ("Teeth 15, 44, and 46 are missing.", {LOSS: "present"}),
    ("Hypodontia of 12 and 22.", {}),  # congenital absence is not tooth loss
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
    assert nonabsent(text, rules="rules-v1") == expected  # none of these changed in v2


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
    assert nonabsent(text, "cn", "rules-v1") == expected


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
# rules-v1 reads a crack as structure loss (map: Pulpitis); rules-v2 follows the map.
_MAP_DIFFERS = {"rules-v1": {"Cracked Tooth"}, "rules-v2": set()}


@pytest.mark.parametrize("rules", RULES_VERSIONS)
@pytest.mark.parametrize("language", ["en", "cn"])
def test_synthetic_reports_never_affirm_an_absent_class(language: str, rules: str) -> None:
    """The synthetic texts negate or hedge classes the checkup does NOT have ("未见龋坏",
    "Cannot rule out mild gingivitis") and use pseudo-negations; none may read as present."""
    import random

    from eval_harness.data.synth.text import make_texts
    from eval_harness.labels.anomaly_map import load_anomaly_map

    amap = load_anomaly_map()
    names = sorted(n for n in amap.names_en.values() if n not in _MAP_DIFFERS[rules])
    rng = random.Random(20240611)
    suffix, title, sep = ("", 1, ": ") if language == "en" else ("_cn", 2, "：")
    wrong = []
    for _ in range(300):
        anomalies = rng.sample(names, rng.choice((1, 1, 2)))
        texts = make_texts(rng, anomalies, has_radiograph=rng.random() < 0.5)
        report = "\n".join(f"{s[title]}{sep}{texts[s[0] + suffix]}" for s in REPORT_SECTIONS)
        carried = set(amap.classes_of(anomalies))
        labels = label_report(report, language, rules=rules)
        wrong += [(c, lab.evidence, anomalies) for c, lab in labels.items()
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

_MANIFESTS = {"rules-v1": "manifest.json", "rules-v2": "manifest-v2.json"}


@pytest.mark.parametrize("version", RULES_VERSIONS)
def test_rules_are_versioned_and_hashed(version: str) -> None:
    folder = resources.files("eval_harness.labels").joinpath("rules")
    manifest = json.loads(folder.joinpath(_MANIFESTS[version]).read_text("utf-8"))
    assert manifest["version"] == version
    digest = hashlib.sha256()
    for name in [_MANIFESTS[version], *manifest["files"]]:
        digest.update(name.encode() + b"\0" + folder.joinpath(name).read_bytes() + b"\0")
    if "label_map" in manifest:  # the map's content is part of the rules' identity
        amap = load_anomaly_map(manifest["label_map"])
        digest.update(f"label-map:{amap.version}\0{amap.sha256}\0".encode())
        assert rules_id(version) == f"{version}+{digest.hexdigest()[:12]}/{amap.id}"
    else:
        assert rules_id(version) == f"{version}+{digest.hexdigest()[:12]}"
    assert rules_sha256(version) == digest.hexdigest()


def test_every_rule_file_is_in_a_manifest_and_v2_is_the_default() -> None:
    folder = resources.files("eval_harness.labels").joinpath("rules")
    listed = {f for m in _MANIFESTS.values()
              for f in json.loads(folder.joinpath(m).read_text("utf-8"))["files"]}
    on_disk = {p.name for p in folder.iterdir() if p.name.endswith(".json")}
    assert listed == on_disk - set(_MANIFESTS.values())  # every rule file is hashed
    assert RULES_VERSION == "rules-v2" and rules_id() == rules_id("rules-v2")
    assert rules_id("rules-v2").endswith("/" + load_anomaly_map().id)
    with pytest.raises(ValueError, match="rules must be one of"):
        label_report("caries", rules="rules-v3")


def test_rules_v1_is_reproducible() -> None:
    # The id results computed before rules-v2 carry: its files must stay byte-identical.
    assert rules_id("rules-v1") == "rules-v1+3b56ed1fb914"
    assert map_mentions("en", "rules-v1") == () and map_mentions("cn", "rules-v1") == ()


def test_nothing_compiles_at_import() -> None:
    code = ("import eval_harness.labels.report_labeler as m; "
            "print(m._rules.cache_info().currsize, m.rules_sha256.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["0", "0"]


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
    doc = (ROOT / "docs" / "labeler-agreement.md").read_text(encoding="utf-8")
    for version in RULES_VERSIONS:
        totals = script.agreement(refs, version)["totals"]
        assert totals["whole_present"] >= script.FLOOR_WHOLE_REPORT[version]
        assert totals["diagnosis_present"] >= script.FLOOR_DIAGNOSIS[version]
        assert totals["other_present"] <= script.CEILING_OTHER_PRESENT[version]
        assert rules_id(version) in doc, "rules changed: rerun " + script.COMMAND
        assert (f"{version}: {script.FLOOR_WHOLE_REPORT[version]}/600, "
                f"{script.FLOOR_DIAGNOSIS[version]}/600, "
                f"{script.CEILING_OTHER_PRESENT[version]}") in doc


def test_v2_credits_the_fine_tuned_runs_class_ii_wording() -> None:
    """On one published fine-tuned run, whose Class III diagnoses say "Angle's Class II
    malocclusion", rules-v1 credits none of the Class III references and rules-v2 credits
    them (the figures the doc reports for every run)."""
    peer = require_shared()
    script = _agreement_script()
    refs = script.load_references(peer)
    run = peer / "sft" / "Qwen2.5-VL-7B-Instruct-SFT"
    if not (run / "predictions.jsonl").is_file():
        pytest.skip("that run is not in the peer snapshot")
    c3 = {r.number for r in refs if r.cls == CLASS3}
    texts = [json.loads(ln) for ln in (run / "predictions.jsonl").read_text("utf-8").splitlines()
             if ln.strip()]
    texts = [t["prediction"] for t in texts
             if t["id"].startswith("code_rpt_") and t["id"][9:] in c3 and not t.get("failed")]
    from eval_harness.metrics.clinical import primary_class_accuracy
    v1 = primary_class_accuracy(texts, [CLASS3] * len(texts), rules="rules-v1")
    v2 = primary_class_accuracy(texts, [CLASS3] * len(texts))
    assert len(texts) >= 90 and v1.value == 0.0 and v2.value >= 0.95
    assert rules_id("rules-v1") in v1.signature and rules_id("rules-v2") in v2.signature


# --------------------------------------------- rules-v2: the label map's names are mentions

@pytest.mark.parametrize(("text", "language", "evidence"), [
    ("Angle's Class II malocclusion (K07.200x012).", "en", "Class II malocclusion"),
    ("Angle Class I malocclusion.", "en", "Class I malocclusion"),
    ("Crossbite at tooth 16.", "en", "Crossbite"),
    ("Posterior cross-bite on the right.", "en", "cross-bite"),
    ("Moderate crowding in the lower arch.", "en", "crowding"),
    ("Dental crowding.", "en", "Dental crowding"),
    ("Deep overbite and deep overjet.", "en", "Deep overbite"),
    ("Angle's Class II molar relationship on both sides.", "en",
     "Angle's Class II molar relationship"),
    ("Congenitally missing tooth 12.", "en", "Congenitally missing tooth"),
    ("安氏II类错颌。", "cn", "安氏II类错颌"),
    ("安氏Ⅱ类错𬌗。", "cn", "安氏Ⅱ类错𬌗"),
    ("牙列拥挤。", "cn", "牙列拥挤"),
    ("下前牙拥挤。", "cn", "拥挤"),
    ("错颌畸形。", "cn", "错颌畸形"),
    ("前牙开合。", "cn", "前牙开合"),
])
def test_any_malocclusion_is_class_iii_under_v2_only(text: str, language: str,
                                                     evidence: str) -> None:
    label = label_report(text, language)[CLASS3]
    assert (label.status, label.evidence) == ("present", evidence)
    assert nonabsent(text, language) == {CLASS3: "present"}
    assert CLASS3 not in nonabsent(text, language, "rules-v1")


@pytest.mark.parametrize(("text", "language", "status"), [
    ("No malocclusion.", "en", "negated"),
    ("Midline aligned, no excess spacing.", "en", "negated"),
    ("No crowding or crossbite.", "en", "negated"),
    ("Possible Class II malocclusion.", "en", "uncertain"),
    ("Crossbite has been corrected.", "en", "negated"),
    ("未见错颌畸形。", "cn", "negated"),
    ("未见牙列拥挤。", "cn", "negated"),
    ("不排除安氏II类错颌。", "cn", "uncertain"),
])
def test_map_mentions_are_negated_and_hedged(text: str, language: str, status: str) -> None:
    assert nonabsent(text, language) == {CLASS3: status}


@pytest.mark.parametrize(("text", "v1", "v2"), [
    # Where a map name and a rules-v1 phrase match the same text, the map's class wins.
    ("Cracked tooth 36.", {STRUCTURE: "present"}, {PULPITIS: "present"}),
    ("Cracked tooth syndrome of 36.", {STRUCTURE: "present"}, {PULPITIS: "present"}),
    ("Restoration defect on 16.", {}, {STRUCTURE: "present"}),
    ("Calculus (++), pigmentation (+).", {}, {GINGIVITIS: "present"}),
    ("Temporary restoration on 37.", {}, {STRUCTURE: "present"}),
    # Too generic alone; the full names still count.
    ("Wear the retainer at night; no history of trauma.", {}, {}),
    ("Restoration fracture on 16; mobility test negative.", {}, {}),
    ("Generalized tooth wear.", {STRUCTURE: "present"}, {STRUCTURE: "present"}),
    ("Grade II tooth mobility.", {}, {STRUCTURE: "present"}),
    # A map name inside a longer one of another class: the longer wins.
    ("Periapical periodontitis of 46.", {PULPITIS: "present"}, {PULPITIS: "present"}),
    ("Kennedy Class I edentulism.", {LOSS: "present"}, {LOSS: "present"}),
])
def test_v2_precedence_and_generic_forms(text: str, v1: dict[str, str],
                                         v2: dict[str, str]) -> None:
    assert nonabsent(text, rules="rules-v1") == v1
    assert nonabsent(text) == v2


@pytest.mark.parametrize(("text", "v1", "v2"), [
    ("修复体缺损。", {}, {STRUCTURE: "present"}),
    ("牙隐裂。", {STRUCTURE: "present"}, {PULPITIS: "present"}),
    ("先天缺牙。", {}, {CLASS3: "present"}),
    ("牙周膜间隙增宽，牙齿无松动。", {}, {}),  # 间隙 and 松动 alone are too generic
    ("下颌后缩。", {}, {CLASS3: "present"}),
    ("颌骨外伤。", {}, {STRUCTURE: "present"}),  # 颌 of 颌骨 is the jaw
])
def test_v2_chinese_precedence_and_generic_forms(text: str, v1: dict[str, str],
                                                 v2: dict[str, str]) -> None:
    assert nonabsent(text, "cn", "rules-v1") == v1
    assert nonabsent(text, "cn") == v2


@pytest.mark.parametrize("language", ["en", "cn"])
def test_every_map_name_reads_as_its_own_class(language: str) -> None:
    """Each name of the map, alone, is a mention of the map's class and of no other, so a
    name that sits inside a longer name of another class cannot fire in its place."""
    derived = map_mentions(language)
    amap = load_anomaly_map()
    names = amap.names_en.values() if language == "en" else amap.names_cn
    assert {d.name for d in derived} == set(names)  # one per row, none copied or lost
    wrong = []
    for d in derived:
        if d.pattern is None:
            continue
        got = nonabsent(d.name, language)
        if got != {d.cls: "present"}:
            wrong.append((d.name, d.cls, got))
    assert wrong == []


@pytest.fixture
def fresh_rules():
    """Compiled rules and hashes are cached per process; rebuild them around a test."""
    def clear() -> None:
        report_labeler._rules.cache_clear()
        report_labeler._cue_roles.cache_clear()
        report_labeler.rules_sha256.cache_clear()
    clear()
    yield
    clear()


def test_v2_vocabulary_is_derived_from_the_map_file(monkeypatch: pytest.MonkeyPatch,
                                                    fresh_rules: None) -> None:
    raw = (resources.files("eval_harness.labels").joinpath("data", "code-v1.csv")
           .read_bytes().decode("utf-8"))
    lines = raw.splitlines()
    # Move crossbite to Gingivitis, drop dental crowding, add a made-up anomaly.
    edited = [ln.replace(",Class III Malocclusion,", ",Gingivitis,")
              if ln.startswith("Crossbite,") else ln
              for ln in lines if not ln.startswith("Dental Crowding,")]
    edited.append("Zebra Striping,斑马纹,Pulpitis,a made-up row for the test.")
    modified = parse_anomaly_map("\n".join(edited).encode(), "code-v1", "test")
    before = rules_id()
    assert nonabsent("Crossbite. Crowding. Zebra striping. 斑马纹") == {CLASS3: "present"}

    derived = {d.name: d.cls for d in map_mentions("en", anomaly_map=modified)}
    assert derived["Zebra Striping"] == PULPITIS and "Dental Crowding" not in derived

    monkeypatch.setattr(report_labeler, "load_anomaly_map", lambda version: modified)
    report_labeler._rules.cache_clear()
    report_labeler.rules_sha256.cache_clear()
    assert nonabsent("Crossbite.") == {GINGIVITIS: "present"}
    assert nonabsent("Moderate crowding.") == {}
    assert nonabsent("Zebra striping on 11.") == {PULPITIS: "present"}
    assert nonabsent("未见斑马纹。", "cn") == {PULPITIS: "negated"}
    assert rules_id() != before and rules_id().endswith("/" + modified.id)
    assert rules_id("rules-v1") == "rules-v1+3b56ed1fb914"  # v1 reads no map


def test_stale_generic_entries_are_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = json.loads(resources.files("eval_harness.labels").joinpath(
        "rules", "map_mentions.json").read_text("utf-8"))
    spec["too_generic"]["en"]["no such form"] = "stale"
    real_load = report_labeler._load
    monkeypatch.setattr(report_labeler, "_load",
                        lambda name: spec if name == "map_mentions.json" else real_load(name))
    with pytest.raises(RuntimeError, match="no such form"):
        map_mentions("en")
