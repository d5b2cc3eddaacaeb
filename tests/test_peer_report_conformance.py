"""Our report metrics reproduce the peer harness's published means on the real COde split.

The peer (pocket-dentist, ``src/tasks/code_report/evaluator.py``) averages over the
``code_report`` rows that are not ``failed`` and have a non-empty ground truth and
prediction, after ``.strip()``; failed generations are not in ``predictions.jsonl`` at
all (they sit in ``failures.jsonl``), so its ``total_samples`` equals the number of
report rows. It rounds ``np.mean`` with ``Decimal(str(x)).quantize("0.000")``.

Sentence BLEU and METEOR must match its mean on every run with predictions (42);
cosine on the 12 ``sft`` runs (elsewhere its cosine is 0.0: a silently skipped metric).
BLEU+METEOR for all runs are computed once per module, spread over processes;
embeddings go through the on-disk cache, so only the first run on a machine pays
for the model.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from eval_harness.metrics import embeddings, text
from eval_harness.metrics import wordnet as wordnet_setup

PEER = Path(__file__).resolve().parents[2] / "shared" / "data" / "peer-runs" / "pocket-dentist-code"
N_RUNS, N_SFT = 42, 12


def _discover() -> list[str]:
    if not PEER.is_dir():
        return []
    return sorted(str(p.parent.relative_to(PEER)) for p in PEER.glob("*/*/predictions.jsonl"))


RUNS = _discover()
SFT_RUNS = [r for r in RUNS if r.startswith("sft/")]
ABSENT = f"../shared is absent ({PEER} not found): peer report conformance skipped"


def _params(runs: list[str]) -> list[Any]:
    return runs or [pytest.param("none", marks=pytest.mark.skip(reason=ABSENT))]


def peer_samples(run: str) -> tuple[list[str], list[str]]:
    """(hypotheses, references) exactly as the peer averages them."""
    hyps, refs = [], []
    with open(PEER / run / "predictions.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["task"] != "code_report" or row.get("failed"):
                continue
            if not row.get("ground_truth") or not row.get("prediction"):
                continue
            hyps.append(row["prediction"].strip())
            refs.append(row["ground_truth"].strip())
    return hyps, refs


def peer_metrics(run: str) -> dict[str, Any]:
    return json.loads((PEER / run / "code_report" / "metrics.json").read_text())


def _score_run(run: str) -> dict[str, Any]:
    """BLEU and METEOR of one run (runs in a worker process)."""
    hyps, refs = peer_samples(run)
    out: dict[str, Any] = {"n": len(hyps), "bleu": text.sentence_bleu_mean(hyps, refs)}
    out["meteor"] = text.meteor(hyps, refs)
    return out


@pytest.fixture(scope="module")
def scored() -> dict[str, dict[str, Any]]:
    if not RUNS:
        pytest.skip(ABSENT)
    wordnet_setup.ensure_nltk_wordnet()  # prepare the private copy once, before workers
    # Longest runs first, so two workers finish together.
    order = sorted(RUNS, key=lambda r: -(PEER / r / "predictions.jsonl").stat().st_size)
    workers = max(1, min(4, os.cpu_count() or 1))
    if workers == 1:
        return {run: _score_run(run) for run in order}
    # spawn: a forked child of a process that has torch threads can deadlock.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return dict(zip(order, pool.map(_score_run, order), strict=True))


def _three(result: text.MetricResult) -> tuple[float, float, float]:
    assert result.value is not None, result.skipped
    return (text.rounded(result.value), text.rounded(result.details["std"]),
            text.rounded(result.details["median"]))


def _peer_three(block: dict[str, float]) -> tuple[float, float, float]:
    return block["mean"], block["std"], block["median"]


def test_peer_runs_present() -> None:
    if not RUNS:
        pytest.skip(ABSENT)
    assert len(RUNS) == N_RUNS
    assert len(SFT_RUNS) == N_SFT


@pytest.mark.parametrize("run", _params(RUNS))
def test_peer_sample_set(run: str) -> None:
    """The peer's total_samples is exactly the non-failed, non-empty report rows."""
    hyps, _ = peer_samples(run)
    assert len(hyps) == peer_metrics(run)["total_samples"]


@pytest.mark.parametrize("run", _params(RUNS))
def test_sentence_bleu_matches_peer(run: str, scored: dict[str, dict[str, Any]]) -> None:
    ours = scored[run]["bleu"]
    assert ours.name == "bleu_sentence_mean" and len(ours.per_sample) == scored[run]["n"]
    # mean (the brief's check), plus std and median: the per-sample values agree too.
    assert _three(ours) == _peer_three(peer_metrics(run)["bleu"]), ours.value


@pytest.mark.parametrize("run", _params(RUNS))
def test_meteor_matches_peer(run: str, scored: dict[str, dict[str, Any]]) -> None:
    ours = scored[run]["meteor"]
    if ours.skipped:
        pytest.skip(f"METEOR skipped: {ours.skipped}")
    assert _three(ours) == _peer_three(peer_metrics(run)["meteor"]), ours.value


@pytest.fixture(scope="module")
def embedder() -> embeddings.MiniLMEmbedder:
    if not SFT_RUNS:
        pytest.skip(ABSENT)
    missing = embeddings.missing_reason()
    if missing:
        pytest.skip(f"cosine conformance skipped: {missing}")
    emb = embeddings.MiniLMEmbedder()
    # Every distinct text of the 12 runs in one call: each is encoded at most once, and
    # on a machine that has run this before, not at all (on-disk cache).
    emb.embed(sorted({t for run in SFT_RUNS for pair in peer_samples(run) for t in pair}))
    return emb


@pytest.mark.parametrize("run", _params(SFT_RUNS))
def test_cosine_matches_peer_on_sft(run: str, embedder: embeddings.MiniLMEmbedder) -> None:
    hyps, refs = peer_samples(run)
    before = embedder.encoded
    ours = text.cosine(hyps, refs, embedder=embedder)
    assert embedder.encoded == before  # all served from the cache filled by the fixture
    assert _three(ours) == _peer_three(peer_metrics(run)["cosine_similarity"]), ours.value


@pytest.mark.parametrize("run", _params([r for r in RUNS if not r.startswith("sft/")]))
def test_peer_cosine_outside_sft_is_a_skipped_metric(run: str) -> None:
    """The peer's 0.0 cosine there is not a measurement; ours would be a real value."""
    assert peer_metrics(run)["cosine_similarity"] == {"mean": 0.0, "std": 0.0, "median": 0.0}
