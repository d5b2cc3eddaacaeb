"""Our report scorer reproduces the peer harness's published numbers on the real COde split.

The peer (pocket-dentist, ``src/tasks/code_report/evaluator.py``) averages over the
``code_report`` rows that are not ``failed`` and have a non-empty ground truth and
prediction, after ``.strip()``; failed generations are not in ``predictions.jsonl`` at
all (they sit in ``failures.jsonl``, which we read back as failures), so its
``total_samples`` equals the number of report rows. It rounds ``np.mean``/``np.std``/
``np.median`` with ``Decimal(str(x)).quantize("0.000")``.

What is asserted is our scorer's own output: ``score_predictions`` on ``read_peer_run``
(the product's path), its ``answered`` view (the samples the peer keeps: no report row
in the snapshot is empty, so the two sample sets coincide on every run) and its
per-sample records. Mean = the document's value; std and median = those of our
per-sample values over the answered samples.

Runs: the sample set is checked on all 42 runs (cheap). The metrics are checked on 4
runs, to keep this file well under 90 s on 2 cores (METEOR costs seconds per run, and
MiniLM about 0.2 s per report text on 2 busy cores when its on-disk cache is cold: the
920 texts of the SmolVLM2 sft run took 170 s); they cover both protocols' edge cases:

- ``sft/Lingshu-32B-SFT``: 600 of 600 answered;
- ``sft/SmolVLM2-2.2B-Instruct-SFT``: 140 failures (in ``failures.jsonl``) the peer
  drops, and every prediction carries whitespace the peer strips;
- ``baseline/MedMO-8B-Next``: 363 of 600 failed, a zero-shot run (BLEU median 0);
- ``sft/paligemma2-3b-mix-448-SFT``: 571 of 600 failed, 29 reports: the cosine check
  (an sft run, where the peer's cosine is a real number) at the price of 58 texts.

Set ``CODEBENCH_PEER_REPORT_RUNS=all`` to check every run (cosine on the 12 ``sft``
runs; outside ``sft`` the peer's cosine is 0.0, a silently skipped metric, so there is
nothing to compare).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np
import pytest

from eval_harness.api import Scored, ScoreOptions, score_predictions
from eval_harness.metrics import embeddings
from eval_harness.predictions import peer_run_inputs, read_peer_run
from eval_harness.results import TaskResult
from tests.conftest import PEER_RUNS, require_shared

N_RUNS, N_SFT, N_CHECKUPS = 42, 12, 600
DEFAULT_RUNS = ("sft/Lingshu-32B-SFT", "sft/SmolVLM2-2.2B-Instruct-SFT",
                "baseline/MedMO-8B-Next", "sft/paligemma2-3b-mix-448-SFT")
DEFAULT_COSINE_RUNS = ("sft/paligemma2-3b-mix-448-SFT",)
# (our metric name, the peer's metrics.json key)
TEXT = (("bleu_sentence_mean", "bleu"), ("meteor", "meteor"))
COSINE = ("cosine", "cosine_similarity")


def _discover() -> list[str]:
    return sorted(str(p.parent.relative_to(PEER_RUNS))
                  for p in PEER_RUNS.glob("*/*/predictions.jsonl")) if PEER_RUNS.is_dir() else []


ALL_RUNS = _discover()
EVERY = os.environ.get("CODEBENCH_PEER_REPORT_RUNS") == "all" and ALL_RUNS
RUNS = tuple(ALL_RUNS) if EVERY else DEFAULT_RUNS
COSINE_RUNS = tuple(r for r in ALL_RUNS if r.startswith("sft/")) if EVERY \
    else DEFAULT_COSINE_RUNS


def peer_round(value: float) -> float:
    """The peer's rounding: ``Decimal(str(x)).quantize(Decimal("0.000"))``."""
    return float(Decimal(str(value)).quantize(Decimal("0.000")))


def peer_metrics(run: str) -> dict[str, Any]:
    return json.loads((PEER_RUNS / run / "code_report" / "metrics.json")
                      .read_text(encoding="utf-8"))


@cache
def scored(run: str) -> Scored:
    references, predictions = read_peer_run(require_shared() / run)
    # CIs are not checked: one resample. Cosine only where it is compared.
    options = ScoreOptions(resamples=1, embeddings=run in COSINE_RUNS
                           and embeddings.missing_reason() is None)
    return score_predictions(predictions, references, options, tasks=["code_report"])


def ours(run: str) -> TaskResult:
    return scored(run).document.tasks["code_report"]


def check_metric(run: str, name: str, peer_key: str) -> None:
    """Our mean (the document's answered value), std and median (of our per-sample
    values over the answered samples) equal the peer's, at its rounding."""
    peer, result = peer_metrics(run), ours(run)
    entry = result.answered[name]
    assert entry.get("value") is not None, f"{name} not computed: {entry.get('skipped')}"
    assert entry["details"]["n"] == peer["total_samples"]
    values = [s["metrics"][name] for s in scored(run).samples
              if s["task"] == "code_report" and s["status"] == "ok"]
    assert len(values) == peer["total_samples"]
    assert entry["value"] == pytest.approx(float(np.mean(values)), abs=1e-12)
    got = (peer_round(entry["value"]), peer_round(float(np.std(values))),
           peer_round(float(np.median(values))))
    want = (peer[peer_key]["mean"], peer[peer_key]["std"], peer[peer_key]["median"])
    print(f"{run} {name}: ours {got} (mean {entry['value']:.5f}), peer {want}")
    assert got == want, f"{run} {name}: ours mean/std/median {got}, peer {want}"


def test_peer_runs_present() -> None:
    require_shared()
    assert len(ALL_RUNS) == N_RUNS
    assert sum(r.startswith("sft/") for r in ALL_RUNS) == N_SFT
    assert set(DEFAULT_RUNS) <= set(ALL_RUNS) and set(COSINE_RUNS) <= set(RUNS)
    print(f"report metrics checked on {len(RUNS)} run(s): {', '.join(RUNS)}; "
          f"cosine on {', '.join(COSINE_RUNS)}")


@pytest.mark.parametrize("run", ALL_RUNS or ["(no peer runs)"])
def test_answered_set_is_peer_sample_set(run: str) -> None:
    """On every run, the reports we count as answered are the ones the peer averages
    over, and everything else (its failures, lines it never wrote) is our failure."""
    require_shared()
    inp = peer_run_inputs(PEER_RUNS / run)["code_report"]
    answered = [p for p in inp.predictions if not p.failed and p.text is not None]
    assert len(inp.references) == N_CHECKUPS
    assert len(answered) == peer_metrics(run)["total_samples"]
    assert all(p.text.strip() for p in answered)  # nothing the peer would drop as empty


@pytest.mark.parametrize("run", RUNS)
def test_failures_are_what_the_peer_dropped(run: str) -> None:
    require_shared()
    result = ours(run)
    assert result.n == N_CHECKUPS
    assert result.n_failed == N_CHECKUPS - peer_metrics(run)["total_samples"]


@pytest.mark.parametrize(("run", "name", "peer_key"),
                         [(run, name, key) for run in RUNS for name, key in TEXT])
def test_text_metric_matches_peer(run: str, name: str, peer_key: str) -> None:
    require_shared()
    check_metric(run, name, peer_key)


@pytest.mark.parametrize("run", COSINE_RUNS)
def test_cosine_matches_peer_on_sft(run: str) -> None:
    require_shared()
    missing = embeddings.missing_reason()
    if missing:
        pytest.skip(f"cosine conformance skipped: {missing}")
    check_metric(run, *COSINE)


@pytest.mark.parametrize("run", [r for r in ALL_RUNS if not r.startswith("sft/")]
                         or ["(no peer runs)"])
def test_peer_cosine_outside_sft_is_a_skipped_metric(run: str) -> None:
    """Why cosine is compared on sft runs only: the peer's 0.0 elsewhere is not a
    measurement (ours would be a real value)."""
    require_shared()
    assert peer_metrics(run)["cosine_similarity"] == {"mean": 0.0, "std": 0.0, "median": 0.0}
