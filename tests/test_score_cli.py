"""`score` and `compare` from the command line, on synthetic predictions and a peer run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_harness.cli import main
from eval_harness.data.load import load_checkups
from eval_harness.labels.classes import CLASSES
from eval_harness.results import read_results
from tests.conftest import require_shared


def _write_predictions(path: Path, checkups, *, wrong: int, unparseable: int, failed: int,
                       drop: int = 0) -> Path:
    """Correct answers except for the first few of each kind of error."""
    lines = []
    for i, c in enumerate(checkups):
        if i < drop:
            continue  # missing from the file: must count as failed
        answer = c.primary
        if i < drop + wrong:
            answer = CLASSES[(CLASSES.index(c.primary) + 1) % len(CLASSES)]
        elif i < drop + wrong + unparseable:
            answer = "Dental Caries or Gingivitis"
        line = {"id": c.checkup_id, "task": "code_cls", "prediction": answer}
        if drop + wrong + unparseable <= i < drop + wrong + unparseable + failed:
            line = {"id": c.checkup_id, "task": "code_cls", "prediction": None, "failed": True,
                    "error": "timeout"}
        lines.append(line)
        report = c.reference_report if i % 2 else c.reference_report.replace("Diagnosis", "Dx")
        lines.append({"id": c.checkup_id, "task": "code_report", "prediction": report})
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    return path


@pytest.fixture(scope="module")
def scored(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("score")
    test = load_checkups(synth_dir, split="test")
    runs = {}
    for name, kwargs in (("a", {"wrong": 1, "unparseable": 1, "failed": 1, "drop": 1}),
                         ("b", {"wrong": 4, "unparseable": 0, "failed": 0})):
        preds = _write_predictions(tmp / f"{name}.jsonl", test, **kwargs)
        out = tmp / name
        assert main(["score", "--predictions", str(preds), "--data", str(synth_dir),
                     "--output", str(out), "--resamples", "200", "--no-embeddings"]) == 0
        runs[name] = out
    return test, runs


def test_failures_count_as_wrong_and_answered_view_beside(scored) -> None:
    test, runs = scored
    document, samples = read_results(runs["a"])
    cls = document.tasks["code_cls"]
    n = len(test)
    assert (cls.n, cls.n_failed, cls.n_unparseable) == (n, 2, 1)  # dropped + failed
    assert cls.metrics["accuracy"]["value"] == pytest.approx((n - 4) / n)
    assert cls.answered["accuracy"]["value"] == pytest.approx((n - 4) / (n - 3))
    low, high = cls.metrics["macro_f1"]["ci"]
    assert low <= cls.metrics["macro_f1"]["value"] <= high
    assert document.dataset.name == "COde-synthetic"
    assert document.dataset.label_map.startswith("code-v1+")
    assert any("no prediction" in note for note in cls.notes)
    statuses = {s["status"] for s in samples if s["task"] == "code_cls"}
    assert statuses == {"ok", "unparseable", "failed"}
    # The held-out report text never appears in per-sample records, only its hash.
    report_samples = [s for s in samples if s["task"] == "code_report"]
    assert all("reference" not in s and len(s["target_sha256"]) == 64 for s in report_samples)


def test_report_metrics_have_signatures_and_skips(scored) -> None:
    _, runs = scored
    report = read_results(runs["a"])[0].tasks["code_report"]
    assert report.metrics["bleu"]["signature"].startswith("sacrebleu:")
    assert 0.5 < report.metrics["bleu_sentence_mean"]["value"] <= 1.0
    assert report.metrics["cosine"]["value"] is None and "skipped" in report.metrics["cosine"]
    assert report.metrics["primary_class_accuracy"]["value"] > 0.5
    assert "ci" in report.metrics["clinical_f1"]


def test_compare_prints_paired_table(scored, capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    _, runs = scored
    out = tmp_path / "cmp.json"
    assert main(["compare", str(runs["a"]), str(runs["b"]), "--resamples", "200",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "p Holm" in text and "accuracy" in text
    rows = json.loads(out.read_text())
    accuracy = next(r for r in rows if r["task"] == "code_cls" and r["metric"] == "accuracy")
    assert accuracy["p_mcnemar"] is not None and 0 < accuracy["p_holm"] <= 1
    # Holm adjusts the bootstrap p alone; McNemar's exact p stands beside it.
    assert accuracy["p_holm"] >= accuracy["p_bootstrap"]


def test_compare_with_itself_finds_no_difference(scored, tmp_path: Path) -> None:
    _, runs = scored
    out = tmp_path / "self.json"
    assert main(["compare", str(runs["a"]), str(runs["a"]), "--resamples", "100",
                 "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert all(r["delta"] == 0 and r["p_holm"] == 1.0 for r in rows if not r["skipped"])
    # cosine was skipped in both runs: listed with the reason, not dropped.
    cosine = next(r for r in rows if r["metric"] == "cosine")
    assert "disabled (--no-embeddings)" in cosine["skipped"]


@pytest.mark.parametrize(("lines", "expected"), [
    (['{"id": "0001-001", "task": "code_cls"'], "line 1: not JSON"),
    (['{"id": "0001-001", "task": "cls", "prediction": "x"}'], "unknown task 'cls'"),
    (['{"id": "9999-999", "task": "code_cls", "prediction": "Pulpitis"}'],
     "ids not in the references"),
    (['{"id": "0001-001", "task": "code_cls", "prediction": "x", "scores": {"Flu": 1}}'],
     "line 1, checkup 0001-001: 'scores' must map class names"),
    (['{"id": "0001-001", "task": "code_cls", "prediction": "x", "scores": {"Pulpitis": -1}}'],
     "line 1, checkup 0001-001: 'scores' must map class names to finite non-negative"),
    (['{"id": "0001-001", "task": "code_cls", "prediction": "x", "meta": "gpt-4o"}'],
     "line 1, checkup 0001-001: 'meta' must be an object"),
])
def test_bad_predictions_give_clear_errors(lines, expected, synth_dir: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert main(["score", "--predictions", str(path), "--data", str(synth_dir),
                 "--output", str(tmp_path / "out"), "--no-embeddings"]) == 1
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "out" / "results.json").exists()  # nothing half-written


def test_duplicate_prediction_names_both_lines(synth_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cid = load_checkups(synth_dir, split="test")[0].checkup_id
    line = json.dumps({"id": cid, "task": "code_cls", "prediction": "Pulpitis"})
    path = tmp_path / "dup.jsonl"
    path.write_text(f"{line}\n{line}\n")
    assert main(["score", "--predictions", str(path), "--data", str(synth_dir),
                 "--output", str(tmp_path / "o"), "--tasks", "code_cls"]) == 1
    assert "line 2" in capsys.readouterr().err


def test_references_file(synth_dir: Path, tmp_path: Path) -> None:
    test = load_checkups(synth_dir, split="test")
    refs = tmp_path / "refs.jsonl"
    refs.write_text("".join(json.dumps({"id": c.checkup_id, "class": c.primary}) + "\n"
                            for c in test))
    preds = _write_predictions(tmp_path / "p.jsonl", test, wrong=0, unparseable=0, failed=0)
    assert main(["score", "--predictions", str(preds), "--references", str(refs),
                 "--tasks", "code_cls", "--output", str(tmp_path / "o")]) == 0
    document, _ = read_results(tmp_path / "o")
    assert document.tasks["code_cls"].metrics["accuracy"]["value"] == 1.0


def test_peer_run_counts_its_failures(tmp_path: Path) -> None:
    peer = require_shared()
    run = peer / "sft" / "InternVL3_5-1B-HF-SFT"
    assert main(["score", "--peer-run", str(run), "--tasks", "code_cls",
                 "--output", str(tmp_path / "o"), "--resamples", "100"]) == 0
    cls = read_results(tmp_path / "o")[0].tasks["code_cls"]
    # The peer drops its one failed checkup (599 kept); we score all 600.
    assert cls.n == 600 and cls.n_failed == 1
    peer_metrics = json.loads((run / "code_classification" / "metrics.json").read_text())
    assert peer_metrics["total_samples"] == 599
    assert round(cls.answered["accuracy"]["value"], 3) == peer_metrics["accuracy"]


def test_compare_reports_the_documented_clinical_f1(scored, tmp_path: Path) -> None:
    """The paired row for clinical_f1 is the macro-F1 itself, not a per-sample mean."""
    _, runs = scored
    out = tmp_path / "cmp.json"
    assert main(["compare", str(runs["a"]), str(runs["b"]), "--resamples", "50",
                 "--json", str(out)]) == 0
    row = next(r for r in json.loads(out.read_text()) if r["metric"] == "clinical_f1")
    for side, run in (("a", runs["a"]), ("b", runs["b"])):
        documented = read_results(run)[0].tasks["code_report"].metrics["clinical_f1"]["value"]
        assert row[side] == pytest.approx(documented)
