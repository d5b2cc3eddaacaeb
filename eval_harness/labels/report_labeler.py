"""Rule-based, negation-aware labeler: which of the six classes a dental report affirms.

In the spirit of NegEx/ConText and the CheXpert labeler: find mentions of each class
(synonym rules), decide for each mention whether it is affirmed, hedged, negated or merely
hypothetical from cue phrases in the same clause, then combine a class's mentions with
present > uncertain > negated > absent. Reports may be English or Chinese.

All phrases live in versioned data files under ``labels/rules/`` (see the ``_about`` notes in
each); :func:`rules_id` names the version plus a hash of those files so that clinical scores
computed under different rules are visibly not comparable. Rules are compiled once per
language and version on first use; nothing happens at import.

Versions (``RULES_VERSIONS``; every function takes ``rules=`` and defaults to
``RULES_VERSION``): ``rules-v1`` reads only the hand-written phrases, so Class III is the
strict Angle Class III. ``rules-v2`` adds, at compile time, every fine-grained anomaly name of
the label map its manifest names (English and Chinese) as a mention of the class the map
files it under (:func:`map_mentions`), so the labeler agrees with the benchmark's classes:
"Angle's Class II malocclusion", crowding or 反颌 are "Class III Malocclusion" mentions, as
code-v1 files them. Its id carries the label-map id.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any, Literal, cast

from eval_harness.data.checkup import REPORT_SECTIONS
from eval_harness.labels.anomaly_map import AnomalyMap, load_anomaly_map
from eval_harness.labels.classes import CLASSES

RULES_VERSION = "rules-v2"  # the default
# Each version's manifest under labels/rules/; its "version" must equal the key. rules-v1's
# manifest keeps its old name and bytes, so rules-v1 keeps its old id.
_MANIFEST_FILES = {"rules-v1": "manifest.json", "rules-v2": "manifest-v2.json"}
RULES_VERSIONS: tuple[str, ...] = tuple(_MANIFEST_FILES)

Status = Literal["present", "uncertain", "negated", "absent"]
MentionStatus = Literal["present", "uncertain", "negated", "hypothetical"]

_LANG_ALIASES = {"en": "en", "cn": "cn", "zh": "cn"}
_SECTION_FIELDS = tuple(s[0] for s in REPORT_SECTIONS)
# Cue kinds; where two cues match the same text equally long, the earlier kind wins.
_CUE_KINDS = ("pseudo", "uncertainty", "hypothetical", "negation")
_STATUS_OF_KIND: dict[str, MentionStatus] = {
    "hypothetical": "hypothetical", "uncertainty": "uncertain", "negation": "negated"}
_RANK = {"present": 3, "uncertain": 2, "negated": 1}

# Matching runs on an ASCII-lowercased copy of the text (same length, so offsets hold)
# with lowercased patterns: several times faster than re.IGNORECASE.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# An English pattern may not end inside a word. Unlike \b this lets patterns that end in
# punctuation ("non-", "(-)") attach to the next word.
_EDGE_END = r"(?:(?<!\w)|(?!\w))"
# Patterns that can only start with a word character share one hoisted "not inside a word"
# check, so the many alternatives are tried only at word starts (the big speed-up).
_WORD_INITIAL = re.compile(r"(?:\(\?:|\()*(?:[a-z0-9]|\\[dw])")


@dataclass(frozen=True)
class ClassLabel:
    """What a report says about one class, with the evidence that decided it."""

    status: Status
    evidence: str | None = None  # the mention text (None when absent)
    span: tuple[int, int] | None = None  # character offsets of `evidence` in the report
    cue: str | None = None  # the negation/uncertainty cue text, when one decided
    cue_span: tuple[int, int] | None = None


@dataclass(frozen=True)
class Mention:
    """One mention of a class and the context decision for it."""

    cls: str
    status: MentionStatus
    span: tuple[int, int]
    text: str
    cue: str | None = None
    cue_span: tuple[int, int] | None = None
    cue_role: Literal["pre", "post", "list"] | None = None  # list: inherited across a list


@dataclass(frozen=True)
class _Cue:
    start: int
    end: int
    kind: str
    pre: bool
    post: bool


@dataclass(frozen=True)
class _Scanner:
    """Leftmost-longest matching over tagged patterns.

    One fast union finds where the next match starts; every tag's own pattern is then tried
    at that place and the longest match wins (ties: the union's pick), so "caries detection
    dye" is the blocker, not caries, whichever pattern source is longer.
    """

    union: re.Pattern[str]
    tag_of_group: dict[str, int]
    by_tag: tuple[tuple[int, re.Pattern[str]], ...]
    preferred: frozenset[int] = frozenset()  # tags that win a tie on the very same text

    def scan(self, low: str) -> list[tuple[int, int, int]]:
        out: list[tuple[int, int, int]] = []
        pos = 0
        while (m := self.union.search(low, pos)) is not None:
            start, end = m.span()
            tag = self.tag_of_group[cast(str, m.lastgroup)]
            for other, rx in self.by_tag:
                longer = rx.match(low, start) if other != tag else None
                if longer is not None and (longer.end() > end or (
                        longer.end() == end and other in self.preferred
                        and tag not in self.preferred)):
                    end, tag = longer.end(), other
            out.append((start, end, tag))
            pos = end
        return out


@dataclass(frozen=True)
class MapMention:
    """One fine-grained anomaly name of the label map, as a rules-v2 mention pattern."""

    cls: str  # the class the map files the anomaly under
    anomaly: str  # the map's English name (the row)
    name: str  # the name in this language
    pattern: str | None  # its pattern (mentions_*.json syntax); None: too generic as a whole
    generic: tuple[str, ...] = ()  # derived forms left out as too generic


@dataclass(frozen=True)
class _Rules:
    language: str
    version: str
    mentions: _Scanner  # tags: class index, -1 for blockers
    head_rx: tuple[tuple[int, re.Pattern[str]], ...]  # (class index, gap pattern with head)
    cues: _Scanner  # tags: index into _CUE_KINDS
    cue_patterns: tuple[tuple[tuple[re.Pattern[str], bool, bool], ...], ...]  # per kind
    boundary_rx: re.Pattern[str]
    joiner_rx: re.Pattern[str]  # text between two mentions that makes them one list
    or_list_rx: re.Pattern[str]  # clause opening that lets a pre cue cross soft boundaries
    soft_rx: re.Pattern[str]  # the soft boundaries (commas)
    or_gap_rx: re.Pattern[str]  # in such an "or" list, what may stand between two mentions
    unit: str  # "words" or "chars": how cue-to-mention distance is counted
    pre_scope: int
    post_scope: int
    section_rx: re.Pattern[str]
    section_of_title: dict[str, str]


# --------------------------------------------------------------------------- rule files


def _rules_dir() -> Any:
    return resources.files("eval_harness.labels").joinpath("rules")


def _load(name: str) -> Any:
    return json.loads(_rules_dir().joinpath(name).read_text("utf-8"))


def _version(rules: str | None) -> str:
    version = RULES_VERSION if rules is None else rules
    if version not in _MANIFEST_FILES:
        raise ValueError(f"rules must be one of {RULES_VERSIONS}, not {rules!r}")
    return version


@cache
def _manifest(version: str = RULES_VERSION) -> dict[str, Any]:
    manifest = _load(_MANIFEST_FILES[version])
    if manifest.get("version") != version:
        raise RuntimeError(f"labels/rules/{_MANIFEST_FILES[version]} has version "
                           f"{manifest.get('version')!r}, expected {version!r}")
    return manifest


def _label_map(version: str) -> AnomalyMap | None:
    """The label map a version derives mentions from (None: hand-written rules only)."""
    name = _manifest(version).get("label_map")
    return None if name is None else load_anomaly_map(name)


@cache
def rules_sha256(rules: str | None = None) -> str:
    """sha256 over the version's manifest and every rule file it lists, in its order, and
    the content hash of the label map it derives mentions from, if any."""
    version = _version(rules)
    digest = hashlib.sha256()
    for name in [_MANIFEST_FILES[version], *_manifest(version)["files"]]:
        digest.update(name.encode() + b"\0" + _rules_dir().joinpath(name).read_bytes() + b"\0")
    amap = _label_map(version)
    if amap is not None:  # rules-v1's digest is unchanged: it has no label map
        digest.update(f"label-map:{amap.version}\0{amap.sha256}\0".encode())
    return digest.hexdigest()


def rules_id(rules: str | None = None) -> str:
    """Short identity for results: version plus the first 12 hex of the rules hash, and for
    a version derived from a label map, "/" and the map's id (``rules-v2+<12 hex>/code-v1+<12
    hex>``)."""
    version = _version(rules)
    amap = _label_map(version)
    base = f"{version}+{rules_sha256(version)[:12]}"
    return base if amap is None else f"{base}/{amap.id}"


def _normalise_language(language: str) -> str:
    try:
        return _LANG_ALIASES[language.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"language must be 'en' or 'cn', not {language!r}") from None


def _body(pattern: str) -> str:
    """Lowercase ASCII letters outside escapes; a literal space outside [...] matches \\s+."""
    out: list[str] = []
    in_class = escaped = False
    for ch in pattern:
        if escaped:
            out.append(ch)  # keep \W, \S, \D ... as written
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif ch == " " and not in_class:
            out.append(r"\s+")
        else:
            in_class = (in_class or ch == "[") and ch != "]"
            out.append(ch.translate(_ASCII_LOWER))
    return "".join(out).replace("(?p<", "(?P<")  # the named-group syntax is case-sensitive


def _check(pattern: str, source: str, head: bool = False) -> None:
    try:
        groups = re.compile(pattern).groups
    except re.error as err:
        raise RuntimeError(f"labels/rules/{source}: bad pattern {pattern!r}: {err}") from None
    if groups != int(head):
        raise RuntimeError(f"labels/rules/{source}: use (?:...) groups only: {pattern!r}")


def _union(items: list[tuple[str, int]], language: str) -> tuple[re.Pattern[str], dict[str, int]]:
    """One regex over many (pattern, tag) items; ``m.lastgroup`` names the item that matched.

    Python's alternation takes the first branch that matches at the leftmost position, so
    longer sources go first (a longer pattern is, almost always, the longer phrase: "no
    obvious cause" before "no"); equal lengths keep the given order. Each branch ends in an
    empty named group: a capture around the whole branch makes matching ~5x slower.
    """
    order = sorted(range(len(items)), key=lambda i: -len(items[i][0]))
    word: list[str] = []
    other: list[str] = []
    tags: dict[str, int] = {}
    for n, i in enumerate(order):
        body = _body(items[i][0])
        tags[f"g{n}"] = items[i][1]
        if language == "en":
            alt = f"(?:{body}){_EDGE_END}(?P<g{n}>)"
            (word if _WORD_INITIAL.match(body) else other).append(alt)
        else:  # Chinese has no word boundaries: '龋' must match inside '深龋坏'
            other.append(f"(?:{body})(?P<g{n}>)")
    parts = ([r"(?<!\w)(?:" + "|".join(word) + ")"] if word else []) + other
    return re.compile("|".join(parts) or r"(?!)"), tags


def _scanner(items: list[tuple[str, int]], language: str) -> _Scanner:
    union, tag_of_group = _union(items, language)
    tags = list(dict.fromkeys(t for _, t in items))
    by_tag = tuple((t, _union([i for i in items if i[1] == t], language)[0]) for t in tags)
    return _Scanner(union, tag_of_group, by_tag)


def _mention_items(language: str, version: str
                   ) -> tuple[list[tuple[str, int]], list[tuple[int, re.Pattern[str]]],
                              tuple[MapMention, ...]]:
    """A version's hand-written mention items ((pattern, tag): class index, -1 for blockers,
    less what map_mentions.json drops), its gap patterns with a head, and its map mentions
    (checked patterns; ``pattern`` None for a name too generic as a whole)."""
    manifest = _manifest(version)
    mentions = _load(f"mentions_{language}.json")
    source = f"mentions_{language}.json"
    unknown = set(mentions["classes"]).difference(CLASSES)
    if unknown:
        raise RuntimeError(f"labels/rules/{source}: not COde classes: {sorted(unknown)}")
    derived = map_mentions(language, version)
    drop: dict[str, list[str]] = {}
    if "map_mentions.json" in manifest["files"]:
        drop = _load("map_mentions.json")["drop"][language]
        for key, patterns in drop.items():
            listed = mentions["blockers"] if key == "blockers" else mentions["classes"].get(key)
            stale = [p for p in patterns if listed is None or p not in listed]
            if stale:
                raise RuntimeError(f"labels/rules/map_mentions.json drops {key} patterns that "
                                   f"{source} lacks: {stale}")

    items: list[tuple[str, int]] = [(p, -1) for p in mentions.get("blockers", [])
                                    if p not in drop.get("blockers", [])]
    heads: list[tuple[int, re.Pattern[str]]] = []
    for ci, cls in enumerate(CLASSES):
        for p in mentions["classes"].get(cls, []):
            if p in drop.get(cls, []):
                continue
            if "(?P<head>" in p:
                _check(p, source, head=True)
                heads.append((ci, _union([(p, ci)], language)[0]))
            else:
                _check(p, source)
                items.append((p, ci))
    for d in derived:
        if d.pattern is not None:
            _check(d.pattern, "map_mentions.json")
    return items, heads, derived


@cache
def _rules(language: str, version: str = RULES_VERSION) -> _Rules:
    cues = _load("cues.json")[language]
    items, heads, derived = _mention_items(language, version)
    # Map names get tags of their own (class index + len(CLASSES)) so that they win ties.
    items += [(d.pattern, CLASSES.index(d.cls) + len(CLASSES))
              for d in derived if d.pattern is not None]

    cue_items: list[tuple[str, int]] = []
    cue_patterns = []
    for k, kind in enumerate(_CUE_KINDS):
        pre = cues["pseudo"] if kind == "pseudo" else cues[f"{kind}_pre"]
        post = cues["pseudo"] if kind == "pseudo" else cues[f"{kind}_post"]
        unique = list(dict.fromkeys([*pre, *post]))
        for p in unique:
            _check(p, "cues.json")
        cue_items += [(p, k) for p in unique]
        cue_patterns.append(tuple((re.compile(_body(p)), p in pre, p in post) for p in unique))

    section_rx, section_of_title = _section_regex(language)
    scope = cues["scope"]
    scanner = _scanner(items, language)
    preferred = frozenset(range(len(CLASSES), 2 * len(CLASSES)))
    return _Rules(
        language=language, version=version,
        mentions=_Scanner(scanner.union, scanner.tag_of_group, scanner.by_tag, preferred),
        head_rx=tuple(heads),
        cues=_scanner(cue_items, language), cue_patterns=tuple(cue_patterns),
        boundary_rx=_union([(p, 0) for p in cues["boundaries"]], language)[0],
        joiner_rx=re.compile(cues["list_joiner"], re.IGNORECASE),
        or_list_rx=re.compile(cues["or_list"]["opening"], re.IGNORECASE),
        soft_rx=re.compile(cues["or_list"]["crosses"]),
        or_gap_rx=re.compile(cues["or_list"]["gap"], re.IGNORECASE),
        unit=scope["unit"], pre_scope=int(scope["pre"]), post_scope=int(scope["post"]),
        section_rx=section_rx, section_of_title=section_of_title,
    )


# ------------------------------------------------------------- mentions from the label map

_ROMAN = {"i": ("i", "Ⅰ", "1", "一"), "ii": ("ii", "Ⅱ", "2", "二"),
          "iii": ("iii", "Ⅲ", "3", "三"), "iv": ("iv", "Ⅳ", "4", "四")}
_OCCLUSION_CN = re.compile(r"(?<![上下])颌(?!骨)")  # 颌 as occlusion, not 上颌/下颌/颌骨 (jaw)


def _numeral(word: str, language: str) -> str | None:
    forms = _ROMAN.get(word)
    if forms is None:
        return None
    return "(?:" + "|".join(forms if language == "cn" else forms[:3]) + ")"


def _en_word(word: str, last: bool) -> str:
    roman = _numeral(word, "en")
    if roman is not None:
        return roman
    if word == "tooth":
        return "(?:tooth|teeth)"
    if word.endswith("bite") and len(word) > 4:
        word = re.escape(word[:-4]) + "[-\\s]?bite"
    else:
        word = re.escape(word)
    if not last:
        return word
    if word.endswith("y"):
        return word[:-1] + "(?:y|ies)"
    return word + "(?:s|es)?"


def _en_pattern(words: list[str]) -> str:
    return "[-\\s]+".join(_en_word(w, k == len(words) - 1) for k, w in enumerate(words))


def _cn_pattern(name: str) -> str:
    out: list[str] = []
    for part in re.findall(r"[A-Za-z0-9]+|[^A-Za-z0-9]+", name):
        if part.isascii():  # ASCII and Chinese parts alternate; spaces may stand between
            low = part.translate(_ASCII_LOWER)
            out.append(_numeral(low, "cn") or re.escape(low))
        else:
            out.append(_OCCLUSION_CN.sub("[颌𬌗合殆]", re.escape(part)))
    return "\\s*".join(out)


def _derive(name: str, language: str, leading: list[str],
            generic: dict[str, str]) -> tuple[str | None, tuple[str, ...]]:
    """The pattern of one map name (None when every form is too generic) and the forms
    left out as too generic."""
    if language == "en":
        words = re.split(r"[-\s]+", name.strip().translate(_ASCII_LOWER))
        full, lead = " ".join(words), None
        if len(words) > 1 and words[0] in leading:
            lead, words = words[0], words[1:]
        short = " ".join(words)
        skipped = tuple(f for f in dict.fromkeys([full, short]) if f in generic)
        if full in generic:
            return None, skipped
        body = _en_pattern(words)
        if lead is None:
            return body, skipped
        lead_rx = _en_word(lead, False) + "(?:'s|’s)?[-\\s]+"
        return (lead_rx + body if short in generic else f"(?:{lead_rx})?{body}"), skipped
    name = name.strip()
    lead = next((w for w in leading if name.startswith(w) and len(name) > len(w)), None)
    short = name[len(lead):] if lead else name
    skipped = tuple(f for f in dict.fromkeys([name, short]) if f in generic)
    if name in generic:
        return None, skipped
    if lead is None:
        return _cn_pattern(name), skipped
    lead_rx = re.escape(lead)
    body = _cn_pattern(short)
    return (lead_rx + body if short in generic else f"(?:{lead_rx})?{body}"), skipped


def map_mentions(language: str = "en", rules: str | None = None,
                 anomaly_map: AnomalyMap | None = None) -> tuple[MapMention, ...]:
    """The mentions a rules version derives from its label map, one per anomaly name.

    Empty for a version without a label map (rules-v1). ``anomaly_map`` replaces the
    version's own map (to see what another map would give; the labeler itself always uses
    the map its manifest names). Names are spelled out as patterns by the grammar in
    labels/rules/map_mentions.json; forms listed there as too generic are left out.
    """
    language, version = _normalise_language(language), _version(rules)
    amap = anomaly_map if anomaly_map is not None else _label_map(version)
    if amap is None or "map_mentions.json" not in _manifest(version)["files"]:
        return ()
    spec = _load("map_mentions.json")
    leading = [w.translate(_ASCII_LOWER) for w in spec["optional_leading_words"][language]]
    generic: dict[str, str] = spec["too_generic"][language]
    names = ([(en, en) for en in amap.names_en.values()] if language == "en"
             else [(cn, en) for cn, en in amap.names_cn.items()])
    out: list[MapMention] = []
    used: set[str] = set()
    for name, en in names:
        pattern, skipped = _derive(name, language, leading, generic)
        used.update(skipped)
        if pattern is not None or skipped:
            out.append(MapMention(cls=amap.to_class[en.casefold()], anomaly=en, name=name,
                                  pattern=pattern, generic=skipped))
    stale = sorted(set(generic).difference(used))
    if stale and anomaly_map is None:
        raise RuntimeError(f"labels/rules/map_mentions.json: too_generic forms that "
                           f"{amap.version} does not derive ({language}): {stale}")
    return tuple(out)


def _section_regex(language: str) -> tuple[re.Pattern[str], dict[str, str]]:
    titles = _load("sections.json")[language]
    unknown = set(titles).difference(_SECTION_FIELDS)
    if unknown:
        raise RuntimeError(f"labels/rules/sections.json ({language}): unknown {sorted(unknown)}")
    of_title = {t.casefold(): field for field, names in titles.items() for t in names}
    names = "|".join(re.escape(t) for t in sorted(of_title, key=len, reverse=True))
    # Optional markdown before the title (#, >, *, -, bullets, "1.", bold) and a colon or the
    # end of the line after it. Only at a line start, so inline "Diagnosis:" stays in place.
    rx = re.compile(
        r"^[ \t]*(?:[#>*\-•·][ \t]*)*(?:\d{1,2}[.)、][ \t]*)?(?:\*\*|__)?[ \t]*"
        rf"(?P<title>{names})[ \t]*(?:\*\*|__)?[ \t]*(?:[:：][ \t]*(?:\*\*|__)?|(?=\r?\n|\Z))",
        re.IGNORECASE | re.MULTILINE)
    return rx, of_title


# ------------------------------------------------------------------------------ labeling


@lru_cache(maxsize=4096)
def _cue_roles(language: str, version: str, kind: int, cue_text: str) -> tuple[bool, bool]:
    """(pre, post): every pattern of the kind that matches the whole cue lends its roles,
    so "cannot be ruled out" acts backwards even where a pre-cue pattern also matches it."""
    pre = post = False
    for rx, is_pre, is_post in _rules(language, version).cue_patterns[kind]:
        if rx.fullmatch(cue_text):
            pre, post = pre or is_pre, post or is_post
    return pre, post


def _find_cues(low: str, rules: _Rules) -> list[_Cue]:
    out = []
    for start, end, k in rules.cues.scan(low):
        pre, post = _cue_roles(rules.language, rules.version, k, low[start:end])
        out.append(_Cue(start, end, _CUE_KINDS[k], pre, post))
    return out


def _find_mentions(low: str, rules: _Rules) -> list[tuple[int, int, int, int, int]]:
    """(start, end, tag, head start, head end) of every mention, in text order: the tag of
    the scanner item that matched (class index, + len(CLASSES) for a map name; blockers only
    claim their span), or the class index of a gap pattern."""
    found: list[tuple[int, int, int, int, int]] = []
    taken: list[tuple[int, int]] = []
    for start, end, tag in rules.mentions.scan(low):
        taken.append((start, end))
        if tag >= 0:
            found.append((start, end, tag, start, end))
    # Gap patterns ("gingiva shows no redness") may overlap other mentions with their lead-in
    # words, but not with their head word; the head is where cue scopes are measured from.
    for ci, rx in rules.head_rx:
        for m in rx.finditer(low):
            hs, he = m.span("head")
            if all(he <= ts or hs >= te for ts, te in taken):
                found.append((m.start(), m.end(), ci, hs, he))
                taken.append((hs, he))
    return sorted(found)


def _gap(text: str, unit: str) -> int:
    return len(text.split()) if unit == "words" else len("".join(text.split()))


def _decide(cues: list[_Cue]) -> _Cue | None:
    """The cue that decides a mention: hypothetical > negation > uncertainty, then nearest.

    Negation beats a hedge as in the CheXpert labeler ("no lesions suggestive of caries" is
    negated); hedges that contain a negation word ("cannot be ruled out") are uncertainty
    cues of their own and win over "not" by being the longer match.
    """
    for kind in ("hypothetical", "negation", "uncertainty"):
        for c in cues:
            if c.kind == kind:
                return c
    return None


def find_mentions(text: str | None, language: str = "en",
                  rules: str | None = None) -> list[Mention]:
    """Every class mention in `text` with its context decision, in text order.

    `rules`: a version of RULES_VERSIONS (default RULES_VERSION)."""
    return list(_find_cached(text or "", _normalise_language(language), _version(rules)))


@lru_cache(maxsize=8192)
def _find_cached(text: str, language: str, version: str) -> tuple[Mention, ...]:
    # A report is read whole for clinical F1 and again for its Diagnosis section (which
    # filters the same mentions): scan it once. Mentions are frozen, so sharing is safe.
    return tuple(_find(text, _rules(language, version)))


def _find(text: str | None, rules: _Rules) -> list[Mention]:
    text = text or ""
    low = text.translate(_ASCII_LOWER)
    found = _find_mentions(low, rules)
    out: list[Mention] = []
    for (s, e, tag, _hs, _he), (cue, role) in zip(found, _contexts(text, low, found, rules),
                                                   strict=True):
        out.append(Mention(
            cls=CLASSES[tag % len(CLASSES)],
            status="present" if cue is None else _STATUS_OF_KIND[cue.kind],
            span=(s, e), text=text[s:e],
            cue=None if cue is None else text[cue.start:cue.end],
            cue_span=None if cue is None else (cue.start, cue.end), cue_role=role))
    return out


def _contexts(text: str, low: str, found: list[tuple[int, int, int, int, int]],
              rules: _Rules) -> list[tuple[_Cue | None, Literal["pre", "post", "list"] | None]]:
    """The deciding cue (None: affirmed) and its role for each of `found` (mentions as
    _find_mentions gives them, in text order; `low` is `text` ASCII-lowercased). Whatever
    the tags mean, the decision depends only on the spans, the cues and the boundaries."""
    if not found:
        return []
    cues = _find_cues(low, rules)
    cue_starts = [c.start for c in cues]
    bounds = [m.span() for m in rules.boundary_rx.finditer(low)]
    bound_starts = [s for s, _ in bounds]
    bound_ends = [e for _, e in bounds]

    starts = [f[0] for f in found]
    # Starts of the boundaries a list may not run across (all but commas).
    hard = [a for a, b in bounds if not rules.soft_rx.fullmatch(low, a, b)]
    out: list[tuple[_Cue | None, Literal["pre", "post", "list"] | None]] = []
    prev_end, prev_cue = -1, None  # end of the previous mention and its pre/list cue
    for k, (s, e, _tag, hs, _he) in enumerate(found):
        # The clause: from the last boundary ending at or before the head, to the end of the
        # first boundary at or after the mention (so a trailing "?" can act as a post cue).
        i = bisect_right(bound_ends, hs) - 1
        clause_start = bound_ends[i] if i >= 0 else 0
        or_list = bool(rules.or_list_rx.match(low, clause_start, hs))
        if or_list:
            # A negated "or" list runs across commas: "no pain, mobility, or gingival
            # swelling"; the word scope still limits how far back the cue may be.
            while i >= 0 and rules.soft_rx.fullmatch(low, *bounds[i]):
                i -= 1
                clause_start = bound_ends[i] if i >= 0 else 0
        j = bisect_left(bound_starts, e)
        clause_end = bounds[j][1] if j < len(bounds) else len(text)

        pre = [c for c in reversed(cues[bisect_left(cue_starts, clause_start):
                                        bisect_left(cue_starts, hs)])  # nearest first
               if c.pre and c.end <= hs and _gap(text[c.end:hs], rules.unit) <= rules.pre_scope
               and _reaches(c.end, k, found, starts, text, rules, hard, or_list)]
        post = [c for c in cues[bisect_left(cue_starts, e):bisect_left(cue_starts, clause_end)]
                if c.post and _gap(text[e:c.start], rules.unit) <= rules.post_scope]

        role: Literal["pre", "post", "list"] | None = None
        cue = _decide(pre + post)
        if cue is not None:
            role = "pre" if cue in pre else "post"
        elif prev_cue is not None and _is_list(prev_end, s, text, rules, hard):
            cue, role = prev_cue, "list"  # "no caries, gingivitis or pulpitis"
        out.append((cue, role))
        prev_end, prev_cue = e, (cue if role in ("pre", "list") else None)
    return out


def _is_list(a: int, b: int, text: str, rules: _Rules, hard: list[int],
             or_list: bool = False) -> bool:
    """Whether text[a:b], between two mentions, joins them into one list."""
    if b <= a:
        return True  # overlapping mentions ("gingiva shows no redness" / "redness")
    if bisect_left(hard, b) != bisect_left(hard, a):
        return False  # a clause boundary other than a comma lies between
    gap = text[a:b]
    return bool(rules.joiner_rx.match(gap) or (or_list and rules.or_gap_rx.match(gap)))


def _reaches(cue_end: int, k: int, found: list[tuple[int, int, int, int, int]],
             starts: list[int], text: str, rules: _Rules, hard: list[int],
             or_list: bool) -> bool:
    """A pre cue reaches mention k past other mentions only through a list of them.

    "no caries or gingivitis" negates both; in "no gingival swelling in the implant area"
    the negation stops at the first mention, so the implant is not negated.
    """
    chain = found[bisect_left(starts, cue_end):k + 1]
    return all(_is_list(x[1], y[0], text, rules, hard, or_list) for x, y in pairwise(chain))


def in_sections(span: tuple[int, int], text: str | None, sections: Iterable[str],
                language: str = "en") -> bool:
    """Whether `span` of `text` lies inside one of the named report sections (field names of
    REPORT_SECTIONS, e.g. ``["diagnosis"]``; a section the report lacks holds nothing)."""
    return _inside(span, _section_keep(text or "", tuple(sections), language))


def _inside(span: tuple[int, int], keep: Iterable[tuple[int, int]]) -> bool:
    return any(a <= span[0] and span[1] <= b for a, b in keep)


@lru_cache(maxsize=1024)
def _section_keep(text: str, wanted: tuple[str, ...], language: str) -> tuple[tuple[int, int], ...]:
    bad = set(wanted).difference(_SECTION_FIELDS)
    if bad:
        raise ValueError(f"unknown report sections {sorted(bad)}; use {_SECTION_FIELDS}")
    spans = section_spans(text, language)
    return tuple(sp for f in wanted for sp in spans.get(f, []))


def label_report(text: str | None, language: str = "en",
                 sections: Iterable[str] | None = None,
                 rules: str | None = None) -> dict[str, ClassLabel]:
    """For each of the six classes: present / uncertain / negated / absent, with evidence.

    `sections` restricts labeling to those report sections (field names of REPORT_SECTIONS,
    e.g. ``["diagnosis"]``); a requested section the report lacks adds nothing. Offsets always
    refer to the full `text`. ``None`` or empty text labels every class absent. `rules`: a
    version of RULES_VERSIONS (default RULES_VERSION).
    """
    text = text or ""
    mentions = find_mentions(text, language, rules)
    if sections is not None:
        keep = _section_keep(text, tuple(sections), language)
        mentions = [m for m in mentions if _inside(m.span, keep)]
    best: dict[str, Mention] = {}
    for m in mentions:  # text order, so among equals the first mention is the evidence
        if m.status != "hypothetical" and (
                m.cls not in best or _RANK[m.status] > _RANK[best[m.cls].status]):
            best[m.cls] = m
    labels: dict[str, ClassLabel] = {}
    for cls in CLASSES:
        m = best.get(cls)
        labels[cls] = ClassLabel("absent") if m is None else ClassLabel(
            cast(Status, m.status), m.text, m.span, m.cue, m.cue_span)
    return labels


# ------------------------------------------------------------------------------ sections


def section_spans(report: str | None, language: str = "en") -> dict[str, list[tuple[int, int]]]:
    """Character spans of each section's content (title stripped), keyed by field name.

    A section title counts only at the start of a line; its content runs to the next title.
    A field that occurs more than once keeps every occurrence, in order.
    """
    return {field: list(spans)
            for field, spans in _section_spans(report or "", _normalise_language(language))}


_Spans = tuple[tuple[int, int], ...]


@lru_cache(maxsize=1 << 14)
def _section_spans(report: str, language: str) -> tuple[tuple[str, _Spans], ...]:
    # Cached: the six-class accuracy, section completeness and the diagnosis metrics each
    # split the same generated report. Immutable, so no caller can change another's copy.
    rules = _rules(language)
    heads = list(rules.section_rx.finditer(report))
    out: dict[str, list[tuple[int, int]]] = {}
    for k, m in enumerate(heads):
        start, end = m.end(), heads[k + 1].start() if k + 1 < len(heads) else len(report)
        body = report[start:end]
        lead = len(body) - len(body.lstrip())
        start, end = start + lead, start + len(body.rstrip())
        field = rules.section_of_title[m.group("title").casefold()]
        out.setdefault(field, []).append((start, max(start, end)))
    return tuple((field, tuple(spans)) for field, spans in out.items())


def split_sections(report: str | None, language: str = "en") -> dict[str, str]:
    """The sections found in a report: field name -> stripped text (repeats joined by "\\n").

    Sections the report lacks are missing from the result; present-but-empty ones map to "".
    """
    report = report or ""
    return {field: "\n".join(report[a:b] for a, b in spans)
            for field, spans in section_spans(report, language).items()}
