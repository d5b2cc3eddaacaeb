"""The fast METEOR (``eval_harness.metrics.meteor``) is nltk's ``meteor_score`` to the
last bit: crafted alignments (synonym-only matches, repeated words, ties that decide
the chunk count, empty texts) and a deterministic sample of 1,000 published reports.

The check over all 22,501 published reports is ``python -m benchmarks.bench_meteor``
(about two minutes; it also prints the speed ratio).
"""

from __future__ import annotations

import random

import pytest

from eval_harness.metrics import text
from eval_harness.metrics import wordnet as wordnet_setup
from eval_harness.metrics.meteor import Meteor
from tests.conftest import require_shared

pytestmark = pytest.mark.usefixtures("wordnet")


@pytest.fixture(scope="module")
def meteor() -> Meteor:
    assert wordnet_setup.ensure_nltk_wordnet()
    from nltk.corpus import wordnet

    return Meteor(wordnet)


def nltk_score(hyp: list[str], ref: list[str]) -> float:
    """The reference: nltk's function with its default arguments, nothing memoised."""
    from nltk.translate.meteor_score import meteor_score

    return meteor_score([ref], hyp)


def nltk_align(hyp: list[str], ref: list[str]) -> list[tuple[int, int]]:
    from nltk.translate.meteor_score import align_words

    return align_words([w.lower() for w in hyp], [w.lower() for w in ref])[0]


CRAFTED = [
    # synonym-only matches (nothing exact, nothing shared by stem)
    ("the dog is big", "a frump was large"),
    ("decayed tooth and sore gums", "rotten tooth and painful gingiva"),
    ("physician examined the kid", "doctor checked a child"),
    ("kid kid", "child child"),
    ("physician kid doc", "doctor child doctor md"),
    ("big", "large"),
    # repeated words on both sides: which occurrence pairs with which sets the chunks
    ("tooth tooth tooth caries", "caries tooth tooth"),
    ("the the the", "the cat the dog the"),
    ("a b a b a b", "b a b a"),
    ("caries tooth caries tooth", "tooth caries"),
    # a stem match competing with an exact one, and with a synonym
    ("running runs ran runner", "run running runs"),
    ("teeth tooth dentition", "tooth teeth"),
    ("big large big large", "large big"),
    ("large big large big", "big big large large"),
    # case: nltk lower-cases both sides before matching
    ("Tooth CARIES Gingivitis", "tooth caries gingivitis"),
    ("Dog", "domestic_dog DOG frump"),
    # punctuation glued to tokens (whitespace tokens, the published convention)
    ("Diagnosis: caries.", "Diagnosis: caries"),
    ("**Examination:** tooth 36, 37.", "Examination: tooth 36 and 37."),
    # nothing matches / one word / identity
    ("xyzzy plugh", "tooth caries"),
    ("tooth", "tooth"),
    ("tooth caries", "tooth caries"),
    ("caries", "a deep carious lesion on tooth 36 with caries"),
]


@pytest.mark.parametrize(("hyp", "ref"), CRAFTED)
def test_crafted_pairs_equal_nltk(meteor: Meteor, hyp: str, ref: str) -> None:
    h, r = hyp.split(), ref.split()
    assert meteor.align(h, r) == nltk_align(h, r)
    got, want = meteor.score(h, r), nltk_score(h, r)
    assert got == want and type(got) is float, (got, want)


def test_synonym_only_match_is_found(meteor: Meteor) -> None:
    """Catches a synonym stage that never fires: physician~doctor, kid~child."""
    h, r = ["physician", "examined", "the", "kid"], ["doctor", "checked", "a", "child"]
    assert meteor.align(h, r) == [(0, 0), (3, 3)]
    assert meteor.score(h, r) == nltk_score(h, r) > 0.0


def test_synonyms_are_matched_against_reference_stems(meteor: Meteor) -> None:
    """nltk's quirk, kept: the synonym stage sees Porter stems, so big~large never
    matches ("large" is "larg" by then). A stage on the words would score this > 0."""
    assert meteor.align(["big"], ["large"]) == []
    assert meteor.score(["big"], ["large"]) == nltk_score(["big"], ["large"]) == 0.0


def test_repeated_words_pair_from_the_end(meteor: Meteor) -> None:
    """nltk pairs the last hypothesis occurrence with the last free reference
    occurrence; pairing from the front gives other chunks and another score."""
    h, r = ["a", "b", "a", "b", "a", "b"], ["b", "a", "b", "a"]
    assert meteor.align(h, r) == [(2, 1), (3, 0), (4, 3), (5, 2)]
    assert meteor.score(h, r) == nltk_score(h, r)
    # the synonym stage too: the last kid takes the last child
    assert meteor.align(["kid", "kid"], ["child", "x", "child"]) == [(0, 0), (1, 2)]


def test_empty_texts_score_zero(meteor: Meteor) -> None:
    assert meteor.score([], ["tooth"]) == 0.0
    assert meteor.score(["tooth"], []) == 0.0
    assert text.meteor_values(["", "   "], ["tooth caries", "tooth"]) == [0.0, 0.0]
    assert text.nltk_meteor_values(["", "   "], ["tooth caries", "tooth"]) == [0.0, 0.0]


def test_memos_do_not_leak_between_references(meteor: Meteor) -> None:
    """The per-reference relevance memo must not let one reference's words count in
    another: score A, then B, then A again."""
    a, b = ["tooth", "caries", "gingivitis"], ["kid", "dog", "with", "sore", "gums"]
    hyp = ["child", "frump", "tooth", "gingivitis"]
    first = meteor.score(hyp, a)
    assert meteor.score(hyp, b) == nltk_score(hyp, b)
    assert meteor.score(hyp, a) == first == nltk_score(hyp, a)


def test_chinese_characters_equal_nltk() -> None:
    ref, hyp = "牙龈出血，诊断：慢性牙龈炎（K05.1）。", "牙龈炎，建议洁治。K05"
    want = nltk_score(text.cjk_tokens(hyp), text.cjk_tokens(ref))
    assert text.meteor_values([hyp], [ref], language="cn") == [want]


def test_meteor_values_equal_nltk_on_all_published_reports() -> None:
    """Every one of the 22,501 published report predictions of the 42 runs, exactly."""
    from benchmarks.bench_meteor import published_pairs

    pairs = published_pairs(require_shared())
    assert len(pairs) == 22501
    hyps, refs = [h for _, h, _ in pairs], [r for _, _, r in pairs]
    fast = text.meteor_values(hyps, refs)
    reference = text.nltk_meteor_values(hyps, refs)
    mismatches = [(run, a, b) for (run, _, _), a, b in zip(pairs, fast, reference, strict=True)
                  if a != b]
    assert not mismatches, mismatches[:5]
    assert sum(v > 0 for v in fast) > 20000  # real scores, not a run of zeros


def test_wordnet_index_lists_synsets_under_their_lemmas() -> None:
    """What the synonym prefilter relies on (a synset whose lemma is a reference stem
    is found from that stem in WordNet's index), on the synsets of 2,000 index lemmas
    (seed 0). ``benchmarks.bench_meteor --check-wordnet-index`` checks all of WordNet."""
    from nltk.corpus import wordnet

    from benchmarks.bench_meteor import check_wordnet_index

    assert wordnet_setup.ensure_nltk_wordnet()
    lemmas = sorted(wordnet._lemma_pos_offset_map)
    chosen = random.Random(0).sample(lemmas, 2000)
    synsets = {s for name in chosen for s in wordnet.synsets(name)}
    assert len(synsets) > 2000
    assert check_wordnet_index(sorted(synsets)) == 0


class _SynsetsOnly:
    """A WordNet reader with nothing but ``synsets``: no lemma index to prefilter with."""

    def __init__(self, wordnet: object) -> None:
        self._wordnet = wordnet

    def synsets(self, lemma: str) -> list[object]:
        return self._wordnet.synsets(lemma)


def test_without_nltks_index_every_word_gets_its_synonym_set() -> None:
    """The prefilter is an optimisation only: a reader without nltk's index (another
    nltk, a stand-in) gives the same alignments from full synonym sets."""
    from nltk.corpus import wordnet

    plain = Meteor(_SynsetsOnly(wordnet))
    for hyp, ref in CRAFTED:
        h, r = hyp.split(), ref.split()
        assert plain.align(h, r) == nltk_align(h, r)
        assert plain.score(h, r) == nltk_score(h, r)
    assert plain.synset_keys("dog") is None
