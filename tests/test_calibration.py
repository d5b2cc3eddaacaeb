"""Calibration metrics: equal scikit-learn where it has them, hand-checked ECE, policies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, log_loss

from eval_harness.cli import main
from eval_harness.data.load import load_checkups
from eval_harness.labels.classes import CLASSES
from eval_harness.metrics.calibration import (
    calibration_metrics,
    ece_from_stats,
    ece_stats,
    probability_matrix,
)
from eval_harness.metrics.stats import bootstrap_ci, sum_statistic
from eval_harness.results import read_results

CARIES, GINGIVITIS, PULPITIS = "Dental Caries", "Gingivitis", "Pulpitis"


def test_per_sample_values_average_to_sklearn() -> None:
    rng = np.random.default_rng(0)
    refs = [CLASSES[i] for i in rng.integers(0, 6, 200)]
    raw = rng.dirichlet(np.ones(6), 200)
    scores = [dict(zip(CLASSES, row.tolist(), strict=True)) for row in raw]
    out = calibration_metrics(refs, scores, [False] * 200)
    lexical = sorted(CLASSES)  # scikit-learn's column order
    by_label = raw[:, [CLASSES.index(c) for c in lexical]]
    assert out["log_loss"].value == pytest.approx(log_loss(refs, by_label, labels=lexical))
    assert np.mean(out["log_loss"].per_sample) == pytest.approx(out["log_loss"].value)
    assert out["brier"].value == pytest.approx(brier_score_loss(refs, by_label, labels=lexical))
    assert np.mean(out["brier"].per_sample) == pytest.approx(out["brier"].value)


def test_ece_by_hand() -> None:
    # Two samples at confidence 0.9 (one right), one at 0.55 (right): bins 13 and 8.
    probs = np.array([[0.9, 0.1, 0, 0, 0, 0], [0.9, 0.1, 0, 0, 0, 0], [0.45, 0.55, 0, 0, 0, 0]])
    truth = np.array([0, 1, 1])
    expected = (2 / 3) * abs(0.9 - 0.5) + (1 / 3) * abs(0.55 - 1.0)
    assert ece_from_stats(ece_stats(probs, truth).sum(axis=0))[0] == pytest.approx(expected)
    # Perfectly confident and right: 0; a bootstrap CI of a constant is that constant.
    sure = ece_stats(np.eye(6)[[0, 1, 2]], np.array([0, 1, 2]))
    ci = bootstrap_ci(sure, sum_statistic(ece_from_stats), n_resamples=50)
    assert ci.estimate == ci.low == ci.high == 0.0


def test_renormalised_missing_classes_and_failures_uniform() -> None:
    rows = probability_matrix([{PULPITIS: 2.0, GINGIVITIS: 2.0}, None])
    assert rows[0, CLASSES.index(PULPITIS)] == 0.5 and rows[0].sum() == pytest.approx(1)
    assert np.allclose(rows[1], 1 / 6)
    out = calibration_metrics([PULPITIS, CARIES], [{PULPITIS: 1.0}, None], [False, True])
    assert out["log_loss"].per_sample == pytest.approx([0.0, np.log(6)], abs=1e-12)


def test_answers_without_scores_skip_with_the_count() -> None:
    out = calibration_metrics([PULPITIS, CARIES], [{PULPITIS: 1.0}, None], [False, False])
    assert all(r.value is None for r in out.values())
    assert "1 of 2 answered predictions carry no class scores" in out["ece"].skipped


def test_score_reports_calibration_with_cis(synth_dir: Path, tmp_path: Path) -> None:
    test = sorted(load_checkups(synth_dir, split="test"), key=lambda c: c.checkup_id)
    lines = []
    for i, checkup in enumerate(test):
        if i == 0:  # one failure: uniform in the "all" view, absent from "answered"
            lines.append({"id": checkup.checkup_id, "task": "code_cls", "failed": True,
                          "prediction": None})
            continue
        other = GINGIVITIS if checkup.primary == PULPITIS else PULPITIS
        lines.append({"id": checkup.checkup_id, "task": "code_cls",
                      "prediction": checkup.primary, "scores": {checkup.primary: 0.8,
                                                                other: 0.2}})
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert main(["score", "--predictions", str(path), "--data", str(synth_dir), "--tasks",
                 "code_cls", "--output", str(tmp_path / "o"), "--resamples", "50",
                 "--no-embeddings"]) == 0
    document, samples = read_results(tmp_path / "o")
    cls = document.tasks["code_cls"]
    for view in (cls.metrics, cls.answered):
        for name in ("log_loss", "brier", "ece"):
            entry = view[name]
            assert entry["ci"][0] <= entry["value"] <= entry["ci"][1]
            assert "sufficient_stats" not in json.dumps(entry)
    assert cls.answered["ece"]["value"] == pytest.approx(0.2)  # always 0.8 sure, always right
    assert cls.metrics["log_loss"]["value"] > cls.answered["log_loss"]["value"]
    assert samples[0]["calibration"]["log_loss"] == pytest.approx(np.log(6))


def test_compare_adds_paired_calibration_rows(synth_dir: Path, tmp_path: Path) -> None:
    test = sorted(load_checkups(synth_dir, split="test"), key=lambda c: c.checkup_id)
    runs = {}
    for name, confidence in (("sharp", 0.9), ("vague", 0.4)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({
            "id": c.checkup_id, "task": "code_cls", "prediction": c.primary,
            "scores": {c.primary: confidence,
                       (GINGIVITIS if c.primary == PULPITIS else PULPITIS): 1 - confidence}})
            + "\n" for c in test))
        runs[name] = tmp_path / name
        assert main(["score", "--predictions", str(path), "--data", str(synth_dir), "--tasks",
                     "code_cls", "--output", str(runs[name]), "--resamples", "50",
                     "--no-embeddings"]) == 0
    out = tmp_path / "rows.json"
    assert main(["compare", str(runs["sharp"]), str(runs["vague"]), "--resamples", "100",
                 "--json", str(out)]) == 0
    rows = {r["metric"]: r for r in json.loads(out.read_text())}
    assert rows["accuracy"]["delta"] == 0
    assert rows["log_loss"]["delta"] == pytest.approx(np.log(0.4) - np.log(0.9))
    assert rows["brier"]["delta"] < 0
