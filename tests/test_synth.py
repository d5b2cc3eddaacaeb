"""The synthetic generator: deterministic bytes per seed, complete COde columns."""

from __future__ import annotations

import hashlib
from pathlib import Path

from eval_harness.data.code_csv import ALL_COLUMNS, CSV_NAME, read_csv_rows
from eval_harness.data.synth import generate


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    generate(tmp_path / "a", 14, seed=11)
    generate(tmp_path / "b", 14, seed=11)
    generate(tmp_path / "c", 14, seed=12)
    assert _tree_digest(tmp_path / "a") == _tree_digest(tmp_path / "b")
    assert _tree_digest(tmp_path / "a") != _tree_digest(tmp_path / "c")


def test_every_column_and_both_splits(synth_dir: Path) -> None:
    header, rows = read_csv_rows(synth_dir / CSV_NAME)
    assert header == list(ALL_COLUMNS)
    assert {r.values["split"] for r in rows} == {"train", "test"}
    with_radiograph = sum(bool(r.values["radiographs"]) for r in rows)
    assert 0.2 < with_radiograph / len(rows) < 0.8
    assert any("," in r.values["anomalies_en"] for r in rows)  # some carry a second anomaly
    assert all(not r.values["radiographs_examination"] for r in rows
               if not r.values["radiographs"])
