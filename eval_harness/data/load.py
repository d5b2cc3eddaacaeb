"""One entry point that reads checkups from any supported on-disk form."""

from __future__ import annotations

from pathlib import Path

from eval_harness.data.checkup import Checkup
from eval_harness.data.code_csv import CSV_NAME, SYNTHETIC_MARKER, load_code_folder
from eval_harness.errors import DataError
from eval_harness.labels.anomaly_map import AnomalyMap


def detect_format(path: Path) -> str:
    if path.is_dir() and (path / CSV_NAME).is_file():
        return "code"
    if path.suffix == ".jsonl" and path.is_file():
        return "jsonl"
    if path.suffix == ".parquet" or (path / "dataset_info.json").is_file():
        return "hf"
    if path.is_dir():
        raise DataError.single(str(path), f"no {CSV_NAME} and not a datasets folder",
                               fix="pass the unzipped COde folder, a .jsonl or a datasets copy")
    raise DataError.single(str(path), "no such dataset", fix="check the path")


def load_checkups(path: Path | str, *, language: str = "en", split: str | None = None,
                  anomaly_map: AnomalyMap | None = None) -> list[Checkup]:
    """Checkups from a COde folder, a ShareGPT JSONL or a datasets copy, optionally one split."""
    path = Path(path)
    form = detect_format(path)
    if form == "code":
        checkups = load_code_folder(path, language=language, anomaly_map=anomaly_map)
    elif form == "jsonl":
        from eval_harness.data.sharegpt import load_jsonl
        checkups = load_jsonl(path, anomaly_map=anomaly_map)
    else:
        from eval_harness.data.hf import load_hf
        checkups = load_hf(path, anomaly_map=anomaly_map)
    if form != "code" and any(c.language != language for c in checkups):
        raise DataError.single(str(path), f"this copy holds {checkups[0].language} texts, "
                               f"not {language}", fix="export it again with --language")
    return [c for c in checkups if split is None or c.split == split]


def dataset_name(path: Path | str) -> str:
    """"COde-synthetic" for a folder our generator wrote, else "COde"."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    return "COde-synthetic" if (folder / SYNTHETIC_MARKER).is_file() else "COde"
