"""nltk's METEOR, the same numbers, computed once per word and once per reference.

``nltk.translate.meteor_score.meteor_score`` (nltk 3.9-3.10) aligns a hypothesis to a
reference in three stages (exact words, Porter stems, WordNet synonyms), counts
chunks and returns ``(1 - gamma * (chunks / matches) ** beta) * fmean``. Its cost is
the synonym stage: for every still-unmatched hypothesis word it calls
``wordnet.synsets`` and builds the set of lemma names again, report after report.

``Meteor`` does exactly those stages, with memos that are pure functions of their
key (so nothing can change a score):

- a word's Porter stem;
- a word's synonym set: the lemma names without ``_`` over ``wordnet.synsets(word)``,
  plus the word itself, as ``_enum_wordnetsyn_match`` builds it;
- a reference's lower-cased tokens, stems and word positions (the same 600
  references are scored against every run), and which hypothesis words can match it
  at all; the others are skipped (they match nothing and take nothing from others).

Whether a word can match a reference by synonym is first decided on WordNet's lemma
index: a synonym match needs a synset of the word's stem that lists a reference
stem as a lemma, and the index lists every synset under each of its lemmas
(``benchmarks/bench_meteor.py --check-wordnet-index`` checks all 117,659 synsets).
Only words passing that test get their synonym set built, so most words never cost
a synset parse.

Alignment choices follow nltk's order, which decides the chunks: each stage walks
the unmatched hypothesis words from last to first and takes, among the unmatched
reference words that match, the one at the highest position. The arithmetic is
nltk's, operation for operation, so the float is the same float
(``tests/test_meteor_fast.py`` checks ``==`` on published reports;
``benchmarks/bench_meteor.py`` on all of them).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain, pairwise
from typing import Any

ALPHA, BETA, GAMMA = 0.9, 3.0, 0.5  # nltk's defaults (and the published convention)


@dataclass(frozen=True)
class PreparedReference:
    """What METEOR needs of a reference, independent of any hypothesis."""

    words: tuple[str, ...]  # lower-cased tokens (nltk's ``preprocess=str.lower``)
    stems: tuple[str, ...]  # Porter stems of ``words``
    positions: dict[str, tuple[int, ...]]  # word -> its positions, ascending
    stem_set: frozenset[str]  # set(stems)
    # Memo of which hypothesis words can match here at all (see Meteor.align).
    judged: set[str] = field(default_factory=set, compare=False, repr=False)
    relevant: set[str] = field(default_factory=set, compare=False, repr=False)
    lemma_keys: frozenset[tuple[str, int]] | None = field(default=None, compare=False,
                                                          repr=False)


class Meteor:
    """METEOR with nltk's defaults; ``wordnet`` is nltk's WordNet reader (or any object
    with its ``synsets``), ``stemmer`` an object with ``stem`` (nltk's PorterStemmer)."""

    def __init__(self, wordnet: Any, stemmer: Any = None, *,
                 max_references: int = 1 << 14) -> None:
        if stemmer is None:
            from nltk.stem.porter import PorterStemmer

            stemmer = PorterStemmer()
        self._wordnet = wordnet
        self._stemmer = stemmer
        self._stems: dict[str, str] = {}
        self._synonyms: dict[str, frozenset[str]] = {}
        self._others: dict[str, frozenset[str]] = {}
        self._keys: dict[str, frozenset[tuple[str, int]] | None] = {}
        self._lemma_keys: dict[str, frozenset[tuple[str, int]]] = {}
        self._info: dict[str, tuple[str, frozenset[tuple[str, int]] | None]] = {}
        self._index: Any = False  # nltk's lemma index, looked up at first use
        self._references: OrderedDict[tuple[str, ...], PreparedReference] = OrderedDict()
        self._max_references = max_references

    # ----------------------------------------------------------------- memos

    def stem(self, word: str) -> str:
        try:
            return self._stems[word]
        except KeyError:
            stem = self._stems[word] = self._stemmer.stem(word)
            return stem

    def synonyms(self, word: str) -> frozenset[str]:
        """The set ``_enum_wordnetsyn_match`` builds for a hypothesis word."""
        try:
            return self._synonyms[word]
        except KeyError:
            names = set(chain.from_iterable(
                (lemma.name() for lemma in synset.lemmas() if lemma.name().find("_") < 0)
                for synset in self._wordnet.synsets(word)))
            names.add(word)
            found = self._synonyms[word] = frozenset(names)
            return found

    def other_synonyms(self, word: str) -> frozenset[str]:
        """``synonyms(word)`` without ``word`` itself."""
        try:
            return self._others[word]
        except KeyError:
            found = self._others[word] = self.synonyms(word) - {word}
            return found

    def synset_keys(self, word: str) -> frozenset[tuple[str, int]] | None:
        """``(pos, offset)`` of every synset ``wordnet.synsets(word)`` returns, found the
        way ``synsets`` finds them (morphy, then the lemma index) without reading or
        building the synsets; None when the reader lacks nltk's index."""
        try:
            return self._keys[word]
        except KeyError:
            pass
        wordnet, index = self._wordnet, self._lemma_index()
        if index is None:
            found = None
        else:
            from nltk.corpus.reader.wordnet import POS_LIST

            lemma = word.lower()
            found = frozenset((pos, offset) for pos in POS_LIST
                              for form in wordnet._morphy(lemma, pos, True)
                              for offset in index.get(form, {}).get(pos, ()))
        self._keys[word] = found
        return found

    def lemma_keys(self, name: str) -> frozenset[tuple[str, int]]:
        """``(pos, offset)`` of every synset listing ``name`` (any case) as a lemma:
        WordNet's index lists each synset under each of its lemmas, lower-cased, so a
        synset with a lemma named ``name`` is among these."""
        try:
            return self._lemma_keys[name]
        except KeyError:
            from nltk.corpus.reader.wordnet import POS_LIST

            entry = (self._lemma_index() or {}).get(name.lower(), {})
            found = self._lemma_keys[name] = frozenset(
                (pos, offset) for pos in POS_LIST for offset in entry.get(pos, ()))
            return found

    def _lemma_index(self) -> dict[str, dict[str, list[int]]] | None:
        if self._index is False:
            index = getattr(self._wordnet, "_lemma_pos_offset_map", None)
            usable = isinstance(index, dict) and hasattr(self._wordnet, "_morphy")
            self._index = index if usable else None
        return self._index

    def _word_info(self, word: str) -> tuple[str, frozenset[tuple[str, int]] | None]:
        """A lower-cased hypothesis word's stem and its stem's ``synset_keys``."""
        try:
            return self._info[word]
        except KeyError:
            stem = self.stem(word)
            found = self._info[word] = (stem, self.synset_keys(stem))
            return found

    def _judge(self, words: set[str], ref: PreparedReference) -> None:
        """Record which of ``words`` (lower-cased hypothesis words) can match anything
        in ``ref`` in some stage. Exact and stem matches need the word's stem among
        the reference's stems (a word equal to a reference word has that word's stem);
        a synonym match needs one of its stem's other synonyms there. That synonym
        set is built only when a synset of the stem lists one of the reference's
        stems as a lemma: a cheap necessary condition (see ``lemma_keys``)."""
        info, word_info, others = self._info, self._word_info, self.other_synonyms
        stem_set, ref_keys = ref.stem_set, self._ref_lemma_keys(ref)
        add = ref.relevant.add
        for word in words:
            found = info.get(word)
            stem, keys = found if found is not None else word_info(word)
            if stem in stem_set or (
                    (keys is None or not keys.isdisjoint(ref_keys))
                    and not others(stem).isdisjoint(stem_set)):
                add(word)
        ref.judged.update(words)

    def _ref_lemma_keys(self, ref: PreparedReference) -> frozenset[tuple[str, int]]:
        if ref.lemma_keys is None:
            keys: set[tuple[str, int]] = set()
            for stem in ref.stem_set:
                keys.update(self.lemma_keys(stem))
            object.__setattr__(ref, "lemma_keys", frozenset(keys))
        return ref.lemma_keys

    def prepare(self, reference: Sequence[str]) -> PreparedReference:
        """The reference's hypothesis-independent part, memoised (bounded, LRU)."""
        key = tuple(reference)
        memo = self._references
        try:
            memo.move_to_end(key)
            return memo[key]
        except KeyError:
            pass
        words = tuple(token.lower() for token in key)
        positions: dict[str, list[int]] = {}
        for j, word in enumerate(words):
            positions.setdefault(word, []).append(j)
        stems = tuple(self.stem(w) for w in words)
        prepared = PreparedReference(words, stems, {w: tuple(p) for w, p in positions.items()},
                                     frozenset(stems))
        memo[key] = prepared
        if len(memo) > self._max_references:
            memo.popitem(last=False)
        return prepared

    # ----------------------------------------------------------------- score

    def align(self, hypothesis: Sequence[str],
              reference: Sequence[str] | PreparedReference) -> list[tuple[int, int]]:
        """nltk's ``align_words`` matches, (hypothesis index, reference index), sorted by
        hypothesis index."""
        ref = reference if isinstance(reference, PreparedReference) else self.prepare(reference)
        hyp = list(map(str.lower, hypothesis))
        # A word that can match nothing in the reference in any stage takes nothing
        # from another word: leave it out from the start. Which words are relevant is
        # remembered per reference (set algebra in C for words already judged).
        words = set(hyp)
        new = words - ref.judged
        if new:
            self._judge(new, ref)
        relevant = words & ref.relevant
        if not relevant:
            return []
        match: dict[int, int] = {}
        ref_used = bytearray(len(ref.words))
        # Stage 1, exact: hypothesis words last to first, each taking the highest
        # unmatched reference position of the same word.
        taken: dict[str, int] = {}
        positions = ref.positions
        left: list[int] = []  # unmatched hypothesis indices, descending
        for i in reversed([i for i, word in enumerate(hyp) if word in relevant]):
            word = hyp[i]
            where = positions.get(word)
            if where is not None:
                k = taken.get(word, 0)
                if k < len(where):
                    taken[word] = k + 1
                    j = where[-1 - k]
                    match[i] = j
                    ref_used[j] = 1
                    continue
            left.append(i)
        if left:
            self._stem_and_synonym_stages(hyp, ref, ref_used, left, match)
        return sorted(match.items())

    def _stem_and_synonym_stages(self, hyp: list[str], ref: PreparedReference,
                                 ref_used: bytearray, left: list[int],
                                 match: dict[int, int]) -> None:
        # Stage 2, stems of what is left on both sides (nltk stems the lower-cased word).
        stem_positions: dict[str, list[int]] = {}
        stems = ref.stems
        for j in range(len(stems)):
            if not ref_used[j]:
                stem_positions.setdefault(stems[j], []).append(j)
        stem = self.stem
        left_stems: list[tuple[int, str]] = []  # descending
        for i in left:
            hyp_stem = stem(hyp[i])
            where_list = stem_positions.get(hyp_stem)
            if where_list:
                match[i] = where_list.pop()
            else:
                left_stems.append((i, hyp_stem))
        # Stage 3, WordNet synonyms of the hypothesis stem against the reference stems
        # still unmatched: the highest such reference position wins. A hypothesis stem
        # left after stage 2 equals no unmatched reference stem, so only its other
        # synonyms can match.
        remaining = {w: p for w, p in stem_positions.items() if p}
        others = self.other_synonyms
        ref_stems = ref.stem_set
        for i, hyp_stem in left_stems:
            if not remaining:
                break
            candidates = others(hyp_stem) & ref_stems
            best_j, best_word = -1, ""
            for syn in candidates:
                where_list = remaining.get(syn)
                if where_list and where_list[-1] > best_j:
                    best_j, best_word = where_list[-1], syn
            if best_j >= 0:
                where_list = remaining[best_word]
                where_list.pop()
                if not where_list:
                    del remaining[best_word]
                match[i] = best_j

    def score(self, hypothesis: Sequence[str],
              reference: Sequence[str] | PreparedReference) -> float:
        """``nltk.translate.meteor_score.meteor_score([reference], hypothesis)``."""
        ref = reference if isinstance(reference, PreparedReference) else self.prepare(reference)
        translation_length, reference_length = len(hypothesis), len(ref.words)
        if not translation_length or not reference_length:
            return 0.0  # nltk: ZeroDivisionError -> 0.0
        matches = self.align(hypothesis, ref)
        matches_count = len(matches)
        if not matches_count:
            return 0.0
        chunks = 1
        for (i0, j0), (i1, j1) in pairwise(matches):
            if not (i1 == i0 + 1 and j1 == j0 + 1):
                chunks += 1
        # nltk's single_meteor_score, operation for operation (same floats).
        alpha, beta, gamma = ALPHA, BETA, GAMMA
        precision = float(matches_count) / translation_length
        recall = float(matches_count) / reference_length
        fmean = (precision * recall) / (alpha * precision + (1 - alpha) * recall)
        chunk_count = float(chunks)
        frag_frac = chunk_count / matches_count
        penalty = gamma * frag_frac**beta
        return (1 - penalty) * fmean
