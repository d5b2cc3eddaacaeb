"""Every bad case of `data validate` gives its own clear message, with the checkup id."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from eval_harness.cli import main
from eval_harness.data.code_csv import CSV_NAME, load_code_folder
from eval_harness.data.validate import validate_folder
from eval_harness.errors import DataError


def _rows(folder: Path) -> tuple[list[str], list[dict[str, str]]]:
    with (folder / CSV_NAME).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write(folder: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with (folder / CSV_NAME).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def _edit_row(folder: Path, index: int, **changes: str) -> str:
    header, rows = _rows(folder)
    rows[index].update(changes)
    _write(folder, header, rows)
    return rows[index]["checkup_id"]


def _first_photo(folder: Path) -> tuple[str, Path]:
    _, rows = _rows(folder)
    name = rows[0]["photographs"].split(",")[0]
    return rows[0]["checkup_id"], folder / "Images" / "Photographs" / name


def missing_csv(folder: Path) -> tuple[str, str | None]:
    (folder / CSV_NAME).unlink()
    return "complete_dataset.csv is missing", None


def missing_column(folder: Path) -> tuple[str, str | None]:
    header, rows = _rows(folder)
    header.remove("diagnosis")
    for row in rows:
        del row["diagnosis"]
    _write(folder, header, rows)
    return "missing columns: diagnosis", None


def unknown_split(folder: Path) -> tuple[str, str | None]:
    return "unknown split 'dev'", _edit_row(folder, 1, split="dev")


def missing_image(folder: Path) -> tuple[str, str | None]:
    cid, photo = _first_photo(folder)
    photo.unlink()
    return f"listed image Images/Photographs/{photo.name} is missing", cid


def unreadable_image(folder: Path) -> tuple[str, str | None]:
    cid, photo = _first_photo(folder)
    photo.write_bytes(b"this is not a jpeg at all")
    return "unreadable image (cannot identify image file", cid


def truncated_image(folder: Path) -> tuple[str, str | None]:
    cid, photo = _first_photo(folder)
    photo.write_bytes(photo.read_bytes()[: photo.stat().st_size // 2])
    return "unreadable image (image file is truncated", cid


def decompression_bomb(folder: Path) -> tuple[str, str | None]:
    cid, photo = _first_photo(folder)
    # 9000 x 9000 one-bit pixels: a few kB on disk, 81 MP once decoded.
    Image.new("1", (9000, 9000)).save(photo, format="PNG")
    return "possible decompression bomb", cid


def duplicate_id(folder: Path) -> tuple[str, str | None]:
    header, rows = _rows(folder)
    rows[2]["checkup_id"] = rows[1]["checkup_id"]
    _write(folder, header, rows)
    return "duplicate checkup_id", rows[1]["checkup_id"]


def no_class(folder: Path) -> tuple[str, str | None]:
    return "map to none of the six classes", _edit_row(folder, 3, anomalies_en="Hiccups")


def non_utf8(folder: Path) -> tuple[str, str | None]:
    _, rows = _rows(folder)
    cid = rows[4]["checkup_id"]
    raw = (folder / CSV_NAME).read_bytes()
    marker = rows[4]["chief_complaint"].encode()
    (folder / CSV_NAME).write_bytes(raw.replace(marker, b"\xff\xfe bad bytes " + marker, 1))
    return "not UTF-8 text", cid


CASES: list[Callable[[Path], tuple[str, str | None]]] = [
    missing_csv, missing_column, unknown_split, missing_image, unreadable_image,
    truncated_image, decompression_bomb, duplicate_id, no_class, non_utf8,
]


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from eval_harness.data.synth import generate

    out = tmp_path_factory.mktemp("small") / "code"
    generate(out, 12, seed=3)
    return out


@pytest.mark.parametrize("breaker", CASES, ids=[c.__name__ for c in CASES])
def test_each_bad_case_has_its_message(breaker, small_dir: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "code"
    shutil.copytree(small_dir, folder)
    expected, checkup_id = breaker(folder)
    problems = validate_folder(folder)
    matching = [p for p in problems if expected in str(p)]
    assert matching, f"no problem mentions {expected!r}: {[str(p) for p in problems]}"
    if checkup_id is not None:
        assert any(p.checkup_id == checkup_id for p in matching), matching
    # The CLI prints the same problems, exits non-zero, and shows no traceback.
    assert main(["data", "validate", str(folder)]) == 1
    out = capsys.readouterr()
    assert expected in out.out and "Traceback" not in out.out + out.err


@pytest.mark.parametrize("breaker", [missing_csv, missing_column, unknown_split, missing_image,
                                     duplicate_id, non_utf8])
def test_loader_raises_one_clear_error(breaker, small_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "code"
    shutil.copytree(small_dir, folder)
    expected, _ = breaker(folder)
    with pytest.raises(DataError) as caught:
        load_code_folder(folder)
    assert expected in str(caught.value)
    assert str(folder) in str(caught.value)


def test_validator_keeps_going_after_a_problem(small_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "code"
    shutil.copytree(small_dir, folder)
    unknown_split(folder)
    no_class(folder)
    missing_image(folder)
    messages = "\n".join(str(p) for p in validate_folder(folder))
    for expected in ("unknown split", "map to none", "is missing"):
        assert expected in messages


def test_clean_folder_has_no_problems(small_dir: Path) -> None:
    assert validate_folder(small_dir) == []


def test_loader_reports_line_numbers(small_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "code"
    shutil.copytree(small_dir, folder)
    cid = _edit_row(folder, 1, split="dev")
    with pytest.raises(DataError) as caught:
        load_code_folder(folder)
    (problem,) = caught.value.problems
    assert problem.checkup_id == cid and problem.line is not None and problem.line >= 3
