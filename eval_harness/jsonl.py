"""Reading JSON Lines files with errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from eval_harness.errors import DataError


def read_json_lines(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; bad input is a DataError naming
    the file and line."""
    if not path.is_file():
        raise DataError.single(str(path), "file does not exist")
    with path.open(encoding="utf-8") as handle:
        try:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as err:
                    raise DataError.single(str(path), f"not JSON ({err.msg})", line=number,
                                           fix="one JSON object per line") from None
                except RecursionError:
                    raise DataError.single(str(path), "not JSON we read (nested too deeply)",
                                           line=number, fix="one flat JSON object per line"
                                           ) from None
                if not isinstance(obj, dict):
                    raise DataError.single(str(path), "line is not a JSON object", line=number)
                yield number, obj
        except UnicodeDecodeError as err:
            raise DataError.single(str(path), f"not UTF-8 text ({err.reason})") from None


def write_atomically(path: Path, chunks: Iterable[str]) -> Path:
    """``chunks`` written to a sibling temporary file and renamed into place: a reader
    never sees a half-written file. A write that fails (a full disk) removes the
    temporary file and raises DataError naming the file and the reason."""
    from eval_harness.atomic import write_atomically as write_bytes

    try:
        write_bytes(path, (chunk.encode("utf-8") for chunk in chunks))
    except OSError as err:
        raise DataError.single(str(path), f"could not be written ({err.strerror}); "
                               "nothing was left half-written",
                               fix="free some space (or pick another --output) and run "
                                   "again") from None
    return path


def write_json_lines(path: Path, objects: Iterable[dict]) -> Path:
    """One JSON object per line, written atomically (``write_atomically``)."""
    return write_atomically(path, (json.dumps(obj, ensure_ascii=False) + "\n"
                                   for obj in objects))
