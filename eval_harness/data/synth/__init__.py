"""A synthetic dataset written in the exact COde release layout.

The real COde images cannot reach our machines; this generator writes a folder that
the very same loaders read (``complete_dataset.csv`` with every column, JPEG
photographs and radiographs under ``Images/``), with a visible, learnable cue per
class so a tiny model can learn something. Deterministic per seed.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval_harness.data.code_csv import (
    ALL_COLUMNS,
    CSV_NAME,
    PHOTO_DIR,
    RADIO_DIR,
    SYNTHETIC_MARKER,
)
from eval_harness.data.synth.images import draw_photograph, draw_radiograph
from eval_harness.data.synth.text import make_texts
from eval_harness.labels.anomaly_map import AnomalyMap, load_anomaly_map
from eval_harness.labels.classes import CLASSES, PRIORITY

TEST_FRACTION = 0.2
SECOND_ANOMALY_RATE = 0.3
RADIOGRAPH_RATE = 0.5
JPEG_QUALITY = 85


@dataclass(frozen=True)
class PlannedCheckup:
    index: int
    checkup_id: str
    patient_id: str
    split: str
    anomalies: tuple[str, ...]
    seed: int


def _anomalies_by_class(amap: AnomalyMap) -> dict[str, list[str]]:
    by_class: dict[str, list[str]] = {c: [] for c in CLASSES}
    for key, cls in sorted(amap.to_class.items()):
        by_class[cls].append(amap.names_en[key])
    return by_class


def _pick_anomalies(rng: random.Random, primary: str,
                    by_class: dict[str, list[str]]) -> tuple[str, ...]:
    # The class's own name is the commonest fine-grained label in COde; favour it.
    first = primary if rng.random() < 0.6 else rng.choice(by_class[primary])
    lower = PRIORITY[PRIORITY.index(primary) + 1:]
    if lower and rng.random() < SECOND_ANOMALY_RATE:
        # A second anomaly of a lower-priority class keeps the primary label intact.
        return (first, rng.choice(by_class[rng.choice(lower)]))
    return (first,)


def plan(n_checkups: int, seed: int, amap: AnomalyMap) -> list[PlannedCheckup]:
    """Decide ids, patients, splits and anomalies; the test part is class-balanced."""
    if n_checkups < 12:
        raise ValueError("need at least 12 checkups (a test part with every class twice)")
    rng = random.Random(seed)
    by_class = _anomalies_by_class(amap)
    per_class = max(2, round(n_checkups * TEST_FRACTION / len(CLASSES)))
    test_classes = [c for c in CLASSES for _ in range(per_class)]
    rng.shuffle(test_classes)
    train_classes = [rng.choice(CLASSES) for _ in range(n_checkups - len(test_classes))]
    planned: list[PlannedCheckup] = []
    patient = 0
    # Whole patients go to one split, 1-3 checkups each, as in a real clinic.
    for split, classes in (("test", test_classes), ("train", train_classes)):
        queue = list(classes)
        while queue:
            patient += 1
            visits = min(len(queue), rng.choice((1, 1, 2, 3)))
            for visit in range(1, visits + 1):
                primary = queue.pop()
                index = len(planned)
                planned.append(PlannedCheckup(
                    index=index, checkup_id=f"{patient:04d}-{visit:03d}",
                    patient_id=f"{patient:04d}", split=split,
                    anomalies=_pick_anomalies(rng, primary, by_class),
                    seed=rng.getrandbits(63)))
    return planned


def _write_jpeg(image, path: Path) -> None:
    image.save(path, format="JPEG", quality=JPEG_QUALITY, optimize=False)


def render(item: PlannedCheckup, out: Path, amap: AnomalyMap) -> dict[str, str]:
    """Draw the images and texts of one checkup; return its CSV row."""
    rng = random.Random(item.seed)
    image_rng = np.random.default_rng(item.seed)
    classes = frozenset(amap.classes_of(item.anomalies))
    photos = [f"{item.checkup_id}-{n:02d}.jpg" for n in range(1, rng.randint(1, 6) + 1)]
    radios = ([f"{item.checkup_id}-{n:02d}.jpg" for n in range(1, rng.randint(1, 2) + 1)]
              if rng.random() < RADIOGRAPH_RATE else [])
    for name in photos:
        _write_jpeg(draw_photograph(image_rng, classes), out / PHOTO_DIR / name)
    for name in radios:
        _write_jpeg(draw_radiograph(image_rng, classes), out / RADIO_DIR / name)
    texts = make_texts(rng, list(item.anomalies), bool(radios))
    names_cn = {en: cn for cn, en in amap.names_cn.items()}
    year, month, day = rng.randint(2019, 2024), rng.randint(1, 12), rng.randint(1, 28)
    return {
        "id": str(item.index), "checkup_id": item.checkup_id, "patient_id": item.patient_id,
        "gender": rng.choice(("Male", "Female", "")),
        "age": "" if rng.random() < 0.3 else str(rng.randint(6, 80)),
        "checkup_time": f"{day:02d}/{month:02d}/{year} {rng.randint(8, 17):02d}:"
                        f"{rng.choice((0, 15, 30, 45)):02d}",
        "photographs": ",".join(photos), "radiographs": ",".join(radios),
        **texts,
        "anomalies_en": ",".join(item.anomalies),
        "anomalies_cn": ",".join(names_cn.get(a, a) for a in item.anomalies),
        "split": item.split,
    }


def generate(out: Path | str, n_checkups: int, seed: int,
             amap: AnomalyMap | None = None) -> Path:
    """Write a complete COde-layout folder at ``out`` and return its CSV path."""
    out = Path(out)
    amap = amap or load_anomaly_map()
    (out / PHOTO_DIR).mkdir(parents=True, exist_ok=True)
    (out / RADIO_DIR).mkdir(parents=True, exist_ok=True)
    rows = [render(item, out, amap) for item in plan(n_checkups, seed, amap)]
    # A marker file, so every result and page can say it shows synthetic data.
    (out / SYNTHETIC_MARKER).write_text(
        f"Synthetic COde-format data: eval_harness data synth --checkups {n_checkups} "
        f"--seed {seed} (label map {amap.id}). Not the real COde release.\n", encoding="utf-8")
    return write_csv(out / CSV_NAME, rows, ALL_COLUMNS)


def write_csv(path: Path, rows: Sequence[dict[str, str]], columns: Sequence[str]) -> Path:
    # Written to a temporary name first so a crash never leaves a half CSV behind.
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    return path
