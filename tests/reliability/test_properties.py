"""Property tests: whatever bytes or JSON arrive, the readers refuse with their own error
type (``Rejected``, ``DataError``), never another exception; the leaderboard's CSV
export reads back equal, with every text cell a spreadsheet would run neutralised."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from eval_harness.data.code_csv import ALL_COLUMNS, CSV_NAME, load_code_folder
from eval_harness.data.validate import validate_folder
from eval_harness.errors import DataError
from eval_harness.predictions import read_predictions
from leaderboard.submissions import Limits, Rejected, check_metadata, check_predictions
from leaderboard.views import to_csv

FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
BOARD_IDS = {"0001-001", "0002-001", "0003-001"}
LIMITS = Limits(max_bytes=64 * 2**10, max_line_bytes=16 * 2**10, max_lines=500)
TASKS = ("code_cls", "code_report", "code_multilabel")
FORMULA = ("=", "+", "-", "@", "\t", "\r")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=4),
    max_leaves=12)
ids = st.sampled_from(sorted(BOARD_IDS)) | st.text(max_size=12) | json_values
tasks = st.sampled_from(TASKS) | st.text(max_size=12) | json_values
prediction_objects = st.fixed_dictionaries(
    {}, optional={"id": ids, "task": tasks, "prediction": st.text(max_size=20) | json_values,
                  "failed": st.booleans() | json_values, "error": st.text(max_size=8) |
                  json_values, "scores": json_values | st.dictionaries(
                      st.sampled_from(["Pulpitis", "Dental Caries"]),
                      st.floats() | st.integers(), max_size=2),
                  "meta": json_values})
json_lines = st.lists(prediction_objects | json_values, max_size=8).map(
    lambda objs: "".join(json.dumps(o) + "\n" for o in objs).encode())


def _only_rejected(raw: bytes) -> None:
    try:
        predictions = check_predictions(raw, "p.jsonl", BOARD_IDS, LIMITS)
    except Rejected as rejected:
        assert rejected.problems and all(p.startswith("p.jsonl") for p in rejected.problems)
    else:  # accepted: it covers the board exactly
        assert {p.sample_id for p in predictions} == BOARD_IDS


def _only_data_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "predictions.jsonl"
        path.write_bytes(raw)
        try:
            read_predictions(path)
        except DataError as error:
            assert error.problems


@FAST
@given(st.binary(max_size=2048))
@example(b"[" * 5_000 + b"\n")  # json.loads: RecursionError (under the line limit)
@example(b"\xff\xfe{\x00")  # UTF-16
@example(b'{"id": "0001-001", "task": "code_cls", "prediction": "\\ud800"}\n')
def test_check_predictions_refuses_any_bytes_with_rejected(raw: bytes) -> None:
    _only_rejected(raw)


@FAST
@given(json_lines)
def test_check_predictions_refuses_wrong_json_lines_with_rejected(raw: bytes) -> None:
    _only_rejected(raw)


@FAST
@given(st.binary(max_size=2048) | json_lines)
@example(b"[" * 100_000 + b"\n")
def test_read_predictions_raises_only_data_error(raw: bytes) -> None:
    _only_data_error(raw)


@FAST
@given(st.dictionaries(st.sampled_from(["model_name", "submitter", "base_model", "link",
                                        "setting", "params_billion", "open_weights"]),
                       json_values | st.text(), max_size=7))
@example({"model_name": "m\ud800", "submitter": "s"})
@example({"model_name": "m", "submitter": "s", "link": "http://[::1"})
def test_check_metadata_refuses_with_rejected_and_passes_only_plain_text(
        meta: dict[str, Any]) -> None:
    try:
        clean = check_metadata(meta)
    except Rejected as rejected:
        assert rejected.problems
        return
    for key in ("model_name", "submitter", "base_model"):
        value = clean[key]
        if value is None:
            continue
        assert not any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"}
                       for c in value)
        assert not value.startswith(FORMULA) and "<" not in value and "](" not in value
        value.encode("utf-8")  # storable: no lone surrogate


# --- the COde data folder's CSV ------------------------------------------------------------

cells = st.text(max_size=12) | st.sampled_from(
    ["", "0001-001", "test", "train", "inf", "-inf", "nan", "1e400", "12", "Pulpitis",
     "a.jpg, b.jpg", "Dental Caries", "\"", ",", "\n", "\r\n"])


def _csv_text(rows: list[list[str]], header: tuple[str, ...] = ALL_COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", errors="surrogatepass")


def _loads_or_data_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / CSV_NAME).write_bytes(raw)
        try:
            load_code_folder(folder)
        except DataError as error:
            assert error.problems
        problems = validate_folder(folder, check_images=False)  # never raises
        assert all(p.message for p in problems)


@FAST
@given(st.lists(st.lists(cells, min_size=len(ALL_COLUMNS), max_size=len(ALL_COLUMNS)),
                max_size=4))
@example([["1", "0001-001", "P1", "F", "inf", "", "a.jpg", "", *[""] *
           (len(ALL_COLUMNS) - 9), "test"]])  # age "inf": int(float) overflows
def test_code_csv_with_fuzzed_cells_raises_only_data_error(rows: list[list[str]]) -> None:
    _loads_or_data_error(_csv_text(rows))


@FAST
@given(st.lists(st.lists(cells, max_size=len(ALL_COLUMNS) + 2), max_size=4))
def test_code_csv_with_ragged_rows_raises_only_data_error(rows: list[list[str]]) -> None:
    _loads_or_data_error(_csv_text(rows))


@FAST
@given(st.binary(max_size=2048))
@example(b"\x00")
@example(b"\xef\xbb\xbf")
@example(b'"' + b"x" * 200_000 + b'"\n')  # over csv's field size limit, in the header
def test_code_csv_as_any_bytes_raises_only_data_error(raw: bytes) -> None:
    header = ",".join(ALL_COLUMNS).encode() + b"\n"
    _loads_or_data_error(raw)
    _loads_or_data_error(header + raw)


# --- the leaderboard's CSV export ------------------------------------------------------------

COLUMNS = ("model", "submitter", "score", "n", "ci")
row_values = st.text() | st.integers() | st.floats(allow_nan=False) | st.none() | \
    st.sampled_from(["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)", "\t=1", "\r=1", "'=x"])


@FAST
@given(st.lists(st.fixed_dictionaries({"model": row_values},
                                      optional={c: row_values for c in COLUMNS[1:]}),
                min_size=1, max_size=6))
def test_to_csv_round_trips_with_formulas_neutralised(rows: list[dict[str, Any]]) -> None:
    text = to_csv(rows)
    read = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(read) == len(rows)
    for original, back in zip(rows, read, strict=True):
        for column, value in original.items():
            cell = back[column]
            if isinstance(value, str):
                assert not cell.startswith(FORMULA)
                assert cell == ("'" + value if value.startswith(FORMULA) else value)
            else:
                assert cell == ("" if value is None else str(value))


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@x", "\t=1", "\r=1"])
def test_to_csv_neutralises_each_formula_start(value: str) -> None:
    [back] = csv.DictReader(io.StringIO(to_csv([{"model": value}]), newline=""))
    assert back["model"] == "'" + value
