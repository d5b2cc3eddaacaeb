"""The three on-disk forms read into identical checkups; the validation carve is sound."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from eval_harness.data.checkup import TEXT_FIELDS
from eval_harness.data.code_csv import load_code_folder
from eval_harness.data.hf import export_hf, load_hf
from eval_harness.data.load import load_checkups
from eval_harness.data.sharegpt import export_jsonl, load_jsonl
from eval_harness.data.split import carve_validation
from eval_harness.data.summary import fingerprint
from eval_harness.labels.anomaly_map import load_anomaly_map
from eval_harness.labels.classes import CLASSES


def _image_bytes(checkups) -> list[bytes]:
    return [p.read_bytes() for c in checkups for p in c.photograph_paths + c.radiograph_paths]


def test_code_folder_reads_every_field(synth_dir: Path) -> None:
    checkups = load_code_folder(synth_dir)
    assert len(checkups) == 48
    test = [c for c in checkups if c.split == "test"]
    # The synthetic test part is balanced over the six classes.
    assert Counter(c.primary for c in test) == {name: len(test) // 6 for name in CLASSES}
    for c in checkups:
        assert set(c.texts) == set(TEXT_FIELDS)
        assert c.primary in CLASSES and c.primary in c.classes
        assert all(p.is_file() for p in c.photograph_paths + c.radiograph_paths)
        assert c.label_map == load_anomaly_map().id
        assert c.reference_report.startswith("Patient Record: ")


def test_chinese_texts_selectable(synth_dir: Path) -> None:
    english = load_code_folder(synth_dir)
    chinese = load_code_folder(synth_dir, language="cn")
    assert [c.checkup_id for c in english] == [c.checkup_id for c in chinese]
    assert [c.primary for c in english] == [c.primary for c in chinese]
    assert english[0].texts["diagnosis"] != chinese[0].texts["diagnosis"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese[0].texts["diagnosis"])
    assert chinese[0].reference_report.startswith("病历记录：")


def test_jsonl_round_trip(synth_dir: Path, tmp_path: Path) -> None:
    original = load_code_folder(synth_dir)
    path = export_jsonl(original, tmp_path / "out" / "code.jsonl")
    loaded = load_jsonl(path)
    assert loaded == original
    assert _image_bytes(loaded) == _image_bytes(original)
    assert load_checkups(path) == original


@pytest.mark.parametrize("target", ["copy.parquet", "copy_dir"])
def test_hf_datasets_round_trip(synth_dir: Path, tmp_path: Path, target: str) -> None:
    original = load_code_folder(synth_dir)
    out = export_hf(original, tmp_path / target)
    loaded = load_hf(out, image_dir=tmp_path / "images")
    assert loaded == original
    assert _image_bytes(loaded) == _image_bytes(original)
    assert fingerprint(loaded) == fingerprint(original)


def test_load_checkups_filters_split(synth_dir: Path) -> None:
    test = load_checkups(synth_dir, split="test")
    assert test and {c.split for c in test} == {"test"}


def test_validation_split_is_grouped_stratified_and_seeded(synth_dir: Path) -> None:
    checkups = load_code_folder(synth_dir)
    carved = carve_validation(checkups, fraction=0.2, seed=1)
    assert carve_validation(checkups, fraction=0.2, seed=1) == carved
    val = [c for c in carved if c.split == "validation"]
    train = [c for c in carved if c.split == "train"]
    assert val and train
    assert not {c.patient_id for c in val} & {c.patient_id for c in train}
    # Test checkups are never moved.
    assert [c for c in carved if c.split == "test"] == [c for c in checkups if c.split == "test"]
    assert carve_validation(checkups, fraction=0.2, seed=2) != carved
