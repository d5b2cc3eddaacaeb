"""A Hugging Face ``datasets`` copy with the images embedded (Image feature).

``export_hf`` writes either a ``save_to_disk`` folder or a single parquet file; both
carry the image bytes, so the copy is self-contained. ``load_hf`` reads it back and
writes the images out (once) into a COde-style ``Photographs/``/``Radiographs/``
folder so the checkups it returns equal those of the original folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from eval_harness.data.checkup import Checkup
from eval_harness.data.record import checkup_from_dict, checkup_to_dict
from eval_harness.errors import DataError
from eval_harness.labels.anomaly_map import AnomalyMap, load_anomaly_map


def _features():
    from datasets import Features, Image, List, Value

    return Features({
        "checkup_id": Value("string"),
        "split": Value("string"),
        "photographs": List(Image()),
        "radiographs": List(Image()),
        # The rest of the record as JSON: nested optional fields round-trip exactly.
        "record": Value("string"),
    })


def to_hf_dataset(checkups: Sequence[Checkup]):
    from datasets import Dataset

    def images(paths: list[Path]) -> list[dict]:
        return [{"bytes": p.read_bytes(), "path": p.name} for p in paths]

    columns: dict[str, list] = {k: [] for k in ("checkup_id", "split", "photographs",
                                                "radiographs", "record")}
    for c in checkups:
        columns["checkup_id"].append(c.checkup_id)
        columns["split"].append(c.split)
        columns["photographs"].append(images(c.photograph_paths))
        columns["radiographs"].append(images(c.radiograph_paths))
        columns["record"].append(json.dumps(checkup_to_dict(c), ensure_ascii=False))
    return Dataset.from_dict(columns, features=_features())


def export_hf(checkups: Sequence[Checkup], out: Path | str) -> Path:
    """``out`` ending in .parquet → one parquet file; otherwise a save_to_disk folder."""
    out = Path(out)
    dataset = to_hf_dataset(checkups)
    if out.suffix == ".parquet":
        out.parent.mkdir(parents=True, exist_ok=True)
        dataset.to_parquet(str(out))
    else:
        dataset.save_to_disk(str(out))
    return out


def load_hf(source: Path | str, *, image_dir: Path | str | None = None,
            anomaly_map: AnomalyMap | None = None) -> list[Checkup]:
    """Read an exported copy; images are written under ``image_dir`` (default beside it)."""
    from datasets import Dataset, load_from_disk

    source = Path(source)
    if not source.exists():
        raise DataError.single(str(source), "dataset path does not exist")
    try:
        dataset = (Dataset.from_parquet(str(source)) if source.suffix == ".parquet"
                   else load_from_disk(str(source)))
    except (FileNotFoundError, ValueError) as err:
        raise DataError.single(str(source), f"not a datasets copy ({err})",
                               fix="write it with `data export --format hf`") from None
    missing = set(_features()) - set(dataset.column_names)
    if missing:
        raise DataError.single(str(source), f"missing columns: {', '.join(sorted(missing))}")
    dataset = dataset.cast(_features())
    from datasets import Image, List

    for column in ("photographs", "radiographs"):  # raw bytes, not decoded PIL images
        dataset = dataset.cast_column(column, List(Image(decode=False)))
    root = Path(image_dir) if image_dir else source.with_name(source.stem + "-images")
    amap = anomaly_map or load_anomaly_map()
    checkups = []
    for index, row in enumerate(dataset):
        meta = json.loads(row["record"])
        for kind, column in (("Photographs", "photographs"), ("Radiographs", "radiographs")):
            if [im["path"] for im in row[column]] != meta[column]:
                raise DataError.single(str(source), f"{column} names disagree with the record",
                                       line=index + 1, checkup_id=meta.get("checkup_id"))
            _materialize(root / kind, row[column])
        checkups.append(checkup_from_dict(meta, anomaly_map=amap, image_root=root,
                                          source=str(source), line=index + 1))
    return checkups


def _materialize(folder: Path, images: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for image in images:
        target = folder / image["path"]
        if not target.is_file() or target.read_bytes() != image["bytes"]:
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_bytes(image["bytes"])
            tmp.replace(target)
