"""ShareGPT / LLaMA-Factory style JSONL: ``messages`` with ``<image>`` entries + ``images``.

Each line is a training-ready conversation (user: images and patient facts; assistant:
the reference report) that LLaMA-Factory reads as is, plus a ``code`` object holding
the rest of the checkup so that reading the file back is lossless.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from eval_harness.data.checkup import Checkup
from eval_harness.data.record import checkup_from_dict, checkup_to_dict
from eval_harness.errors import DataError
from eval_harness.jsonl import read_json_lines
from eval_harness.labels.anomaly_map import AnomalyMap, load_anomaly_map

_INSTRUCTION = {
    "en": "Write the complete diagnostic report for this dental checkup.",
    "cn": "请为本次口腔检查撰写完整的诊断报告。",
}


def _user_turn(checkup: Checkup) -> str:
    n_images = len(checkup.photographs) + len(checkup.radiographs)
    facts = f"Chief complaint: {checkup.texts['chief_complaint']}"
    return "<image>" * n_images + "\n" + facts + "\n" + _INSTRUCTION[checkup.language]


def export_jsonl(checkups: Iterable[Checkup], path: Path | str) -> Path:
    """Write one conversation per checkup; image paths relative to the file's folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for c in checkups:
            images = [os.path.relpath(p, path.parent)
                      for p in c.photograph_paths + c.radiograph_paths]
            line = {
                "id": c.checkup_id,
                "messages": [{"role": "user", "content": _user_turn(c)},
                             {"role": "assistant", "content": c.reference_report}],
                "images": images,
                "code": checkup_to_dict(c),
            }
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def load_jsonl(path: Path | str, *, anomaly_map: AnomalyMap | None = None) -> list[Checkup]:
    """Read a file written by :func:`export_jsonl` back into checkups."""
    path = Path(path)
    amap = anomaly_map or load_anomaly_map()
    checkups = []
    for number, line in read_json_lines(path):
        if "code" not in line or "messages" not in line:
            raise DataError.single(str(path), "line lacks 'messages' or 'code'", line=number,
                                   fix="write the file with `data export --format jsonl`")
        meta = line["code"]
        if not isinstance(meta, dict):
            raise DataError.single(str(path), f"'code' must be an object, not "
                                   f"{type(meta).__name__}", line=number,
                                   fix="write the file with `data export --format jsonl`")
        if not isinstance(line.get("images", []), list):
            raise DataError.single(str(path), "'images' must be a list of paths", line=number,
                                   checkup_id=meta.get("checkup_id"))
        checkups.append(checkup_from_dict(meta, anomaly_map=amap, source=str(path),
                                          line=number, image_root=_image_root(
                                              path, line.get("images", []), meta, number)))
    return checkups


def _image_root(path: Path, images: list[str], meta: dict, line: int) -> Path | None:
    """The folder holding Photographs/ and Radiographs/, checked against the names."""
    if not images:
        return None
    resolved = [(path.parent / p).resolve() for p in images]
    root = resolved[0].parent.parent
    expected = ([root / "Photographs" / n for n in meta.get("photographs", [])]
                + [root / "Radiographs" / n for n in meta.get("radiographs", [])])
    if resolved != expected:
        raise DataError.single(str(path), "images do not follow <root>/Photographs|Radiographs/"
                               "<name> in the order photographs then radiographs", line=line,
                               checkup_id=meta.get("checkup_id"))
    return root
