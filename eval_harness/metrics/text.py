"""Report text metrics: BLEU, ROUGE, METEOR and embedding cosine, each a MetricResult.

Every number comes from the field's library (sacrebleu, rouge-score, nltk,
sentence-transformers); this module only chooses the settings, records them in a
signature, and keeps per-sample values aligned with the inputs. METEOR is computed by
``eval_harness.metrics.meteor``: nltk's algorithm with memoised stems, synonym sets
and references, the same float as nltk's own function (tested on published reports).
What depends only on a reference (BLEU n-gram counts, ROUGE tokens and n-grams,
METEOR tokens and stems) is memoised by text, so scoring many runs against the same
references prepares each reference once per process.

Conventions (those of the published COde numbers and the peer harness that re-ran them):
- ``bleu_sentence_mean`` is the mean of ``sacrebleu.sentence_bleu(h, [r]).score / 100``;
- ``meteor`` is ``nltk.translate.meteor_score.meteor_score([r.split()], h.split())``;
- ``cosine`` is all-MiniLM-L6-v2 cosine between hypothesis and reference.
All values are on a 0–1 scale (corpus BLEU too: sacrebleu's score / 100).

Chinese (``language="cn"``): sacrebleu's ``zh`` tokenizer; ROUGE and METEOR on characters
(each CJK character a token, runs of letters/digits one token, punctuation dropped),
because rouge-score's default tokenizer silently drops every non-ASCII character.
A reference that is empty or yields no tokens raises ValueError naming its index:
scoring against nothing would be a silent 0.0.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from eval_harness.metrics import wordnet as wordnet_setup
from eval_harness.metrics.base import MetricResult

if TYPE_CHECKING:
    from sacrebleu.metrics import BLEU

    from eval_harness.metrics.meteor import Meteor, PreparedReference

LANGUAGES = ("en", "cn")
BLEU_ORDER = 4  # sacrebleu's default max n-gram order; the stats layout depends on it
STATS_FIELDS = ("hyp_len", "ref_len",
                *(f"correct_{n}" for n in range(1, BLEU_ORDER + 1)),
                *(f"total_{n}" for n in range(1, BLEU_ORDER + 1)))
WORDNET_MISSING = ("WordNet not found: install Debian wordnet-base + wordnet-sense-index "
                   "(make system-deps) or nltk.download('wordnet')")

# CJK ideographs (+ extensions, compatibility) and kana: one token per character.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_CJK_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


class Embedder(Protocol):
    """What ``cosine`` needs: per-pair cosine and a signature (MiniLMEmbedder is one)."""

    signature: str

    def cosine(self, hypotheses: Sequence[str], references: Sequence[str]) -> list[float]: ...


# --------------------------------------------------------------------------- helpers


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def _check_inputs(hypotheses: Sequence[str], references: Sequence[str], language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    for i, ref in enumerate(references):
        if not isinstance(ref, str) or not ref.strip():
            raise ValueError(f"reference {i} is empty: a report cannot be scored against "
                             "nothing (drop or fix the sample upstream)")
    for i, hyp in enumerate(hypotheses):
        if not isinstance(hyp, str):
            raise ValueError(f"hypothesis {i} is {type(hyp).__name__}, not str "
                             "(use '' for a failed generation: it scores 0)")


def _check_reference_tokens(references: Sequence[str], tokenize: Callable[[str], list[str]],
                            what: str) -> None:
    """A non-empty reference with zero tokens would score 0 whatever the hypothesis."""
    for i, ref in enumerate(references):
        if not tokenize(ref):
            raise ValueError(f"reference {i} yields no tokens for {what} "
                             f"(text starts {ref[:40]!r}); wrong language setting?")


def _summary(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {"std": float(np.std(arr)), "median": float(np.median(arr)), "n": len(values)}


def _mean(values: list[float]) -> float:
    # np.mean (pairwise summation), as the peer harness averages: same rounding at 3 dp.
    return float(np.mean(np.asarray(values, dtype=np.float64)))


def cjk_tokens(text: str) -> list[str]:
    """Character tokens for Chinese: each CJK character, each run of other letters or
    digits (lower-cased); punctuation and spaces dropped."""
    return [tok.lower() for tok in _CJK_TOKEN.findall(text)]


class CJKCharTokenizer:
    """rouge-score tokenizer object (``tokenize(text)``) splitting CJK into characters."""

    def tokenize(self, text: str) -> list[str]:
        return cjk_tokens(text)


# --------------------------------------------------------------------------- BLEU


def _bleu_tokenizer(language: str) -> str:
    return "zh" if language == "cn" else "13a"


@cache
def _bleu_metric(language: str) -> BLEU:
    """Corpus BLEU with sacrebleu's defaults (the object is reused: its tokenizer is
    built once)."""
    from sacrebleu.metrics import BLEU

    return BLEU(tokenize=_bleu_tokenizer(language))


def bleu_sufficient_stats(hypotheses: Sequence[str], references: Sequence[str],
                          language: str = "en") -> list[list[int]]:
    """Per-sample sacrebleu statistics, laid out as ``STATS_FIELDS``: the same lists
    ``BLEU.corpus_score`` sums, so a bootstrap can resample corpus BLEU exactly.

    sacrebleu's ``_extract_corpus_statistics`` (the hook it documents for
    re-computation in statistical tests), step for step: its own tokenizer, then
    clipped n-gram matches and counts. Two things are done faster, with the same
    integers (tested against sacrebleu on published reports): each reference's
    n-gram counts are memoised by text (the same references are scored against
    every run), and a hypothesis's matches are summed over the n-grams it shares with
    the reference only (a set intersection) instead of over all its n-grams.
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    bleu = _bleu_metric(language)
    preprocess, closest = bleu._preprocess_segment, bleu._get_closest_ref_len
    stats = []
    for hyp, ref in zip(hypotheses, references, strict=True):
        ref_ngrams, ref_len = _bleu_reference(ref, language)
        tokens = preprocess(hyp).split()
        hyp_len = len(tokens)
        correct, total = [], []
        for n, ref_n in enumerate(ref_ngrams, start=1):
            hyp_n = Counter(zip(*(tokens[k:] for k in range(n)), strict=False))
            correct.append(sum(min(hyp_n[g], ref_n[g]) for g in hyp_n.keys() & ref_n.keys()))
            total.append(max(0, hyp_len - n + 1))
        stats.append([hyp_len, closest(hyp_len, [ref_len]), *correct, *total])
    if sum(hyp.endswith(" .") for hyp in hypotheses) >= 100:
        _warn_tokenized_periods()  # as sacrebleu's own loop would
    return stats


@lru_cache(maxsize=1 << 14)
def _bleu_reference(reference: str, language: str) -> tuple[tuple[Counter[tuple[str, ...]], ...],
                                                            int]:
    """A reference's n-gram counts, one Counter per order 1..4, and its length, after
    sacrebleu's own preprocessing; memoised by text, read-only once built."""
    tokens = _bleu_metric(language)._preprocess_segment(reference).split()
    return (tuple(Counter(zip(*(tokens[k:] for k in range(n)), strict=False))
                  for n in range(1, BLEU_ORDER + 1)), len(tokens))


def _warn_tokenized_periods() -> None:
    import logging

    log = logging.getLogger("sacrebleu")
    log.warning("That's 100 lines that end in a tokenized period ('.')")
    log.warning("It looks like you forgot to detokenize your test data, which may hurt "
                "your score.")
    log.warning("If you insist your data is detokenized, or don't care, you can suppress "
                "this message with the `force` parameter.")


def bleu_from_stats(stats_sum: Sequence[float]) -> float:
    """Corpus BLEU (sacrebleu's score / 100, default settings: exp smoothing, no
    effective order, 4-grams) from summed sufficient statistics (``STATS_FIELDS``)."""
    from sacrebleu.metrics import BLEU

    if len(stats_sum) != len(STATS_FIELDS):
        raise ValueError(f"expected {len(STATS_FIELDS)} statistics, got {len(stats_sum)}")
    ints = [round(float(x)) for x in stats_sum]  # resample weights keep them integral
    score = BLEU.compute_bleu(correct=ints[2:2 + BLEU_ORDER], total=ints[2 + BLEU_ORDER:],
                              sys_len=ints[0], ref_len=ints[1], smooth_method="exp",
                              effective_order=False, max_ngram_order=BLEU_ORDER)
    return score.score / 100.0


def bleu_from_stats_batch(stats_sums: np.ndarray) -> np.ndarray:
    """``bleu_from_stats`` over the rows of a (B, 10) array (for ``stats.sum_statistic``)."""
    return np.array([bleu_from_stats(row) for row in np.atleast_2d(stats_sums)])


def _sentence_bleu_from_stats(stats: Sequence[int]) -> float:
    """``sacrebleu.sentence_bleu(h, [r]).score / 100`` from that sample's statistics:
    sentence_bleu is BLEU(effective_order=True, smooth exp) on exactly these counts."""
    from sacrebleu.metrics import BLEU

    score = BLEU.compute_bleu(correct=list(stats[2:2 + BLEU_ORDER]),
                              total=list(stats[2 + BLEU_ORDER:]), sys_len=stats[0],
                              ref_len=stats[1], smooth_method="exp", effective_order=True,
                              max_ngram_order=BLEU_ORDER)
    return score.score / 100.0


@cache
def _bleu_signature(language: str, effective_order: bool) -> str:
    from sacrebleu.metrics import BLEU

    metric = BLEU(tokenize=_bleu_tokenizer(language), effective_order=effective_order)
    # sacrebleu knows nrefs (part of the signature) only after scoring: one reference
    # per sample here, as in every call this module makes.
    metric.corpus_score(["x"], [["x"]])
    return f"sacrebleu:{_version('sacrebleu')}|{metric.get_signature()}"


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], language: str = "en",
                *, stats: list[list[int]] | None = None) -> MetricResult:
    """Corpus BLEU-4 (sacrebleu defaults), n-gram precisions and per-sample statistics."""
    _check_inputs(hypotheses, references, language)
    name, signature = "bleu", _bleu_signature(language, False)
    definition = ("Corpus BLEU-4 (sacrebleu, one reference per sample), on a 0-1 scale: "
                  "geometric mean of clipped 1-4-gram precisions over all samples "
                  "times a brevity penalty.")
    if not hypotheses:
        return MetricResult.skip(name, "no samples", signature, definition)
    stats = stats if stats is not None else bleu_sufficient_stats(hypotheses, references,
                                                                  language)
    summed = [sum(col) for col in zip(*stats, strict=True)]
    bleu = _bleu_metric(language)
    score = bleu._compute_score_from_stats(summed)  # exactly corpus_score's last step
    details: dict[str, Any] = {
        **{f"bleu_{n}": score.precisions[n - 1] / 100.0 for n in range(1, BLEU_ORDER + 1)},
        "brevity_penalty": score.bp, "sys_len": score.sys_len, "ref_len": score.ref_len,
        "sacrebleu_signature": signature.split("|", 1)[1],
        "stats_fields": list(STATS_FIELDS), "sufficient_stats": stats,
    }
    return MetricResult(name=name, value=score.score / 100.0, signature=signature,
                        definition=definition, per_sample=None, details=details)


def sentence_bleu_mean(hypotheses: Sequence[str], references: Sequence[str],
                       language: str = "en", *,
                       stats: list[list[int]] | None = None) -> MetricResult:
    """Mean sentence BLEU / 100 (``sacrebleu.sentence_bleu``), the published convention."""
    _check_inputs(hypotheses, references, language)
    name = "bleu_sentence_mean"
    signature = f"{_bleu_signature(language, True)}|sentence_bleu/100|mean"
    definition = ("Mean over samples of sacrebleu's sentence BLEU (smoothed, effective "
                  "n-gram order) against the one reference, divided by 100.")
    if not hypotheses:
        return MetricResult.skip(name, "no samples", signature, definition)
    stats = stats if stats is not None else bleu_sufficient_stats(hypotheses, references,
                                                                  language)
    values = [_sentence_bleu_from_stats(row) for row in stats]
    return MetricResult(name=name, value=_mean(values), signature=signature,
                        definition=definition, per_sample=values, details=_summary(values))


# --------------------------------------------------------------------------- ROUGE

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_ROUGE_DEFINITIONS = {
    "rouge1": "unigram overlap",
    "rouge2": "bigram overlap",
    "rougeL": "longest common subsequence",
}


def rouge(hypotheses: Sequence[str], references: Sequence[str],
          language: str = "en") -> dict[str, MetricResult]:
    """ROUGE-1/2/L F-measure per sample and mean (rouge-score; Porter stemming for
    English, character tokens for Chinese)."""
    _check_inputs(hypotheses, references, language)
    settings = "stem:no|tok:cjk-char" if language == "cn" else "stem:yes|tok:default"
    tokens = _rouge_tokens(language)
    # Stemming never removes tokens, so the stemmed tokens serve for the empty check.
    _check_reference_tokens(references, tokens, f"ROUGE ({settings})")
    per_type: dict[str, list[float]] = {t: [] for t in ROUGE_TYPES}
    for hyp, ref in zip(hypotheses, references, strict=True):
        scores = _rouge_scores(_rouge_reference(ref, language), tokens(hyp))
        for t in ROUGE_TYPES:
            per_type[t].append(float(scores[t].fmeasure))
    out: dict[str, MetricResult] = {}
    for t in ROUGE_TYPES:
        signature = f"rouge-score:{_version('rouge-score')}|{t}|{settings}|F"
        definition = (f"Mean over samples of the ROUGE {t[5:]} F-measure "
                      f"({_ROUGE_DEFINITIONS[t]}) between report and reference.")
        if not hypotheses:
            out[t] = MetricResult.skip(t, "no samples", signature, definition)
            continue
        values = per_type[t]
        out[t] = MetricResult(name=t, value=_mean(values), signature=signature,
                              definition=definition, per_sample=values,
                              details=_summary(values))
    return out


@cache
def _rouge_tokens(language: str) -> Callable[[str], tuple[str, ...]]:
    """rouge-score's own tokenizer, memoised per text and with a memoised stemmer.

    ``RougeScorer.score`` re-tokenises and re-stems both texts on every call; the same
    references are scored against every run, and Porter stemming is most of the cost.
    Both memos are pure functions of their input, so the scores are unchanged
    (``tests/test_text_metrics.py`` checks equality with ``RougeScorer.score``).
    """
    from rouge_score import tokenizers

    if language == "cn":
        return lru_cache(maxsize=1 << 16)(lambda text: tuple(CJKCharTokenizer().tokenize(text)))
    tokenizer = tokenizers.DefaultTokenizer(use_stemmer=True)
    tokenizer._stemmer = _MemoStemmer()  # same PorterStemmer answers, memoised
    return lru_cache(maxsize=1 << 16)(lambda text: tuple(tokenizer.tokenize(text)))


@dataclass(frozen=True)
class _RougeTarget:
    """A reference's rouge-score tokens and n-gram counts (read-only once built)."""

    tokens: tuple[str, ...]
    unigrams: Counter[tuple[str, ...]]
    bigrams: Counter[tuple[str, ...]]


@lru_cache(maxsize=1 << 14)
def _rouge_reference(reference: str, language: str) -> _RougeTarget:
    """Tokens and n-grams of a reference, memoised by text (the same references are
    scored against every run)."""
    tokens = _rouge_tokens(language)(reference)
    return _RougeTarget(tokens, _ngrams(tokens, 1), _ngrams(tokens, 2))


def _ngrams(tokens: tuple[str, ...], n: int) -> Counter[tuple[str, ...]]:
    """rouge-score's ``_create_ngrams``: the same tuples and counts, built in C."""
    return Counter(zip(*(tokens[k:] for k in range(n)), strict=False))


def _rouge_scores(target: _RougeTarget | tuple[str, ...],
                  prediction: tuple[str, ...]) -> dict[str, Any]:
    """What ``RougeScorer.score`` computes, from already-tokenised texts (rouge-score's
    own n-gram scorer and F-measure; it has no public entry point taking tokens)."""
    from rouge_score import rouge_scorer as rs

    if not isinstance(target, _RougeTarget):
        target = _RougeTarget(target, _ngrams(target, 1), _ngrams(target, 2))
    return {"rouge1": rs._score_ngrams(target.unigrams, _ngrams(prediction, 1)),
            "rouge2": rs._score_ngrams(target.bigrams, _ngrams(prediction, 2)),
            "rougeL": _score_lcs(target.tokens, prediction)}


def _score_lcs(target: tuple[str, ...], prediction: tuple[str, ...]) -> Any:
    """rouge-score's ``_score_lcs`` with the LCS length from rapidfuzz (C) instead of
    its pure-Python DP table, which was half of all scoring time on long reports.
    Same precision/recall/F formula; equality is tested against ``RougeScorer.score``."""
    from rapidfuzz.distance import LCSseq
    from rouge_score import scoring

    if not target or not prediction:
        return scoring.Score(precision=0, recall=0, fmeasure=0)
    lcs = LCSseq.similarity(target, prediction)
    precision, recall = lcs / len(prediction), lcs / len(target)
    return scoring.Score(precision=precision, recall=recall,
                         fmeasure=scoring.fmeasure(precision, recall))


# --------------------------------------------------------------------------- METEOR


class _MemoStemmer:
    """nltk's PorterStemmer with its answers memoised: a pure function of the word, so
    the METEOR score is unchanged; reports repeat their vocabulary, so this is ~3x faster."""

    def __init__(self) -> None:
        from nltk.stem.porter import PorterStemmer

        self._stemmer = PorterStemmer()
        self._memo: dict[str, str] = {}

    def stem(self, token: str) -> str:
        try:
            return self._memo[token]
        except KeyError:
            stem = self._memo[token] = self._stemmer.stem(token)
            return stem


class _MemoWordNet:
    """``wordnet.synsets(word)`` memoised (METEOR's only WordNet call); same answers."""

    def __init__(self, wordnet: Any) -> None:
        self._wordnet = wordnet
        self._memo: dict[str, list[Any]] = {}

    def synsets(self, lemma: str) -> list[Any]:
        try:
            return self._memo[lemma]
        except KeyError:
            found = self._memo[lemma] = self._wordnet.synsets(lemma)
            return found


@cache
def _meteor_helpers() -> tuple[_MemoStemmer, _MemoWordNet]:
    from nltk.corpus import wordnet

    return _MemoStemmer(), _MemoWordNet(wordnet)


@cache
def _meteor_scorer() -> Meteor:
    """The one ``Meteor`` of this process: its word and reference memos serve every run."""
    from eval_harness.metrics.meteor import Meteor

    return Meteor(wordnet_setup.wordnet_reader())


def meteor_tokens(text: str, language: str = "en") -> list[str]:
    """Whitespace tokens (the published convention) or, for Chinese, character tokens."""
    return cjk_tokens(text) if language == "cn" else text.split()


@lru_cache(maxsize=1 << 14)
def _meteor_reference(reference: str, language: str) -> PreparedReference:
    """A reference's METEOR preprocessing (lower-cased tokens, stems, positions),
    memoised by text."""
    return _meteor_scorer().prepare(meteor_tokens(reference, language))


def meteor_values(hypotheses: Sequence[str], references: Sequence[str],
                  language: str = "en") -> list[float]:
    """Per-sample nltk METEOR (``eval_harness.metrics.meteor.Meteor``: nltk's
    ``meteor_score([r], h)`` to the last bit, with memos); WordNet must already be
    on nltk's path."""
    scorer = _meteor_scorer()
    return [scorer.score(meteor_tokens(hyp, language), _meteor_reference(ref, language))
            for hyp, ref in zip(hypotheses, references, strict=True)]


def nltk_meteor_values(hypotheses: Sequence[str], references: Sequence[str],
                       language: str = "en") -> list[float]:
    """Per-sample METEOR straight from ``nltk.translate.meteor_score.meteor_score``
    (stems and ``synsets`` memoised, pure functions): the reference ``meteor_values``
    is tested and benchmarked against."""
    from nltk.translate.meteor_score import meteor_score

    stemmer, wordnet = _meteor_helpers()
    values = []
    for hyp, ref in zip(hypotheses, references, strict=True):
        hyp_tokens = meteor_tokens(hyp, language)
        if not hyp_tokens:  # an empty report matches nothing (nltk would divide by 0)
            values.append(0.0)
            continue
        values.append(float(meteor_score([meteor_tokens(ref, language)], hyp_tokens,
                                         stemmer=stemmer, wordnet=wordnet)))
    return values


def meteor(hypotheses: Sequence[str], references: Sequence[str],
           language: str = "en") -> MetricResult:
    """nltk METEOR (WordNet 3.0 synonyms, Porter stems) per sample and mean."""
    _check_inputs(hypotheses, references, language)
    tok = "cjk-char" if language == "cn" else "whitespace"
    definition = ("Mean over samples of nltk's METEOR (unigram F-mean with exact, stem and "
                  "WordNet-synonym matches and a fragmentation penalty) against the "
                  "reference.")
    base_sig = f"nltk:{_version('nltk')}|meteor_score|tok:{tok}|alpha:0.9|beta:3|gamma:0.5"
    _check_reference_tokens(references, lambda r: meteor_tokens(r, language),
                            f"METEOR (tok:{tok})")
    if not hypotheses:
        return MetricResult.skip("meteor", "no samples", base_sig, definition)
    if not wordnet_setup.ensure_nltk_wordnet():
        return MetricResult.skip("meteor", WORDNET_MISSING, f"{base_sig}|wordnet:none",
                                 definition)
    signature = f"{base_sig}|wordnet:3.0({wordnet_setup.wordnet_source()})"
    values = meteor_values(hypotheses, references, language)
    return MetricResult(name="meteor", value=_mean(values), signature=signature,
                        definition=definition, per_sample=values, details=_summary(values))


# --------------------------------------------------------------------------- cosine


def cosine(hypotheses: Sequence[str], references: Sequence[str], language: str = "en", *,
           embedder: Embedder | None = None) -> MetricResult:
    """Embedding cosine (all-MiniLM-L6-v2 unless ``embedder`` is given), per sample."""
    from eval_harness.metrics import embeddings

    _check_inputs(hypotheses, references, language)
    definition = ("Mean over samples of the cosine similarity between the sentence "
                  "embeddings of report and reference.")
    if embedder is None:
        if language == "cn":
            return MetricResult.skip("cosine", "all-MiniLM-L6-v2 is an English model; pass "
                                     "an embedder for Chinese", embeddings.signature(),
                                     definition)
        missing = embeddings.missing_reason()
        if missing:
            return MetricResult.skip("cosine", missing, "", definition)
        embedder = embeddings.default_embedder()
    if not hypotheses:
        return MetricResult.skip("cosine", "no samples", embedder.signature, definition)
    values = [float(v) for v in embedder.cosine(hypotheses, references)]
    return MetricResult(name="cosine", value=_mean(values), signature=embedder.signature,
                        definition=definition, per_sample=values, details=_summary(values))


def rounded(value: float, places: int = 3) -> float:
    """Round half-even on the shortest repr, as the peer's ``Decimal(str(x)).quantize``
    (plain ``round`` differs on values such as 0.1235 whose binary form is below half)."""
    from decimal import Decimal

    if math.isnan(value):
        return value
    return float(Decimal(str(value)).quantize(Decimal(1).scaleb(-places)))
