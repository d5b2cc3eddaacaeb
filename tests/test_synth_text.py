"""Synthetic bilingual clinical text: shape, determinism, and truthful hedging."""

from __future__ import annotations

import csv
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eval_harness.data.synth.text import TEXT_FIELDS, make_texts
from eval_harness.labels.classes import CLASSES
from tests.conftest import unavailable

REPO = Path(__file__).resolve().parents[1]
MAP_CSV = REPO / "eval_harness" / "labels" / "data" / "code-v1.csv"
SHARED = Path(__file__).resolve().parents[2] / "shared"
SOURCE_CSV = SHARED / "data" / "peer-runs" / "pocket-dentist-code" / "anomaly_to_class.csv"
FDI = {q * 10 + p for q in range(1, 5) for p in range(1, 9)}


def _map_rows() -> list[dict[str, str]]:
    with MAP_CSV.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


ROWS = _map_rows()
CLASS_OF = {r["anomaly_en"]: r["class"] for r in ROWS}
NAMES = sorted(CLASS_OF)

# Our own cue vocabulary, written independently of the generator's templates: a sentence
# carrying a negation or uncertainty cue "mentions" every class whose terms it contains.
NEG_EN = re.compile(r"\b(no|not|without|negative|normal|complete|denies)\b", re.I)
UNC_EN = re.compile(r"\b(possible|possibly|suspected|cannot rule out|to be "
                    r"(?:observed|excluded|reassessed|confirmed))\b", re.I)
NEG_CN = re.compile(r"未见|无|正常|完整|（-）|否认")
UNC_CN = re.compile(r"不排除|可疑|疑似|待排|待复查|待影像")
PSEUDO = re.compile(r"with no obvious cause|无明显诱因", re.I)  # negates nothing clinical
TERMS_EN = {
    "Dental Caries": r"caries|carious",
    "Gingivitis": r"gingiv|bleeding on probing|calculus|alveolar bone",
    "Class III Malocclusion": r"malocclusion|crowding|crossbite|\bocclusion\b",
    "Pulpitis": r"pulp|periapical|percussion|spontaneous pain|cold test",
    "Tooth Loss": r"missing|edentul|dentition",
    "Tooth Structure Loss": r"\bwear\b|wedge|structure loss",
}
TERMS_CN = {
    "Dental Caries": r"龋",
    "Gingivitis": r"牙龈|结石|出血|牙槽骨",
    "Class III Malocclusion": r"错颌|拥挤|反颌|咬合关系",
    "Pulpitis": r"牙髓|根尖|叩|自发痛|冷测",
    "Tooth Loss": r"缺失|牙列完整",
    "Tooth Structure Loss": r"磨耗|楔状缺损|牙体缺损",
}


def _sentences(text: str, chinese: bool) -> list[str]:
    parts = re.split(r"[。；]", text) if chinese else re.split(r"(?<=[.;])\s+", text)
    return [PSEUDO.sub("", p) for p in parts if p.strip()]


def _mentions(texts: dict[str, str], cue_en: re.Pattern[str], cue_cn: re.Pattern[str]
              ) -> set[str]:
    """Classes named in a sentence that carries one of the cues, over all fields."""
    found: set[str] = set()
    for field in TEXT_FIELDS:
        for chinese, cue, terms in ((False, cue_en, TERMS_EN), (True, cue_cn, TERMS_CN)):
            text = texts[f"{field}_cn" if chinese else field]
            for sentence in _sentences(text, chinese):
                if cue.search(sentence):
                    found.update(c for c, pat in terms.items()
                                 if re.search(pat, sentence, re.I))
    return found


def _case(seed: int) -> tuple[list[str], bool, dict[str, str]]:
    """A random checkup: 1-2 anomalies, radiograph or not, and its texts."""
    pick = random.Random(seed)
    anomalies = pick.sample(NAMES, pick.choice((1, 1, 2)))
    has_radiograph = pick.random() < 0.5
    return anomalies, has_radiograph, make_texts(random.Random(seed), anomalies, has_radiograph)


def test_every_field_present_in_both_languages() -> None:
    expected = set(TEXT_FIELDS) | {f"{f}_cn" for f in TEXT_FIELDS}
    for seed in range(100):
        _, _, texts = _case(seed)
        assert set(texts) == expected
        assert all(isinstance(v, str) for v in texts.values())
        for field in ("patient_record", "chief_complaint", "present_illness",
                      "past_medical_record", "examination", "diagnosis", "management",
                      "medical_instructions"):
            assert texts[field] and texts[f"{field}_cn"], (seed, field)
        assert all("{" not in v and "}" not in v for v in texts.values()), texts


def test_same_seed_same_texts_and_seeds_differ() -> None:
    a = make_texts(random.Random(7), ["Dental Caries", "Gingivitis"], True)
    b = make_texts(random.Random(7), ["Dental Caries", "Gingivitis"], True)
    assert a == b
    outputs = {json.dumps(make_texts(random.Random(s), ["Pulpitis"], True)) for s in range(20)}
    assert len(outputs) > 10


def test_output_does_not_depend_on_hash_seed() -> None:
    code = ("import json, random; from eval_harness.data.synth.text import make_texts; "
            "print(json.dumps([make_texts(random.Random(s), a, s % 2 == 0) for s, a in "
            "enumerate([['Dental Caries'], ['Calculus', 'Tooth Wear'], ['Crossbite']] * 5)]))")
    outs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True, cwd=REPO)
        outs.append(run.stdout)
    assert outs[0] == outs[1]


def test_radiograph_text_empty_iff_no_radiograph() -> None:
    for seed in range(200):
        _, has_radiograph, texts = _case(seed)
        for key in ("radiographs_examination", "radiographs_examination_cn"):
            assert bool(texts[key]) == has_radiograph, (seed, key, texts[key])


def test_pulpitis_radiograph_shows_periapical_change() -> None:
    for seed in range(20):
        texts = make_texts(random.Random(seed), ["Pulpitis"], True)
        assert re.search(r"periapical|apex", texts["radiographs_examination"], re.I)
        assert "根尖" in texts["radiographs_examination_cn"]


def test_diagnosis_and_examination_affirm_each_anomaly() -> None:
    cn_of = {r["anomaly_en"]: r["anomaly_cn"] for r in ROWS}
    for seed in range(300):
        anomalies, _, texts = _case(seed)
        for name in anomalies:
            for field in ("diagnosis", "examination"):
                assert name.lower() in texts[field].lower(), (seed, name, texts[field])
                assert cn_of[name] in texts[f"{field}_cn"], (seed, name, texts[f"{field}_cn"])


def test_teeth_are_fdi_numbers() -> None:
    for seed in range(200):
        _, _, texts = _case(seed)
        for field in ("examination", "diagnosis", "management", "radiographs_examination"):
            numbers = re.findall(r"(?<![\d.])(\d{2})(?=[、牙])", texts[f"{field}_cn"])
            numbers += re.findall(r"\b(?:tooth|teeth|on|of)\s+(\d{2})\b", texts[field])
            assert all(int(n) in FDI for n in numbers), (seed, field, numbers)


def test_hedged_mentions_never_name_a_present_class() -> None:
    for seed in range(600):
        anomalies, _, texts = _case(seed)
        present = {CLASS_OF[a] for a in anomalies}
        hedged = _mentions(texts, NEG_EN, NEG_CN) | _mentions(texts, UNC_EN, UNC_CN)
        assert not hedged & present, (seed, anomalies, sorted(hedged & present), texts)


def test_negations_and_uncertainty_occur_at_a_realistic_rate() -> None:
    negated = uncertain = either = pseudo = 0
    for seed in range(200):
        _, _, texts = _case(seed)
        neg = _mentions(texts, NEG_EN, NEG_CN)
        unc = _mentions(texts, UNC_EN, UNC_CN)
        negated += bool(neg)
        uncertain += bool(unc)
        either += bool(neg or unc)
        pseudo += bool(PSEUDO.search(texts["present_illness"]))
    assert negated > 10 and uncertain > 10 and pseudo > 5
    assert 0.25 <= either / 200 <= 0.6, either


def test_remarks_empty_about_half_the_time() -> None:
    empty = sum(not _case(seed)[2]["remarks"] for seed in range(400))
    assert 0.35 <= empty / 400 <= 0.65


def test_unknown_anomaly_is_rejected() -> None:
    with pytest.raises(ValueError, match="Toothache"):
        make_texts(random.Random(0), ["Toothache"], False)
    with pytest.raises(ValueError):
        make_texts(random.Random(0), [], False)


def test_map_file_shape() -> None:
    with MAP_CSV.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["anomaly_en", "anomaly_cn", "class", "rationale"]
    assert len(ROWS) == 117 and len(CLASS_OF) == 117
    assert len({r["anomaly_cn"] for r in ROWS}) == 117
    for r in ROWS:
        assert r["class"] in CLASSES, r
        assert re.search(r"[\u4e00-\u9fff]", r["anomaly_cn"]), r
        assert r["rationale"].strip() and len(r["rationale"]) <= 140, r
        assert "\n" not in r["rationale"], r


def test_map_matches_published_source() -> None:
    if not SOURCE_CSV.is_file():
        unavailable(f"published anomaly table not found at {SOURCE_CSV} (needs ../shared)",
                    "CODEBENCH_REQUIRE_SHARED")
    with SOURCE_CSV.open(encoding="utf-8", newline="") as f:
        source = {r["anomaly_en"]: r["class"] for r in csv.DictReader(f)}
    assert len(source) == 117
    assert source == CLASS_OF
