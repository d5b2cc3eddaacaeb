"""Our classification scorer against the public peer harness's numbers (real COde runs).

The peer (`Kyle17888/pocket-dentist`, see the folder's README.md) drops failed samples
from its denominator (they sit in ``failures.jsonl``, or nowhere) and reports accuracy
and weighted P/R/F1 to 3 decimals, per-class P/R/F1 at full precision
(``classwise_metrics.csv``). Wherever its answer extraction and ours coincide, our
scorer's ``answered`` view (``score_predictions`` on ``read_peer_run``: the product's
own path) must equal its numbers, and our failures must be exactly what it dropped.

Which runs: the 42 runs with predictions are partitioned by the form of their kept
classification answers, read from the raw lines (not through our extractor):

- ``exact``: every answer is a class name, byte for byte (22 runs);
- ``normalised``: a class name up to surrounding whitespace/newline, a trailing ``.``
  or ``:``, or markdown ``**`` (11 runs); the peer and we both read the class;
- ``prefixed``: the class name, a colon and the prompt's description of that class
  (MedMO-8B-Next, 3 runs); our synonym reading finds that one class, as the peer does;
- excluded (6 runs): answers naming no class, several classes, or a refusal. The
  peer guesses a class from free text with its own alias list and keeps the sample;
  we refuse to guess (``unparseable``), so the denominators differ by design.

The partition is pinned below: a change of the data or of the rule, or a silent
shrink of the checked runs, fails ``test_run_partition``.
"""

from __future__ import annotations

import csv
import json
from functools import cache

import pytest

from eval_harness.api import Scored, ScoreOptions, score_predictions
from eval_harness.labels.classes import CLASSES
from eval_harness.predictions import read_peer_run
from eval_harness.results import TaskResult
from tests.conftest import PEER_RUNS, require_shared

TOLERANCE = 0.0005 + 1e-12  # the peer rounds its headline numbers to 3 decimals
PER_CLASS_TOLERANCE = 1e-12  # its classwise_metrics.csv is at full precision
N_CHECKUPS = 600
# CIs are not what is checked here: one resample keeps scoring cheap.
OPTIONS = ScoreOptions(resamples=1, embeddings=False)
# (peer metrics.json key, our metric name)
HEADLINE = (("accuracy", "accuracy"), ("precision_weighted", "weighted_precision"),
            ("recall_weighted", "weighted_recall"), ("f1_weighted", "weighted_f1"))

EXACT_RUNS = (
    "1shot/Lingshu-32B", "1shot/Qwen3-VL-4B-Instruct", "1shot/gemma-4-E2B-it",
    "1shot/gemma-4-E4B-it", "2shot/Lingshu-32B", "2shot/Qwen2.5-VL-7B-Instruct",
    "2shot/Qwen3-VL-4B-Instruct", "2shot/gemma-4-E2B-it", "2shot/gemma-4-E4B-it",
    "baseline/Qwen2.5-VL-7B-Instruct", "baseline/Qwen3-VL-4B-Instruct",
    "baseline/gemma-4-E2B-it", "baseline/gemma-4-E4B-it",
    "sft/InternVL3_5-1B-HF-SFT", "sft/InternVL3_5-2B-HF-SFT", "sft/Lingshu-32B-SFT",
    "sft/MedMO-8B-Next-SFT", "sft/Qwen2.5-VL-7B-Instruct-SFT",
    "sft/Qwen3-VL-4B-Instruct-SFT", "sft/gemma-4-E2B-it-SFT", "sft/gemma-4-E4B-it-SFT",
    "sft/medgemma-4b-it-SFT",
)
NORMALISED_RUNS = (  # "Tooth Loss\n", " Dental Caries", "Gingivitis.", "...Malocclusion**"
    "1shot/SmolVLM2-2.2B-Instruct", "1shot/gemini-2.0-flash", "1shot/medgemma-4b-it",
    "2shot/gemini-2.0-flash", "2shot/medgemma-4b-it", "baseline/Lingshu-32B",
    "baseline/SmolVLM2-2.2B-Instruct", "baseline/gemini-2.0-flash",
    "baseline/gemini-2.5-flash", "baseline/medgemma-4b-it", "sft/SmolVLM2-2.2B-Instruct-SFT",
)
PREFIXED_RUNS = (  # "Pulpitis: Inflammation or infection of the dental pulp, ..."
    "1shot/MedMO-8B-Next", "2shot/MedMO-8B-Next", "baseline/MedMO-8B-Next",
)
EXCLUDED_RUNS = {
    "1shot/Qwen2.5-VL-7B-Instruct": "one answer 'Tooth Discoloration' names no class; "
                                    "the peer maps it to one, we mark it unparseable",
    "1shot/gemini-2.5-flash": "a free-text answer the peer guesses a class from",
    "2shot/gemini-2.5-flash": "free-text answers (one says none of the six classes, "
                              "naming all six)",
    "baseline/paligemma2-3b-mix-448": "refusals only: the peer keeps them as unmapped "
                                      "(wrong), we have no answered sample",
    "sft/Qwen3.5-4B-SFT": "thinking traces and lists of several classes (190 of 599)",
    "sft/paligemma2-3b-mix-448-SFT": "class names repeated with <end_of_turn> tokens",
}
CHECKED_RUNS = EXACT_RUNS + NORMALISED_RUNS + PREFIXED_RUNS
FORMS = ("exact", "normalised", "prefixed", "free")


def answer_form(prediction: str) -> str:
    """How a raw peer answer names its class; independent of our extractor."""
    if prediction in CLASSES:
        return "exact"
    if prediction.strip().strip("*.:").strip() in CLASSES:
        return "normalised"
    head, colon, _ = prediction.partition(":")
    if colon and head.strip() in CLASSES:
        return "prefixed"
    return "free"


def _classification_rows(run: str) -> list[dict]:
    with (PEER_RUNS / run / "predictions.jsonl").open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [r for r in rows if r["task"] == "code_classification"]


def run_form(run: str) -> str:
    """The loosest form among the run's kept classification answers."""
    kept = [r for r in _classification_rows(run) if not r["failed"]]
    assert kept, run
    return max((answer_form(r["prediction"]) for r in kept), key=FORMS.index)


def all_runs() -> list[str]:
    return sorted(str(p.parent.relative_to(PEER_RUNS))
                  for p in require_shared().glob("*/*/predictions.jsonl"))


def peer_metrics(run: str) -> dict:
    return json.loads((PEER_RUNS / run / "code_classification" / "metrics.json")
                      .read_text(encoding="utf-8"))


def peer_classwise(run: str) -> dict[str, dict[str, float]]:
    with (PEER_RUNS / run / "code_classification" / "classwise_metrics.csv").open(
            encoding="utf-8", newline="") as fh:
        return {row["Class"]: {"precision": float(row["Precision"]),
                               "recall": float(row["Recall"]), "f1": float(row["F1"]),
                               "support": float(row["Support"])}
                for row in csv.DictReader(fh)}


@cache
def scored(run: str) -> Scored:
    references, predictions = read_peer_run(require_shared() / run)
    return score_predictions(predictions, references, OPTIONS, tasks=["code_cls"])


def ours(run: str) -> TaskResult:
    return scored(run).document.tasks["code_cls"]


def test_run_partition() -> None:
    """Every run is checked or excluded with its reason, and the groups are as pinned."""
    runs = all_runs()
    assert len(runs) == 42
    assert sorted([*CHECKED_RUNS, *EXCLUDED_RUNS]) == runs
    forms = {run: run_form(run) for run in runs}
    for form, pinned in (("exact", EXACT_RUNS), ("normalised", NORMALISED_RUNS),
                         ("prefixed", PREFIXED_RUNS), ("free", tuple(EXCLUDED_RUNS))):
        assert sorted(r for r, f in forms.items() if f == form) == sorted(pinned), form
    print(f"checked against the peer: {len(EXACT_RUNS)} exact + {len(NORMALISED_RUNS)} "
          f"normalised + {len(PREFIXED_RUNS)} prefixed = {len(CHECKED_RUNS)} runs; "
          f"excluded {len(EXCLUDED_RUNS)}: {', '.join(EXCLUDED_RUNS)}")


@pytest.mark.parametrize("run", CHECKED_RUNS)
def test_ours_equals_peer(run: str) -> None:
    require_shared()
    peer, result = peer_metrics(run), ours(run)
    answered = result.answered
    # Every answer was read as one class; what the peer dropped is exactly our failures.
    assert result.n == N_CHECKUPS
    assert result.n_unparseable == 0
    assert result.n_failed == N_CHECKUPS - peer["total_samples"]
    assert peer["unmapped_predictions"] == 0
    line = []
    for peer_key, name in HEADLINE:
        entry = answered[name]
        assert entry["details"]["n"] == peer["total_samples"], name
        line.append(f"{name} {entry['value']:.4f} vs {peer[peer_key]}")
    print(f"{run} (n={peer['total_samples']}): " + ", ".join(line))
    mismatches = [f"{name}: ours {answered[name]['value']!r}, peer {peer[peer_key]!r}"
                  for peer_key, name in HEADLINE
                  if abs(answered[name]["value"] - peer[peer_key]) > TOLERANCE]
    assert not mismatches, mismatches

    theirs = peer_classwise(run)
    rows = {row["class"]: row for row in result.tables["per_class"]["answered"]}
    assert set(rows) == set(theirs) == set(CLASSES)
    per_class = [f"{cls} {key}: ours {rows[cls][key]!r}, peer {theirs[cls][key]!r}"
                 for cls in CLASSES for key in ("precision", "recall", "f1", "support")
                 if abs(rows[cls][key] - theirs[cls][key]) > PER_CLASS_TOLERANCE]
    assert not per_class, per_class


@pytest.mark.parametrize("run", sorted(EXCLUDED_RUNS))
def test_excluded_runs_differ_by_protocol(run: str) -> None:
    """Excluded for the documented reason, not for convenience: there our scorer refuses
    to read some answer the peer kept (and guessed), so the peer's denominator
    (total_samples) holds samples our answered view cannot."""
    require_shared()
    peer, result = peer_metrics(run), ours(run)
    assert result.n == N_CHECKUPS
    assert result.n_unparseable > 0, EXCLUDED_RUNS[run]
    assert result.n_failed + result.n_unparseable > N_CHECKUPS - peer["total_samples"]
    primary = result.metrics[result.primary_metric]["value"]
    print(f"{run}: ours {result.primary_metric} {primary:.3f} over {result.n} "
          f"(failed {result.n_failed}, unparseable {result.n_unparseable}); peer acc "
          f"{peer['accuracy']} wF1 {peer['f1_weighted']} over {peer['total_samples']}; "
          f"excluded: {EXCLUDED_RUNS[run]}")
