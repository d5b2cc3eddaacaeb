"""Each task's per-sample statistics (what the ranking engine resamples) give, on the full
sample, exactly the figures its scorer reports (scikit-learn, sacrebleu, the labeler): a
layout or zero-division slip would rank rows by numbers nobody sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_harness.tasks import get_task
from eval_harness.tasks.base import ScoreOptions


def _check(document: dict, samples: list[dict], task: str) -> list[str]:
    records = sorted((s for s in samples if s["task"] == task), key=lambda s: s["id"])
    stats = get_task(task).statistics(records)
    metrics = document["tasks"][task]["metrics"]
    assert set(get_task(task).rank_metrics()) <= set(stats) | {"meteor"}
    for name, stat in stats.items():
        assert stat.point() == pytest.approx(metrics[name]["value"], abs=1e-9), (task, name)
    return list(stats)


@pytest.mark.parametrize("index", [0, 17, 41])
def test_published_runs_statistics_equal_their_documents(index: int) -> None:
    from leaderboard.seeds import read_seed

    run = read_seed()["runs"][index]
    cls = _check(run["document"], run["samples"], "code_cls")
    report = _check(run["document"], run["samples"], "code_report")
    assert {"accuracy", "macro_f1", "weighted_f1"} <= set(cls)
    assert {"bleu", "bleu_sentence_mean", "rougeL", "clinical_f1", "diagnosis_f1_micro",
            "diagnosis_f1_macro", "icd_f1"} <= set(report)


def test_multilabel_and_calibrated_runs_statistics_equal_their_documents(
        synth_dir: Path, tmp_path: Path) -> None:
    from eval_harness.api import load_split, score_predictions
    from eval_harness.labels.classes import CLASSES
    from eval_harness.predictions import read_predictions, references_from_checkups

    test_split = load_split(synth_dir, "test", "en").checkups
    lines = []
    for i, c in enumerate(test_split):
        guess = CLASSES[i % len(CLASSES)]
        lines.append({"id": c.checkup_id, "task": "code_multilabel",
                      "prediction": ", ".join(sorted({guess, *c.classes[:1]}))
                      if i % 3 else guess})
        scores = {k: (0.5 if k == guess else 0.1) for k in CLASSES}
        lines.append({"id": c.checkup_id, "task": "code_cls", "prediction": guess,
                      "scores": scores})
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    scored = score_predictions(read_predictions(path),
                               references_from_checkups(test_split, name="COde-synthetic",
                                                        split="test", source="synth"),
                               ScoreOptions(embeddings=False, resamples=50))
    document = scored.document.to_dict()
    assert {"micro_f1", "macro_f1", "exact_match", "hamming_loss"} <= set(
        _check(document, scored.samples, "code_multilabel"))
    assert {"log_loss", "brier"} <= set(_check(document, scored.samples, "code_cls"))
