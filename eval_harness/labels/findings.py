"""Fine-grained findings and ICD-10 codes in a dental report.

The report labeler (:mod:`report_labeler`) says which of the six benchmark classes a report
affirms. This module says which *fine-grained anomalies of the label map* it mentions ("Angle
Class II malocclusion", not just "Class III Malocclusion", the bucket code-v1 files it under)
and which ICD-10 codes it writes, each with present / uncertain / negated / hypothetical status
and its evidence span.

Mentions are read by the labeler's own machinery, with a finer tag on each pattern: the
rules version's map-derived names (English and Chinese, :func:`report_labeler.map_mentions`)
plus the forms of ``labels/data/finding-synonyms-v1.json`` are tagged with their anomaly; the
version's hand-written class phrases and blockers take part as they do in the labeler (so
spans, lists and clauses are the same), and a hand-written phrase is a finding only where a
name of its own class occurs inside it ("deep caries" holds "caries": Dental Caries; "reverse
overjet" names no map row and is no finding). Negation, uncertainty and hypothetical cues are
decided by the labeler's ``_contexts``: no second negation engine.

ICD-10 codes are found by a pattern (COde writes ``K04.005``, ``K02.800x008``,
``K07.200x013``: a category, a subdivision and, after ``x``, a national extension); a bare
category (``K02``) counts only in parentheses or after "ICD-10:" (so "3M P60 resin" is not a
code). A code written in parentheses right after a mention ("pulpitis (K04.005)") shares that
mention's status; elsewhere it is decided as a mention of its own ("no K02.1"). The anomaly a
code names comes from ``labels/data/icd10-codes-v1.json`` (the codes seen in the COde
references, each with its source); a code not in that file is kept, with anomaly None.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal, TypeVar

from eval_harness.labels.anomaly_map import AnomalyMap
from eval_harness.labels.classes import CLASSES
from eval_harness.labels.report_labeler import (
    _ASCII_LOWER,
    _STATUS_OF_KIND,
    MentionStatus,
    _check,
    _contexts,
    _Cue,
    _find_mentions,
    _label_map,
    _mention_items,
    _normalise_language,
    _Rules,
    _rules,
    _Scanner,
    _scanner,
    _version,
    in_sections,
    rules_id,
)

SYNONYMS_FILE = "finding-synonyms-v1.json"
ICD_FILE = "icd10-codes-v1.json"

_N = len(CLASSES)
_CODE_TAG = -2  # found-list tag of an ICD-10 code
# A code: letter, two digits, and a subdivision after a dot with an optional extension
# (x013, or whatever a model writes: XA, x00x); a bare category needs the lead-in.
_CODE_RX = re.compile(
    r"(?P<lead>[(（\[]\s*|icd-?10(?:-?cm)?(?:\s+codes?)?\s*[:：]?\s*(?:\*\*)?\s*)?"
    # ASCII look-arounds: in Chinese text a code stands right next to word characters.
    r"(?<![A-Za-z0-9_.\-–])(?P<code>[A-Z]\d{2}(?:\.\d{1,4}[0-9A-Za-z]{0,4})?)"
    r"(?![A-Za-z0-9_]|\.\d)(?!\s*[-–]\s*[A-Z]\d{2})",  # "K00-K14" is a range, not a code
    re.IGNORECASE)
# What may stand between a mention and the code in parentheses that annotates it (words
# without a sentence boundary or another parenthesis: "caries of tooth 36 (K02.8"), and
# between two codes of one annotation ("(K02.1, K04.0)").
_ANNOTATES = re.compile(r"[^.;:!?\n()（）\[\]]{0,60}?[(（\[]\s*"
                        r"(?:icd-?10(?:-?cm)?(?:\s+codes?)?\s*[:：]?\s*)?(?:\*\*)?\s*",
                        re.IGNORECASE)
_NEXT_CODE = re.compile(r"\s*(?:[,，、;/]|and|or)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One mention of a fine-grained anomaly of the label map."""

    anomaly: str  # the map's English name (its row)
    cls: str  # the class the map files it under
    status: MentionStatus
    span: tuple[int, int]  # character offsets of `text` in the report
    text: str
    cue: str | None = None  # the negation/uncertainty/hypothetical cue, when one decided
    cue_span: tuple[int, int] | None = None


@dataclass(frozen=True)
class CodeMention:
    """One ICD-10 code written in a report."""

    code: str  # normalised: upper case, national extension with a lower-case x (K07.200x013)
    category: str  # the three-character category (K07)
    anomaly: str | None  # the map anomaly it names (icd10-codes data file); None: unknown
    status: MentionStatus
    span: tuple[int, int]  # offsets of the code as written
    text: str
    cue: str | None = None
    cue_span: tuple[int, int] | None = None


@dataclass(frozen=True)
class _Fine:
    rules: _Rules  # the labeler's rules with the finer mention scanner
    anomalies: tuple[str, ...]  # (tag - 2 * len(CLASSES)) % len(anomalies) -> anomaly
    cls_of: dict[str, str]
    inside: tuple[tuple[int, re.Pattern[str]], ...]  # (tag, pattern) of every anomaly tag


def _data(name: str) -> Any:
    return json.loads(resources.files("eval_harness.labels").joinpath("data", name)
                      .read_text("utf-8"))


def _map_of(version: str) -> AnomalyMap:
    amap = _label_map(version)
    if amap is None:
        raise ValueError(f"{version} has no label map: fine-grained findings need one "
                         "(use rules-v2 or later)")
    return amap


@cache
def finding_synonyms(language: str = "en", rules: str | None = None) -> dict[str, list[str]]:
    """The synonyms data file's patterns for one language: map English name -> patterns.

    Checked against the label map the rules version names: every key must be a map anomaly
    and every pattern valid (mentions_*.json syntax)."""
    language, version = _normalise_language(language), _version(rules)
    amap = _map_of(version)
    spec = _data(SYNONYMS_FILE)
    if spec.get("label_map") != amap.version:
        raise RuntimeError(f"labels/data/{SYNONYMS_FILE} is for {spec.get('label_map')!r}, "
                           f"the rules use {amap.version!r}")
    out: dict[str, list[str]] = {}
    for anomaly, entries in spec[language].items():
        if not amap.is_known(anomaly):
            raise RuntimeError(f"labels/data/{SYNONYMS_FILE}: {anomaly!r} is not an anomaly "
                               f"of {amap.version}")
        for entry in entries:
            if not entry.get("why", "").strip():
                raise RuntimeError(f"labels/data/{SYNONYMS_FILE}: {entry['pattern']!r} has no "
                                   "'why'")
            _check(entry["pattern"], SYNONYMS_FILE)
        out[amap.names_en[anomaly.casefold()]] = [e["pattern"] for e in entries]
    return out


@cache
def _fine(language: str, version: str) -> _Fine:
    amap = _map_of(version)
    anomalies = tuple(amap.names_en.values())
    index = {a: k for k, a in enumerate(anomalies)}
    items, _heads, derived = _mention_items(language, version)
    # A map name and a synonym of the same anomaly get different tags, so that each is tried
    # on its own and the longer match wins (within one tag the longer *pattern* is tried first).
    tagged = [(d.pattern, 2 * _N + index[d.anomaly]) for d in derived if d.pattern is not None]
    tagged += [(p, 2 * _N + len(anomalies) + index[a])
               for a, patterns in finding_synonyms(language, version).items() for p in patterns]
    scanner = _scanner(items + tagged, language)
    preferred = frozenset(t for _, t in tagged)  # a name wins a tie with a class phrase
    base = _rules(language, version)
    rules = dataclasses.replace(base, mentions=_Scanner(
        scanner.union, scanner.tag_of_group, scanner.by_tag, preferred))
    inside = tuple((t, rx) for t, rx in scanner.by_tag if t >= 2 * _N)
    return _Fine(rules, anomalies, {a: amap.to_class[a.casefold()] for a in anomalies}, inside)


@cache
def icd10_codes(rules: str | None = None) -> dict[str, dict[str, str]]:
    """The ICD-10 data file: normalised code -> {"anomaly", "icd10", "source"}, checked
    against the label map the rules version names (every anomaly must be a map row)."""
    amap = _map_of(_version(rules))
    spec = _data(ICD_FILE)
    if spec.get("label_map") != amap.version:
        raise RuntimeError(f"labels/data/{ICD_FILE} is for {spec.get('label_map')!r}, the "
                           f"rules use {amap.version!r}")
    out: dict[str, dict[str, str]] = {}
    for code, row in spec["codes"].items():
        if normalise_code(code) != code:
            raise RuntimeError(f"labels/data/{ICD_FILE}: {code!r} is not normalised")
        if not amap.is_known(row["anomaly"]):
            raise RuntimeError(f"labels/data/{ICD_FILE}: {code} names {row['anomaly']!r}, not "
                               f"an anomaly of {amap.version}")
        if not row.get("source", "").strip():
            raise RuntimeError(f"labels/data/{ICD_FILE}: {code} has no source")
        out[code] = dict(row, anomaly=amap.names_en[row["anomaly"].casefold()])
    return out


def normalise_code(code: str) -> str:
    """Upper case, except the x that opens a national extension after the third decimal
    (``k07.200X013`` -> ``K07.200x013``). Nothing is dropped or completed."""
    return re.sub(r"^([A-Z]\d{2}\.\d{3})X", r"\1x", code.strip().upper())


def findings_id(rules: str | None = None) -> str:
    """Identity of what find_findings/find_codes read: the rules id plus the sha256 prefix
    of the synonyms and ICD-10 data files."""
    digest = hashlib.sha256()
    for name in (SYNONYMS_FILE, ICD_FILE):
        digest.update(name.encode() + b"\0" + resources.files("eval_harness.labels")
                      .joinpath("data", name).read_bytes() + b"\0")
    return f"{rules_id(rules)}/findings+{digest.hexdigest()[:12]}"


# ------------------------------------------------------------------------------ reading

_Item = tuple[Literal["finding", "code"], str | None, tuple[int, int], _Cue | None]


@lru_cache(maxsize=4096)
def _read(text: str, language: str, version: str) -> tuple[_Item, ...]:
    """Every finding and code of `text` in text order: (kind, anomaly or code, span, cue)."""
    fine = _fine(language, version)
    low = text.translate(_ASCII_LOWER)
    found = _find_mentions(low, fine.rules)
    taken = [(s, e) for s, e, *_ in found]
    for m in _CODE_RX.finditer(text):
        s, e = m.span("code")
        if "." not in m.group("code") and m.group("lead") is None:
            continue  # a bare category only in parentheses or after "ICD-10:"
        if all(e <= a or s >= b for a, b in taken):
            found.append((s, e, _CODE_TAG, s, e))
    found.sort()
    decided = _contexts(text, low, found, fine.rules)
    out: list[_Item] = []
    cues: list[_Cue | None] = []
    for k, ((s, e, tag, _hs, _he), (cue, _role)) in enumerate(zip(found, decided, strict=True)):
        if tag == _CODE_TAG and k > 0:
            pe, ptag = found[k - 1][1:3]
            gap = _NEXT_CODE if ptag == _CODE_TAG else _ANNOTATES
            if gap.fullmatch(text, pe, s):
                cue = cues[-1]  # "pulpitis (K04.005)": the code annotates that mention
        cues.append(cue)
        if tag == _CODE_TAG:
            out.append(("code", text[s:e], (s, e), cue))
        elif (anomaly := _anomaly(low, s, e, tag, fine)) is not None:
            out.append(("finding", anomaly, (s, e), cue))
    return tuple(out)


def _anomaly(low: str, s: int, e: int, tag: int, fine: _Fine) -> str | None:
    """The anomaly a mention names: its own tag, or for a class phrase the longest name of
    its class inside it (first in map order on a tie); None if it holds none."""
    if tag >= 2 * _N:
        return fine.anomalies[(tag - 2 * _N) % len(fine.anomalies)]
    cls = CLASSES[tag % _N]
    best, best_len = None, 0
    for t, rx in fine.inside:
        anomaly = fine.anomalies[(t - 2 * _N) % len(fine.anomalies)]
        if fine.cls_of[anomaly] != cls:
            continue
        pos = s
        while (m := rx.search(low, pos, e)) is not None:
            if m.end() - m.start() > best_len:
                best, best_len = anomaly, m.end() - m.start()
            pos = m.start() + 1
    return best


def _status(cue: _Cue | None) -> MentionStatus:
    return "present" if cue is None else _STATUS_OF_KIND[cue.kind]


def find_findings(text: str | None, language: str = "en", sections: Iterable[str] | None = None,
                  rules: str | None = None) -> list[Finding]:
    """Every mention of a fine-grained anomaly of the label map in `text`, in text order,
    with its status and evidence. `sections` keeps those inside the named report sections
    (field names of REPORT_SECTIONS, e.g. ``["diagnosis"]``); offsets refer to the full text.
    Hypothetical mentions ("if caries develops") are kept with status "hypothetical"."""
    text = text or ""
    language, version = _normalise_language(language), _version(rules)
    fine = _fine(language, version)
    out = [Finding(anomaly=name, cls=fine.cls_of[name], status=_status(cue), span=span,
                   text=text[span[0]:span[1]],
                   cue=None if cue is None else text[cue.start:cue.end],
                   cue_span=None if cue is None else (cue.start, cue.end))
           for kind, name, span, cue in _read(text, language, version)
           if kind == "finding" and name is not None]
    return _keep(out, text, sections, language)


def find_codes(text: str | None, sections: Iterable[str] | None = None, language: str = "en",
               rules: str | None = None) -> list[CodeMention]:
    """Every ICD-10 code written in `text`, in text order, normalised, with the map anomaly it
    names (None when the ICD-10 data file does not know the code: kept, never guessed) and
    its status (a code annotating a mention shares its status; "no K02.1" is negated)."""
    text = text or ""
    language, version = _normalise_language(language), _version(rules)
    table = icd10_codes(version)
    out: list[CodeMention] = []
    for kind, written, span, cue in _read(text, language, version):
        if kind != "code" or written is None:
            continue
        code = normalise_code(written)
        row = table.get(code)
        out.append(CodeMention(
            code=code, category=code[:3], anomaly=None if row is None else row["anomaly"],
            status=_status(cue), span=span, text=written,
            cue=None if cue is None else text[cue.start:cue.end],
            cue_span=None if cue is None else (cue.start, cue.end)))
    return _keep(out, text, sections, language)


_T = TypeVar("_T", Finding, CodeMention)


def _keep(items: list[_T], text: str, sections: Iterable[str] | None,
          language: str) -> list[_T]:
    if sections is None:
        return items
    wanted = tuple(sections)
    in_sections((0, 0), text, wanted, language)  # unknown section names raise even if empty
    return [x for x in items if in_sections(x.span, text, wanted, language)]
