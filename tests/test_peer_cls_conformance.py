"""Our classification scorer against the public peer harness's numbers (real COde runs).

The peer (`Kyle17888/pocket-dentist`, see the folder's README.md) drops failed samples
and reports accuracy and weighted F1 to 3 decimals. Where its protocol and ours
coincide — every kept prediction is a class name — our numbers over the samples it
kept must equal its numbers. Free-text runs differ by design (the peer maps text to a
class with its own alias list; we refuse to guess), so for those we only compute our
primary number over all 600 checkups beside the peer's and print both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from eval_harness.labels.classes import CLASSES
from eval_harness.metrics.classification import classification_metrics
from eval_harness.tasks.class_answers import extract_class

PEER = Path(__file__).resolve().parents[2] / "shared" / "data" / "peer-runs" / "pocket-dentist-code"
TOLERANCE = 0.0005 + 1e-9  # the peer rounds to 3 decimals
N_CHECKUPS = 600


@dataclass(frozen=True)
class Run:
    name: str  # "<setting>/<model>"
    rows: tuple[dict, ...]  # classification records in predictions.jsonl
    peer: dict  # code_classification/metrics.json

    @property
    def kept(self) -> list[dict]:
        return [r for r in self.rows if not r["failed"]]


def require_peer() -> Path:
    if not PEER.is_dir():
        pytest.skip(f"peer runs absent ({PEER} not found): conformance checks skipped")
    return PEER


def _classification_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [r for r in rows if r["task"] == "code_classification"]


@cache
def peer_runs() -> tuple[Run, ...]:
    runs = []
    for pred in sorted(require_peer().glob("*/*/predictions.jsonl")):
        metrics = pred.parent / "code_classification" / "metrics.json"
        if not metrics.is_file():
            continue
        rows = _classification_rows(pred)
        if rows:
            runs.append(Run(f"{pred.parent.parent.name}/{pred.parent.name}", tuple(rows),
                            json.loads(metrics.read_text(encoding="utf-8"))))
    return tuple(runs)


@cache
def ground_truth() -> dict[str, str]:
    """Checkup id → class, pooled over every run (the same 600 checkups in all)."""
    truth: dict[str, str] = {}
    for path in sorted(require_peer().glob("*/*/*.jsonl")):
        for r in _classification_rows(path):
            assert truth.setdefault(r["id"], r["ground_truth"]) == r["ground_truth"], r["id"]
    return truth


def is_exact(run: Run) -> bool:
    return all(r["prediction"] in CLASSES for r in run.kept)


def is_exact_after_normalising(run: Run) -> bool:
    """Not byte-exact, but every answer is a class name up to case/punctuation/width."""
    return not is_exact(run) and all(
        extract_class(r["prediction"]).reason == "exact class name" for r in run.kept)


def ours_on_kept(run: Run) -> tuple[float, float, int]:
    kept = run.kept
    res = classification_metrics([r["ground_truth"] for r in kept],
                                 [extract_class(r["prediction"], r["failed"]) for r in kept])
    view = res["views"]["all"]
    return view["accuracy"].value, view["weighted_f1"].value, len(kept)


def check_against_peer(runs: list[Run]) -> list[str]:
    report, mismatches = [], []
    for run in runs:
        acc, wf1, n = ours_on_kept(run)
        peer_acc, peer_wf1 = run.peer["accuracy"], run.peer["f1_weighted"]
        line = (f"{run.name}: n={n} (peer {run.peer['total_samples']}) "
                f"acc {acc:.4f} vs {peer_acc}, weighted F1 {wf1:.4f} vs {peer_wf1}")
        report.append(line)
        if (n != run.peer["total_samples"] or abs(acc - peer_acc) > TOLERANCE
                or abs(wf1 - peer_wf1) > TOLERANCE):
            mismatches.append(line)
    print("\n".join(["checked against the peer:", *report]))
    assert not mismatches, "differs from the peer:\n" + "\n".join(mismatches)
    return report


def test_exact_name_runs_match_peer() -> None:
    runs = [run for run in peer_runs() if is_exact(run)]
    report = check_against_peer(runs)
    # 22 runs in the snapshot of commit 416efab: 9 sft runs (all but Qwen3.5,
    # SmolVLM2 and paligemma2) and 13 zero-/few-shot runs.
    assert len(report) >= 20, report


def test_normalised_name_runs_match_peer() -> None:
    # e.g. "Tooth Loss." or "tooth loss": our exact-name rule reads them as the peer does.
    runs = [run for run in peer_runs() if is_exact_after_normalising(run)]
    report = check_against_peer(runs)
    assert len(report) >= 8, report


def test_free_text_runs_primary_number() -> None:
    """Our primary numbers (600 checkups, failures and unparseable wrong) beside the peer's.

    Not an equality check: the peer drops failures and guesses from free text.
    """
    truth = ground_truth()
    assert len(truth) == N_CHECKUPS
    runs = [run for run in peer_runs()
            if not is_exact(run) and not is_exact_after_normalising(run)]
    assert runs, "expected some free-text runs in the peer snapshot"
    lines = []
    for run in runs:
        answered = {r["id"]: r for r in run.rows}
        ids = sorted(truth)
        # A checkup the peer has no record of, or marked failed, counts as failed.
        extractions = [extract_class(answered[i]["prediction"], answered[i]["failed"])
                       if i in answered else extract_class(None, failed=True) for i in ids]
        res = classification_metrics([truth[i] for i in ids], extractions)
        view, counts = res["views"]["all"], res["counts"]
        assert counts["n"] == N_CHECKUPS
        assert all(0.0 <= view[m].value <= 1.0 for m in ("accuracy", "macro_f1", "weighted_f1"))
        lines.append(f"{run.name}: ours acc {view['accuracy'].value:.3f} "
                     f"macro-F1 {view['macro_f1'].value:.3f} "
                     f"weighted F1 {view['weighted_f1'].value:.3f} "
                     f"(n={counts['n']}, failed {counts['n_failed']}, "
                     f"unparseable {counts['n_unparseable']}); peer acc "
                     f"{run.peer['accuracy']} weighted F1 {run.peer['f1_weighted']} "
                     f"(n={run.peer['total_samples']})")
    print("\n".join(["free-text runs, ours (all 600) vs peer:", *lines]))
