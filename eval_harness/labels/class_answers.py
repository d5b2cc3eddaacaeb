"""Reading a model's answer as a COde class (``code_cls``) or a class set (``code_multilabel``).

Extraction is deliberately conservative. An answer is read as a class only when it
names exactly one class; an answer naming no class, or several different classes,
is ``unparseable`` and counts as wrong in the primary number. We never guess (first
match, random pick), because a guess would reward hedging answers that list every
class.

Rules, in order:

1. ``failed=True`` (the backend errored or timed out) → ``failed``.
2. Reasoning is dropped: text up to the last ``</think>`` (unless nothing follows
   it, see ``strip_reasoning``), or from an unclosed ``<think>`` on.
3. The whole answer equals a class name, ignoring case, punctuation, width and
   whitespace ("tooth loss." → Tooth Loss) → ``ok``.
4. Otherwise every synonym of every class (English and Chinese, from the versioned
   ``labels/data/synonyms-v1.json``) is searched as a whole word/phrase. Overlapping
   hits are resolved longest first, so "Tooth Structure Loss" is one hit (not also
   "tooth loss"-like words) and "Class III" never counts as "Class II" (word
   boundaries). One distinct class among the hits → ``ok``; none or several →
   ``unparseable`` with a reason that names what was found.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from eval_harness.labels.classes import CLASSES, CLASSES_CN

SYNONYMS_VERSION = "synonyms-v1"

Status = Literal["ok", "unparseable", "failed"]


@dataclass(frozen=True)
class Extraction:
    raw: str | None  # the model's text exactly as received
    label: str | None  # one of CLASSES when status == "ok", else None
    status: Status
    reason: str  # why this label/status, readable in per-sample viewers

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Phrase:
    text: str  # as written in the data file (reported in reasons)
    label: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class _Synonyms:
    version: str
    sha256: str
    phrases: tuple[_Phrase, ...]


def normalize(text: str) -> str:
    """Case-, width- and punctuation-insensitive form used for all comparisons.

    NFKC folds full-width letters and Roman-numeral characters ("Ⅲ" → "III");
    every run of non-word characters becomes one space.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", " ", folded).strip()


def _phrase_pattern(normalized: str) -> re.Pattern[str]:
    # Boundaries only against ASCII letters/digits: "class iii" must not match inside
    # "class iiia", yet Chinese phrases sit inside Chinese text with no spaces at all.
    return re.compile(r"(?<![0-9a-z])" + re.escape(normalized) + r"(?![0-9a-z])")


def _data_bytes(version: str) -> bytes:
    ref = resources.files("eval_harness.labels").joinpath("data", f"{version}.json")
    return ref.read_bytes()


@cache
def load_synonyms(version: str = SYNONYMS_VERSION) -> _Synonyms:
    """Parse and check the synonym file once per process (lazily, not at import)."""
    raw = _data_bytes(version)
    doc = json.loads(raw.decode("utf-8"))
    classes = doc.get("classes", {})
    if set(classes) != set(CLASSES):
        raise ValueError(f"{version}.json must list exactly the classes {list(CLASSES)}")
    owner: dict[str, str] = {}
    phrases: list[_Phrase] = []
    for label in CLASSES:
        # The class name and its Chinese name always count, whatever the file says.
        names = [label, CLASSES_CN[label], *classes[label].get("en", []),
                 *classes[label].get("cn", [])]
        for name in names:
            key = normalize(name)
            if not key:
                raise ValueError(f"{version}.json: empty synonym for {label!r}")
            if key in owner:
                if owner[key] != label:
                    raise ValueError(f"{version}.json: {name!r} names both {owner[key]!r} "
                                     f"and {label!r}")
                continue  # same phrase listed twice for one class: harmless
            owner[key] = label
            phrases.append(_Phrase(name, label, _phrase_pattern(key)))
    return _Synonyms(version=doc.get("version", version),
                     sha256=hashlib.sha256(raw).hexdigest(), phrases=tuple(phrases))


def synonyms_id(version: str = SYNONYMS_VERSION) -> str:
    """Identity recorded with results: version plus the first 12 hex of the file hash."""
    syn = load_synonyms(version)
    return f"{syn.version}+{syn.sha256[:12]}"


def strip_reasoning(text: str) -> tuple[str, str]:
    """Drop a reasoning block: the answer follows the last </think>.

    Returns (answer, note). Some chat templates open <think> in the prompt and the
    model writes only its answer before closing it ("Tooth Loss\n</think>"); when
    nothing follows </think>, the block itself is read, still under the
    exactly-one-class rule, so a hedging block stays unparseable.
    """
    if "</think>" in text:
        before, after = text.rsplit("</think>", 1)
        if after.strip():
            return after, ""
        inside = before.rsplit("<think>", 1)[-1]
        return inside, "nothing after </think>; read the reasoning block"
    if "<think>" in text:  # reasoning never closed: whatever precedes it is the answer
        return text.split("<think>", 1)[0], "unclosed <think> dropped"
    return text, ""


_EXACT = {normalize(c): c for c in CLASSES}


def find_classes(text: str, version: str = SYNONYMS_VERSION) -> list[tuple[str, str]]:
    """(class, synonym) for each non-overlapping phrase hit, longest first, in text order."""
    norm = normalize(text)
    hits: list[tuple[int, int, _Phrase]] = []
    for phrase in load_synonyms(version).phrases:
        hits.extend((m.start(), m.end(), phrase) for m in phrase.pattern.finditer(norm))
    hits.sort(key=lambda h: (h[0] - h[1], h[0]))  # longest first, then leftmost
    taken: list[tuple[int, int, _Phrase]] = []
    for start, end, phrase in hits:
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, phrase))
    taken.sort(key=lambda h: h[0])
    return [(p.label, p.text) for _, _, p in taken]


def _answer(text: str | None, failed: bool) -> tuple[tuple[Status, str] | None, str, str]:
    """(status and reason when there is no answer to read, else None; the answer without
    its reasoning block; a note on what was dropped, for the reason)."""
    if failed:
        return ("failed", "generation failed"), "", ""
    if text is None or not text.strip():
        return ("unparseable", "empty output"), "", ""
    answer, note = strip_reasoning(text)
    return None, answer, f" ({note})" if note else ""


def extract_class(text: str | None, failed: bool = False) -> Extraction:
    """Read one answer as a class, or say precisely why it cannot be read."""
    early, answer, suffix = _answer(text, failed)
    if early is not None:
        return Extraction(text, None, *early)
    whole = normalize(answer)
    if whole in _EXACT:
        return Extraction(text, _EXACT[whole], "ok", "exact class name" + suffix)
    hits = find_classes(answer)
    if not hits:
        why = "no class named" if whole else "empty answer"
        return Extraction(text, None, "unparseable", why + suffix)
    by_class: dict[str, list[str]] = {}
    for label, phrase in hits:
        by_class.setdefault(label, [])
        if phrase not in by_class[label]:
            by_class[label].append(phrase)
    found = "; ".join(f"{label} ({', '.join(repr(p) for p in phrases)})"
                      for label, phrases in by_class.items())
    if len(by_class) > 1:
        return Extraction(text, None, "unparseable", f"several classes named: {found}{suffix}")
    label = next(iter(by_class))
    return Extraction(text, label, "ok", f"synonym match: {found}{suffix}")


_NONE_ANSWERS = frozenset({"none", "no anomaly", "no anomalies", "nothing",
                           "无", "没有", "未见异常"})


@dataclass(frozen=True)
class SetExtraction:
    raw: str | None
    labels: tuple[str, ...] | None  # CLASSES order when status == "ok" (maybe empty)
    status: Status
    reason: str


def extract_class_set(text: str | None, failed: bool = False) -> SetExtraction:
    """Read a list of classes: every class named, in CLASSES order, or "none".

    Never guesses: an answer naming no class is unparseable unless it says "none"
    (or 无); a class named only in negated form still counts as named, so the prompt
    asks for the names of the classes present only.
    """
    early, answer, suffix = _answer(text, failed)
    if early is not None:
        return SetExtraction(text, None, *early)
    if normalize(answer) in _NONE_ANSWERS:
        return SetExtraction(text, (), "ok", "answered none" + suffix)
    hits = find_classes(answer)
    if not hits:
        return SetExtraction(text, None, "unparseable", "no class named" + suffix)
    named = {label for label, _ in hits}
    labels = tuple(c for c in CLASSES if c in named)
    return SetExtraction(text, labels, "ok", f"{len(labels)} class(es) named: "
                         + ", ".join(f"{label} ({phrase!r})" for label, phrase in hits)
                         + suffix)
