"""Taking a submission: everything is validated before anything is stored.

A predictions file is checked as bytes first (an archive or other binary file, UTF-16/32,
size, byte-order mark, NUL bytes, line count, line length, UTF-8), then line by line by
the harness's own reader (JSON, fields, types, known tasks, duplicates), then against the
board (unknown and missing ids, with how many and the first few). Metadata is plain text
without markup, markdown links, control characters or a leading spreadsheet formula
character, and a link is a plain http(s) address. Each rejection names the problem in
plain words. An accepted file is written under the leaderboard folder, named by the hash
of what it predicts, before its row commits, so an accepted submission is never without
its file; the same predictions on the same board point to the earlier submission; a
submitter may submit ``per_day`` times a day.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from eval_harness.atomic import write_atomically, write_once
from eval_harness.errors import DataError, Problem
from eval_harness.predictions import Prediction, ReferenceSet, read_predictions
from leaderboard.store.schema import SETTINGS, Board, Event, Submission, now

FIRST_FEW = 5
MAX_PROBLEMS = 20  # a rejection lists this many problems, then how many more there are
NAME_LIMIT = 200
_MARKUP = re.compile(r"[<>]|&#|javascript:", re.IGNORECASE)
# Control characters, invisible formatting (zero-width, bidi overrides and isolates, line
# separators, BOM) and lone surrogates (which no database can store as text).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                      "\u2060-\u2069\ufeff\ud800-\udfff]")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA = ("=", "+", "-", "@")
# A link address has none of these unescaped (they break out of HTML or markdown).
_NOT_IN_LINK = re.compile(r"[\s<>\"'`\\]")
_NAMES = ("model_name", "submitter", "base_model")
# Unicode categories of what a name must not hold: control, format (zero-width, bidi,
# soft hyphen, tag characters), surrogate, line and paragraph separators.
_INVISIBLE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 2**20
    max_line_bytes: int = 256 * 2**10
    per_day: int = 5
    max_lines: int = 100_000  # a board has hundreds of checkups, times a few tasks


@dataclass(frozen=True)
class Accepted:
    submission_id: int
    duplicate: bool  # the same content was already on the board: this is that submission


class Rejected(Exception):
    """A submission refused before anything was stored; str() lists every reason.
    ``detail``: what only the server's log may show (its folders), if anything."""

    def __init__(self, problems: list[str], detail: str | None = None):
        self.problems, self.detail = problems, detail
        super().__init__("\n".join(problems))


def _text_problem(key: str, value: Any) -> str | None:
    """What is wrong with a text field's (non-empty) value, or None."""
    if not isinstance(value, str):
        return f"{key}: must be text, not {type(value).__name__}"
    value = value.strip()
    if len(value) > NAME_LIMIT:
        return f"{key}: {len(value)} characters, at most {NAME_LIMIT}"
    if _CONTROL.search(value) or any(unicodedata.category(c) in _INVISIBLE for c in value):
        return f"{key}: contains control or invisible formatting characters"
    if "](" in value:
        return f"{key}: contains markdown link syntax ']('; use plain text"
    if _MARKUP.search(value):
        return f"{key}: contains markup (<, >, &# or javascript:); use plain text"
    if key in _NAMES and value.startswith(_FORMULA):
        return (f"{key}: starts with {value[0]!r}, which a spreadsheet runs as a formula; "
                "start with a letter or digit")
    return None


def _text(meta: dict[str, Any], key: str, required: bool, problems: list[str]
          ) -> str | None:
    """A text field, stripped; None (its problem added to ``problems``) when bad."""
    value = meta.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"{key}: required")
        return None
    problem = _text_problem(key, value)
    if problem:
        problems.append(problem)
        return None
    return value.strip()


def _link_problem(link: Any) -> str | None:
    """What is wrong with a (non-empty) link, or None for a plain public http(s) address."""
    if not isinstance(link, str):
        return f"link: must be text, not {type(link).__name__}"
    if len(link) > 500:
        return f"link: {len(link)} characters, at most 500"
    if _CONTROL.search(link) or _NOT_IN_LINK.search(link):
        return (f"link: {link[:80]!r} contains spaces, quotes, angle brackets or control "
                "characters; give a plain http(s) address")
    try:
        parsed = urlparse(link)
        bad_port = parsed.port == 0
    except ValueError:  # a malformed host or port
        parsed, bad_port = None, True
    if bad_port or parsed is None or parsed.scheme.lower() not in ("http", "https") \
            or not parsed.hostname:
        return f"link: {link[:80]!r} is not an http(s) address"
    if parsed.username is not None or parsed.password is not None:
        return "link: contains a user name or password; give the public address"
    return None


def metadata_problems(meta: Any) -> tuple[dict[str, Any], list[str]]:
    """The submission's descriptive fields, validated all at once: the clean fields and
    every problem, one per field, each naming its field (none: the fields are good)."""
    if not isinstance(meta, dict):
        return {}, [f"metadata: must be an object of fields, not {type(meta).__name__}"]
    problems: list[str] = []
    clean: dict[str, Any] = {key: _text(meta, key, key != "base_model", problems)
                             for key in _NAMES}
    link = meta.get("link")
    problem = _link_problem(link) if link not in (None, "") else None
    if problem:
        problems.append(problem)
    clean["link"] = str(link) if link not in (None, "") and not problem else None
    setting = meta.get("setting")
    if setting not in (None, *SETTINGS):
        problems.append(f"setting: {setting!r} is not one of {', '.join(SETTINGS)}")
    clean["setting"] = setting if setting in SETTINGS else None
    params = meta.get("params_billion")
    if params is not None and (isinstance(params, bool) or not isinstance(params, int | float)
                               or not 0 < params < 10_000):
        problems.append(f"params_billion: {params!r} is not a positive number of billions")
        params = None
    clean["params_billion"] = float(params) if params is not None else None
    open_weights = meta.get("open_weights")
    if open_weights is not None and not isinstance(open_weights, bool):
        problems.append("open_weights: must be true or false")
        open_weights = None
    clean["open_weights"] = open_weights
    return clean, problems


def check_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """The submission's descriptive fields, validated; raises Rejected naming every field
    that is wrong."""
    clean, problems = metadata_problems(meta)
    if problems:
        raise Rejected(problems)
    return clean


# What a file that is not JSON lines starts with: archives (never unpacked here), then
# other binary files a submitter may pick by mistake.
_ARCHIVES = ((b"PK\x03\x04", "a zip"), (b"PK\x05\x06", "a zip"), (b"\x1f\x8b", "a gzip"),
             (b"BZh", "a bzip2"), (b"\xfd7zXZ\x00", "an xz"), (b"7z\xbc\xaf\x27\x1c", "a 7z"),
             (b"\x28\xb5\x2f\xfd", "a zstd"), (b"Rar!\x1a\x07", "a rar"))
_BINARY = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
           (b"%PDF", "a PDF document"), (b"SQLite format 3\x00", "an SQLite database"))
_WIDE = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
         (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))


def _file_kind(raw: bytes, name: str) -> None:
    """Rejected when the bytes are an archive, another binary file or UTF-16/32 text."""
    for magic, kind in _ARCHIVES:
        if raw.startswith(magic):
            raise Rejected([f"{name}: this is {kind} archive; archives are not accepted, "
                            "upload the .jsonl file itself"])
    if raw[257:262] == b"ustar":
        raise Rejected([f"{name}: this is a tar archive; archives are not accepted, upload "
                        "the .jsonl file itself"])
    for magic, kind in _BINARY:
        if raw.startswith(magic):
            raise Rejected([f"{name}: this is {kind}, not a predictions file; upload the "
                            ".jsonl file (one JSON object per line)"])
    for bom, encoding in _WIDE:
        if raw.startswith(bom):
            raise Rejected([f"{name}: saved as {encoding}; save it as UTF-8 (it starts "
                            f"with the {encoding} byte-order mark)"])
    # Without a byte-order mark: a text character beside NUL bytes ("{" is 7b 00 00 00
    # in UTF-32 LE, 7b 00 in UTF-16 LE).
    shape = "".join("0" if b == 0 else "t" if 9 <= b < 127 else "x" for b in raw[:4])
    if shape in ("t000", "000t"):
        raise Rejected([f"{name}: saved as UTF-32; save it as UTF-8 (three NUL bytes beside "
                        "every character)"])
    if shape[:2] in ("t0", "0t"):
        raise Rejected([f"{name}: saved as UTF-16; save it as UTF-8 (a NUL byte beside "
                        "every character)"])


def check_bytes(raw: bytes, name: str, limits: Limits) -> str:
    """The file as text, or Rejected for what makes it unreadable before any parsing.
    Every check here is a scan of the bytes: nothing is parsed or unpacked."""
    if not raw or raw.isspace():
        raise Rejected([f"{name}: the file is empty"])
    _file_kind(raw, name)
    if len(raw) > limits.max_bytes:
        raise Rejected([f"{name}: {len(raw):,} bytes, over the limit of {limits.max_bytes:,}"])
    if raw.startswith(b"\xef\xbb\xbf"):
        raise Rejected([f"{name}: starts with a byte-order mark; save it as UTF-8 without BOM"])
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise Rejected([f"{name}, line {line}: contains a NUL byte (is this a binary file?)"])
    lines = raw.count(b"\n") + (not raw.endswith(b"\n"))
    if lines > limits.max_lines:
        raise Rejected([f"{name}: {lines:,} lines, over the limit of {limits.max_lines:,} "
                        "(one line per prediction)"])
    start = 0
    for number in range(1, lines + 1):  # at most max_lines steps, no copy of the file
        end = raw.find(b"\n", start)
        stop = len(raw) if end < 0 else end
        if stop - start > limits.max_line_bytes:
            raise Rejected([f"{name}, line {number}: {stop - start:,} bytes, over the line "
                            f"limit of {limits.max_line_bytes:,}"])
        start = stop + 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        byte = raw[error.start]
        hint = ("; was it saved as Latin-1 or Windows-1252? save it as UTF-8"
                if byte >= 0x80 else "")
        raise Rejected([f"{name}, line {line}: not UTF-8 text (byte {error.start} is "
                        f"0x{byte:02x}{hint})"]) from None


def _shown(text: str, limit: int = 60) -> str:
    """A submitted value as a message shows it: short, control characters escaped."""
    if len(text) <= limit and not _CONTROL.search(text):
        return text
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def _first(ids: set[str]) -> str:
    few = sorted(ids)[:FIRST_FEW]
    return ", ".join(map(_shown, few)) + (", ..." if len(ids) > FIRST_FEW else "")


def _parsed_lines(raw: bytes, name: str, scratch: Path) -> tuple[Path, list[Problem]]:
    """Every line that is not a JSON object, as a problem with its line number, and a
    copy of the file with those lines blanked (so the harness's reader, which stops at
    the first such line, reads the rest and keeps the same line numbers)."""
    import json

    source, kept = scratch / "submitted.jsonl", scratch / "predictions.jsonl"
    source.write_bytes(raw)
    problems: list[Problem] = []
    # Read as the harness reads it (text mode, universal newlines): the same line numbers.
    with source.open(encoding="utf-8") as lines, kept.open("w", encoding="utf-8") as out:
        for number, text in enumerate(lines, start=1):
            try:
                obj = json.loads(text) if text.strip() else {}
            except json.JSONDecodeError as error:
                obj = Problem(name, f"not JSON ({error.msg})", number,
                              fix="one JSON object per line")
            except RecursionError:
                obj = Problem(name, "not JSON we read (nested too deeply)", number,
                              fix="one flat JSON object per line")
            if not isinstance(obj, dict | Problem):
                obj = Problem(name, "line is not a JSON object", number)
            if isinstance(obj, Problem):
                problems.append(obj)
            out.write("\n" if isinstance(obj, Problem) else text.rstrip("\n") + "\n")
    return kept, problems


def _line_problems(raw: bytes, name: str) -> tuple[list[Prediction], list[Problem]]:
    """The file's predictions and every problem of its lines (JSON, fields, types, known
    tasks, duplicates), in line order."""
    with tempfile.TemporaryDirectory() as scratch:
        path, problems = _parsed_lines(raw, name, Path(scratch))
        try:
            predictions = read_predictions(path)
        except DataError as error:
            predictions = []
            if not (problems and all(p.line is None for p in error.problems)):
                # (not "the file is empty" when its only lines were not JSON)
                problems += [Problem(name, p.message, p.line, p.checkup_id, p.fix)
                             for p in error.problems]
    return predictions, sorted(problems, key=lambda p: p.line or 0)


def _capped(problems: list[str], name: str) -> list[str]:
    more = len(problems) - MAX_PROBLEMS
    return problems[:MAX_PROBLEMS] + ([f"{name}: ... and {more:,} more problem(s)"]
                                      if more > 0 else [])


def check_predictions(raw: bytes, name: str, board_ids: set[str] | None, limits: Limits
                      ) -> list[Prediction]:
    """Parsed predictions that cover the board exactly, or Rejected with every reason
    (the first ``MAX_PROBLEMS``, then how many more). ``board_ids`` None: the lines only
    (the board cannot be read here)."""
    check_bytes(raw, name, limits)
    predictions, found = _line_problems(raw, name)
    problems = [str(p) for p in found]
    for task in sorted({p.task for p in predictions}) if board_ids is not None else ():
        ids = {p.sample_id for p in predictions if p.task == task}
        unknown, missing = ids - board_ids, board_ids - ids
        if unknown:
            problems.append(f"{name}: {task}: {len(unknown)} id(s) not on this board: "
                            f"{_first(unknown)}")
        if missing and not found:  # a broken line's id is missing too: said once, above
            problems.append(f"{name}: {task}: {len(missing)} of the board's {len(board_ids)} "
                            f"id(s) missing: {_first(missing)}")
    if problems:
        raise Rejected(_capped(problems, name))
    return predictions


_CHECKUP_ID = re.compile(r"\d{4}-\d{3}")


def _as_position_ids(board: str, raw: bytes, name: str, limits: Limits) -> bytes:
    """A code-test-600 file keyed by COde checkup ids, rewritten to position ids (the
    board's id space) when this server has the COde folder; refused, saying so, when not."""
    import json

    from leaderboard.boards import position_ids

    if board != "code-test-600":
        return raw
    try:
        lines = [json.loads(x) for x in check_bytes(raw, name, limits).splitlines()
                 if x.strip()]
    except (json.JSONDecodeError, RecursionError):
        return raw  # the line-by-line checks below name the line
    if not lines or not all(isinstance(x, dict) and _CHECKUP_ID.fullmatch(str(x.get("id")))
                            for x in lines):
        return raw  # position ids (or a bad file the checks below describe)
    try:
        mapping = position_ids(board)
    except DataError as error:  # the server's COde folder: its path is for the log only
        raise Rejected([f"this server's COde folder: {p.message}" for p in error.problems],
                       detail=_one_line(error)) from None
    if mapping is None:
        raise Rejected([f"{name}: keyed by COde checkup ids, but this server has no COde "
                        "folder to map them; use position ids 00000-00599 (the checkup's "
                        "place among the test rows of complete_dataset.csv)"])
    unknown = {str(x["id"]) for x in lines} - set(mapping)
    if unknown:
        raise Rejected([f"{name}: {len(unknown)} checkup id(s) not in the COde test split: "
                        f"{_first(unknown)}"])
    return "".join(json.dumps({**x, "id": mapping[x["id"]]}) + "\n" for x in lines).encode()


def _one_line(error: DataError) -> str:
    return " | ".join(" ".join(str(p).split()) for p in error.problems)


def board_references(board: str) -> ReferenceSet:
    """The board's held-out references, or Rejected saying this server cannot score it,
    in words without any server folder (the log gets the detail, folders included)."""
    from leaderboard.boards import BOARDS, references_for, scorable_boards

    if board not in BOARDS:
        raise Rejected([f"board: {_shown(str(board))} is not a board; boards: "
                        f"{', '.join(BOARDS)}"])
    try:
        return references_for(board)
    except DataError as error:
        here = scorable_boards()
        raise Rejected([f"board: this server cannot score {board} (its held-out references "
                        "are not installed here); "
                        + (f"boards it scores: {', '.join(here)}" if here
                           else "it scores no board right now")],
                       detail=_one_line(error)) from None


def client_hash(address: str | None, folder: Path) -> str | None:
    """A keyed hash of a client address (a plain hash of an IPv4 address is reversible by
    trying them all); the key is made once per installation, in the leaderboard folder."""
    import hmac
    import os

    if not address:
        return None
    key_file = folder / "client-key"
    if not key_file.is_file():  # of requests racing to make it, one key lands for all
        write_once(key_file, [os.urandom(32)], mode=0o600)
    return hmac.new(key_file.read_bytes(), address.encode(), "sha256").hexdigest()[:32]


def _rate_limited(session: Session, submitter: str, client: str | None,
                  limits: Limits) -> bool:
    """Over the daily limit by the submitter's name, or by the client's address."""
    since = now() - timedelta(days=1)
    who = Submission.submitter == submitter
    if client:
        who = sa.or_(who, Submission.client_hash == client)
    count = session.scalar(sa.select(sa.func.count()).select_from(Submission).where(
        who, Submission.created_at >= since, Submission.kind != "seed"))
    return count >= limits.per_day


def content_digest(predictions: list[Prediction]) -> str:
    """A hash of what was predicted, not of the bytes: the same answers in another line
    order, spacing or id space are the same submission."""
    import json

    from eval_harness.predictions import prediction_line

    lines = sorted(json.dumps(prediction_line(p), sort_keys=True) for p in predictions)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _store(sessions: sessionmaker[Session], board: str, references, digest: str,
           clean: dict[str, Any], limits: Limits, kind: str, payload: dict[str, Any],
           write: Any = None, client: str | None = None) -> Accepted:
    """One transaction: dedup, rate limit, then the row (``write`` runs before it).
    Requests racing on PostgreSQL (a board's first two submissions, the same content sent
    twice at once) meet a unique constraint; the loser tries again and then sees the
    winner's row: the board, or the earlier submission it duplicates."""
    for attempt in range(3):
        try:
            return _store_once(sessions, board, references, digest, clean, limits, kind,
                               payload, write, client)
        except sa.exc.IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _store_once(sessions: sessionmaker[Session], board: str, references, digest: str,
                clean: dict[str, Any], limits: Limits, kind: str, payload: dict[str, Any],
                write: Any, client: str | None) -> Accepted:
    from leaderboard.boards import board_row

    with sessions.begin() as session:
        if session.get(Board, board) is None:
            session.add(board_row(board, references))
        earlier = session.scalar(sa.select(Submission.id).where(
            Submission.board_id == board, Submission.content_hash == digest))
        if earlier is not None:
            return Accepted(earlier, duplicate=True)
        if _rate_limited(session, clean["submitter"], client, limits):
            raise Rejected([f"{limits.per_day} submissions in the last 24 hours from "
                            f"submitter {clean['submitter']!r} or this address; try again "
                            "tomorrow"])
        if write:
            write()
        submission = Submission(board_id=board, kind=kind, content_hash=digest,
                                payload=payload, client_hash=client, **clean,
                                events=[Event(status="pending", detail="accepted")])
        session.add(submission)
        session.flush()
        return Accepted(submission.id, duplicate=False)


def submit_model(sessions: sessionmaker[Session], board: str, spec: Any,
                 meta: dict[str, Any], *, limits: Limits = Limits(),
                 client: str | None = None) -> Accepted:
    """Validate and queue a model spec (see ``leaderboard.model_specs``). ``client``: the
    uploading client's hashed address (``client_hash``), if any."""
    import json

    from leaderboard.model_specs import SpecError, check_spec

    clean, problems = metadata_problems(meta)
    if isinstance(spec, dict) and not isinstance(spec.get("tasks") or [], list | tuple):
        problems.append(f"model: tasks must be a list of task names, not "
                        f"{type(spec['tasks']).__name__}")
    else:
        try:
            checked = check_spec(spec, board)
        except SpecError as error:
            problems.append(f"model: {error}")
    if problems:
        raise Rejected(problems)
    references = board_references(board)
    digest = hashlib.sha256(json.dumps(checked, sort_keys=True).encode()).hexdigest()
    return _store(sessions, board, references, digest, clean, limits, "model", checked,
                  client=client)


def submit_predictions(sessions: sessionmaker[Session], board: str, raw: bytes,
                       meta: dict[str, Any], *, folder: Path, name: str = "predictions",
                       limits: Limits = Limits(), client: str | None = None) -> Accepted:
    """Validate and queue a predictions file; Rejected (nothing stored) when it is bad."""
    clean, problems = metadata_problems(meta)
    details = []
    try:
        references = board_references(board)
    except Rejected as rejected:  # the file's own problems are still worth listing
        references, problems = None, problems + rejected.problems
        details.append(rejected.detail)
    try:
        if references is not None:
            raw = _as_position_ids(board, raw, name, limits)
        predictions = check_predictions(
            raw, name, None if references is None
            else {r.sample_id for r in references.references}, limits)
    except Rejected as rejected:
        problems += rejected.problems
        details.append(rejected.detail)
    if problems:
        raise Rejected(problems, " | ".join(filter(None, details)) or None)
    digest = content_digest(predictions)
    stored = folder / "submissions" / f"{digest}.jsonl"

    def write() -> None:  # content-addressed: written whole before the row commits
        if not stored.is_file():  # a full disk: nothing is left; the row never commits
            write_atomically(stored, [raw])

    return _store(sessions, board, references, digest, clean, limits, "predictions",
                  {"predictions": stored.name}, write, client=client)
