"""Checkup <-> plain dict, shared by the JSONL and Hugging Face forms.

Labels are not stored: they are recomputed from the anomalies with the label map in
use, so a file written under one map version is read under the current one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval_harness.data.checkup import TEXT_FIELDS, Checkup
from eval_harness.errors import DataError
from eval_harness.labels.anomaly_map import AnomalyMap

META_KEYS = ("checkup_id", "patient_id", "row_id", "age", "gender", "visit_time",
             "photographs", "radiographs", "language", "texts", "anomalies", "split")


def checkup_to_dict(checkup: Checkup) -> dict[str, Any]:
    return {
        "checkup_id": checkup.checkup_id, "patient_id": checkup.patient_id,
        "row_id": checkup.row_id, "age": checkup.age, "gender": checkup.gender,
        "visit_time": checkup.visit_time, "photographs": list(checkup.photographs),
        "radiographs": list(checkup.radiographs), "language": checkup.language,
        "texts": {f: checkup.texts[f] for f in TEXT_FIELDS},
        "anomalies": list(checkup.anomalies), "split": checkup.split,
    }


def checkup_from_dict(meta: dict[str, Any], *, anomaly_map: AnomalyMap, image_root: Path | None,
                      source: str, line: int | None = None) -> Checkup:
    missing = [k for k in META_KEYS if k not in meta]
    texts = meta.get("texts") or {}
    missing += [f"texts.{f}" for f in TEXT_FIELDS if f not in texts]
    if missing:
        raise DataError.single(source, f"record lacks {', '.join(missing)}", line=line,
                               checkup_id=meta.get("checkup_id"),
                               fix="write the file with `python -m eval_harness data export`")
    where = {"line": line, "checkup_id": meta.get("checkup_id")}
    wrong = [k for k, kind in (("texts", dict), ("photographs", list), ("radiographs", list),
                               ("anomalies", list), ("checkup_id", str), ("split", str))
             if not isinstance(meta[k], kind)]
    wrong += [f"texts.{f}" for f in TEXT_FIELDS if not isinstance(texts.get(f), str)]
    if wrong:
        raise DataError.single(source, f"wrong type for {', '.join(wrong)}", **where,
                               fix="write the file with `python -m eval_harness data export`")
    try:
        row_id = int(meta["row_id"])
    except (TypeError, ValueError):
        raise DataError.single(source, f"row_id {meta['row_id']!r} is not an integer",
                               **where) from None
    anomalies = tuple(meta["anomalies"])
    return Checkup(
        checkup_id=meta["checkup_id"], patient_id=meta["patient_id"], row_id=row_id,
        age=meta["age"], gender=meta["gender"], visit_time=meta["visit_time"],
        photographs=tuple(meta["photographs"]), radiographs=tuple(meta["radiographs"]),
        language=meta["language"], texts={f: texts[f] for f in TEXT_FIELDS},
        anomalies=anomalies, classes=anomaly_map.classes_of(anomalies),
        primary=anomaly_map.primary_of(anomalies), split=meta["split"],
        label_map=anomaly_map.id, image_root=image_root,
    )
