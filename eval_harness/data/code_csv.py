"""Loader for the real COde release folder (``complete_dataset.csv`` + ``Images/``)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from eval_harness.data.checkup import LANGUAGES, TEXT_FIELDS, Checkup
from eval_harness.errors import DataError, Problem
from eval_harness.labels.anomaly_map import AnomalyMap, load_anomaly_map, split_anomalies

CSV_NAME = "complete_dataset.csv"
SYNTHETIC_MARKER = "SYNTHETIC.txt"  # written by `data synth` beside the CSV
PHOTO_DIR = Path("Images") / "Photographs"
RADIO_DIR = Path("Images") / "Radiographs"
CSV_SPLITS = ("train", "test")  # what the release uses; "validation" is carved by us

BASE_COLUMNS: tuple[str, ...] = (
    "id", "checkup_id", "patient_id", "gender", "age", "checkup_time",
    "photographs", "radiographs", *TEXT_FIELDS, "anomalies_en",
)
CN_COLUMNS: tuple[str, ...] = tuple(f"{f}_cn" for f in TEXT_FIELDS)
ALL_COLUMNS: tuple[str, ...] = (*BASE_COLUMNS, *CN_COLUMNS, "anomalies_cn", "split")

_CHECKUP_ID = re.compile(r"^\d{4}-\d{3}$")


@dataclass(frozen=True)
class CsvRow:
    """A raw CSV row with the physical line it starts on (1-based, header = 1)."""

    line: int
    values: dict[str, str]


def read_csv_rows(csv_path: Path,
                  problems: list[Problem] | None = None) -> tuple[list[str], list[CsvRow]]:
    """Read the CSV as UTF-8, keeping each row's starting line number.

    Strict by default: the first non-UTF-8 byte raises. With a ``problems`` list (the
    validator), every line holding bad bytes is recorded and reading goes on.
    """
    raw = csv_path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if problems is None:
            line = raw.count(b"\n", 0, err.start) + 1
            raise DataError.single(str(csv_path), f"not UTF-8 text (byte {err.start}: "
                                   f"{err.reason})", line=line,
                                   fix="re-save the CSV as UTF-8") from None
        for number, raw_line in enumerate(raw.split(b"\n"), start=1):
            try:
                raw_line.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(str(csv_path), "not UTF-8 text", line=number,
                                        fix="re-save the CSV as UTF-8"))
        text = raw.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    rows: list[CsvRow] = []
    line = 2
    try:
        header = list(reader.fieldnames or [])  # the header, too, can be malformed
        for values in reader:
            rows.append(CsvRow(line, values))
            line = reader.line_num + 1
    except csv.Error as err:
        raise DataError.single(str(csv_path), f"malformed CSV ({err})", line=reader.line_num,
                               fix="check quoting on that line") from None
    return header, rows


def required_columns(language: str) -> tuple[str, ...]:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    return (*BASE_COLUMNS, "split") if language == "en" else (*BASE_COLUMNS, *CN_COLUMNS, "split")


def _file_list(field: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in field.split(",") if n.strip())


def parse_row(row: CsvRow, *, csv_file: str, language: str, anomaly_map: AnomalyMap,
              image_root: Path, check_files: bool = True) -> tuple[Checkup | None, list[Problem]]:
    """Turn one CSV row into a Checkup, collecting every problem found on the way."""
    v = row.values
    cid = (v.get("checkup_id") or "").strip()
    problems: list[Problem] = []

    def bad(message: str, fix: str | None = None) -> None:
        problems.append(Problem(csv_file, message, line=row.line, checkup_id=cid or None, fix=fix))

    if None in v or any(val is None for val in v.values()):
        bad("wrong number of fields on this row", "check quoting and commas")
        return None, problems
    if not _CHECKUP_ID.match(cid):
        bad(f"checkup_id {cid!r} is not of the form PPPP-CCC", "use e.g. 0001-001")
    split = v["split"].strip()
    if split not in CSV_SPLITS:
        bad(f"unknown split {split!r}", f"use one of: {', '.join(CSV_SPLITS)}")
    age: int | None = None
    if v["age"].strip():
        try:
            age = int(float(v["age"]))
        except (ValueError, OverflowError):  # not a number; inf
            bad(f"age {v['age']!r} is not a number", "leave blank when unknown")
    try:
        row_id = int(v["id"])
    except ValueError:
        bad(f"id {v['id']!r} is not an integer")
        row_id = -1
    photos, radios = _file_list(v["photographs"]), _file_list(v["radiographs"])
    if not photos:
        bad("no photographs listed", "every COde checkup has 1-26 intraoral photographs")
    if check_files:
        for sub, names in ((PHOTO_DIR, photos), (RADIO_DIR, radios)):
            for name in names:
                if not (image_root / sub / name).is_file():
                    bad(f"listed image {sub / name} is missing",
                        "restore the file or remove it from the row")
    anomalies = tuple(split_anomalies(v["anomalies_en"]))
    suffix = "" if language == "en" else "_cn"
    texts = {f: (v[f + suffix] or "").strip() for f in TEXT_FIELDS}
    if problems:
        return None, problems
    classes = anomaly_map.classes_of(anomalies)
    return Checkup(
        checkup_id=cid, patient_id=v["patient_id"].strip(), row_id=row_id, age=age,
        gender=v["gender"].strip() or None, visit_time=v["checkup_time"].strip() or None,
        photographs=photos, radiographs=radios, language=language, texts=texts,
        anomalies=anomalies, classes=classes, primary=anomaly_map.primary_of(anomalies),
        split=split, label_map=anomaly_map.id, image_root=image_root / "Images",
    ), problems


def iter_checkups(folder: Path, *, language: str = "en", anomaly_map: AnomalyMap | None = None,
                  check_files: bool = True) -> Iterator[tuple[Checkup | None, list[Problem]]]:
    """Yield (checkup, problems) per row; structural problems of the whole file raise."""
    folder = Path(folder)
    csv_path = folder / CSV_NAME
    if not folder.is_dir():
        raise DataError.single(str(folder), "dataset folder does not exist",
                               fix="unzip COde-Dataset.zip and pass the folder it creates")
    if not csv_path.is_file():
        raise DataError.single(str(csv_path), f"{CSV_NAME} is missing",
                               fix="pass the folder that holds complete_dataset.csv and Images/")
    amap = anomaly_map or load_anomaly_map()
    header, rows = read_csv_rows(csv_path)
    missing = [c for c in required_columns(language) if c not in header]
    if missing:
        raise DataError.single(str(csv_path), f"missing columns: {', '.join(missing)}", line=1,
                               fix="use the COde release's complete_dataset.csv header")
    for row in rows:
        yield parse_row(row, csv_file=str(csv_path), language=language, anomaly_map=amap,
                        image_root=folder, check_files=check_files)


def load_code_folder(folder: Path | str, *, language: str = "en",
                     anomaly_map: AnomalyMap | None = None, split: str | None = None,
                     require_class: bool = False) -> list[Checkup]:
    """Load every checkup of a COde folder; raise one DataError listing all problems.

    ``split`` keeps one split ("train"/"test"); ``require_class`` rejects checkups
    whose anomalies map to no class (the scored test split must have a label).
    """
    checkups: list[Checkup] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    csv_file = str(Path(folder) / CSV_NAME)
    for checkup, row_problems in iter_checkups(Path(folder), language=language,
                                               anomaly_map=anomaly_map):
        problems.extend(row_problems)
        if checkup is None:
            continue
        if checkup.checkup_id in seen:
            problems.append(Problem(csv_file, "duplicate checkup_id (first at row id "
                                    f"{seen[checkup.checkup_id]})",
                                    checkup_id=checkup.checkup_id, fix="ids must be unique"))
            continue
        seen[checkup.checkup_id] = checkup.row_id
        if require_class and checkup.primary is None:
            problems.append(Problem(csv_file, "no anomaly maps to a benchmark class",
                                    checkup_id=checkup.checkup_id,
                                    fix="add the anomaly to the label map or drop the row"))
        if split is None or checkup.split == split:
            checkups.append(checkup)
    if problems:
        raise DataError(problems)
    return checkups
