"""The library API the leaderboard and the app call: fingerprints, failure accounting,
the degraded status, the task registry and the multi-label track."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import pytest

from eval_harness import api
from eval_harness.compare import compare_runs
from eval_harness.data.hf import export_hf
from eval_harness.data.load import load_checkups
from eval_harness.data.sharegpt import export_jsonl
from eval_harness.labels.classes import CLASSES
from eval_harness.predictions import (
    Prediction,
    read_peer_run,
    read_predictions,
    read_references,
    references_from_checkups,
    write_references,
)
from eval_harness.tasks import get_task, register, task_names, unregister
from eval_harness.tasks.base import ScoreOptions
from tests.conftest import require_shared

FAST = ScoreOptions(resamples=50, embeddings=False)


def _refs(checkups, source="synthetic"):
    return references_from_checkups(checkups, name="COde-synthetic", split="test",
                                    source=source)


@pytest.fixture(scope="module")
def test_split(synth_dir: Path):
    return load_checkups(synth_dir, split="test")


# --------------------------------------------------------------------------- fingerprints


def _by_hand(checkups) -> str:
    """The documented definition, written out independently of the code."""
    pairs = sorted([c.checkup_id, c.primary] for c in checkups)
    payload = json.dumps(["fp-v2", checkups[0].label_map, pairs], ensure_ascii=False,
                         separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def test_same_checkups_same_fingerprint_from_every_source(synth_dir: Path, test_split,
                                                          tmp_path: Path) -> None:
    folder = _refs(test_split).dataset_info()
    assert folder.fingerprint == _by_hand(test_split)
    sharegpt = export_jsonl(test_split, tmp_path / "export.jsonl")
    hf = export_hf(test_split, tmp_path / "export.parquet")
    refs_file = write_references(_refs(test_split), tmp_path / "refs.jsonl")
    # A hand-written references file with the same pairs (no reports) and label map.
    by_hand = tmp_path / "by_hand.jsonl"
    by_hand.write_text("".join(json.dumps({"id": c.checkup_id, "class": c.primary,
                                           "label_map": c.label_map}) + "\n"
                               for c in reversed(test_split)))
    for path in (sharegpt, hf):
        info = _refs(load_checkups(path, split="test")).dataset_info()
        assert (info.fingerprint, info.reports_fingerprint) == \
            (folder.fingerprint, folder.reports_fingerprint), path
    from_file = read_references(refs_file).dataset_info()
    assert (from_file.fingerprint, from_file.reports_fingerprint) == \
        (folder.fingerprint, folder.reports_fingerprint)
    hand = read_references(by_hand).dataset_info()
    assert hand.fingerprint == folder.fingerprint and hand.reports_fingerprint is None


def test_fingerprint_changes_with_a_class_or_the_label_map(test_split, tmp_path: Path) -> None:
    base = _refs(test_split)
    moved = references_from_checkups(test_split, name="x", split="test", source="x")
    first = moved.references[0]
    other = next(c for c in CLASSES if c != first.primary)
    moved.references[0] = type(first)(first.sample_id, other, (other,), first.report)
    assert moved.dataset_info().fingerprint != base.dataset_info().fingerprint
    relabelled = references_from_checkups(test_split, name="x", split="test", source="x")
    relabelled.label_map = "code-v9+000000000000"
    assert relabelled.dataset_info().fingerprint != base.dataset_info().fingerprint


def test_two_peer_runs_share_their_fingerprint_and_compare(tmp_path: Path) -> None:
    peer = require_shared()
    runs = [peer / "sft" / "Qwen2.5-VL-7B-Instruct-SFT", peer / "baseline" / "gemini-2.5-flash"]
    scored = []
    for run in runs:
        references, predictions = read_peer_run(run)
        scored.append(api.score_predictions(predictions, references, FAST,
                                            tasks=["code_cls"], model={"name": run.name}))
    a, b = (s.document.dataset for s in scored)
    assert a.fingerprint == b.fingerprint and a.reports_fingerprint == b.reports_fingerprint
    rows = compare_runs((scored[0].document, scored[0].samples),
                        (scored[1].document, scored[1].samples), resamples=50)
    assert {r.metric for r in rows} >= {"accuracy", "macro_f1"}


def _fake_peer_run(folder: Path, checkups, out: Path, *, wrong_report: int | None = None) -> Path:
    """A peer run in the pocket-dentist format: NNNNN = position among the test rows."""
    lines = []
    for i, c in enumerate(checkups):
        report = c.reference_report + (" (edited)" if i == wrong_report else "")
        answer = CLASSES[(CLASSES.index(c.primary) + i) % len(CLASSES)]
        lines += [{"id": f"code_cls_{i:05d}", "task": "code_classification",
                   "prediction": answer, "ground_truth": c.primary},
                  {"id": f"code_rpt_{i:05d}", "task": "code_report",
                   "prediction": c.texts["diagnosis"], "ground_truth": report}]
    out.mkdir(parents=True)
    (out / "predictions.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return out


def test_a_peer_run_on_its_code_folder_gets_the_folder_fingerprint(synth_dir: Path,
                                                                   tmp_path: Path) -> None:
    from eval_harness.cli import main

    in_file_order = [c for c in load_checkups(synth_dir) if c.split == "test"]
    run = _fake_peer_run(synth_dir, in_file_order, tmp_path / "peer")
    assert main(["score", "--peer-run", str(run), "--data", str(synth_dir), "--output",
                 str(tmp_path / "mapped"), "--resamples", "20", "--no-embeddings",
                 "--quiet"]) == 0
    from eval_harness.results import read_results

    document, samples = read_results(tmp_path / "mapped")
    folder = _refs(sorted(in_file_order, key=lambda c: c.checkup_id)).dataset_info()
    assert (document.dataset.fingerprint, document.dataset.reports_fingerprint) == \
        (folder.fingerprint, folder.reports_fingerprint)
    # Position i answered class (primary + i): right exactly where i % 6 == 0.
    correct = {s["id"]: s["correct"] for s in samples if s["task"] == "code_cls"}
    assert correct == {c.checkup_id: float(i % len(CLASSES) == 0)
                       for i, c in enumerate(in_file_order)}


def test_a_peer_run_on_the_wrong_folder_is_refused(synth_dir: Path, tmp_path: Path) -> None:
    from eval_harness.errors import DataError
    from eval_harness.predictions import peer_run_on_checkups

    everything = load_checkups(synth_dir)
    test = [c for c in everything if c.split == "test"]
    run = _fake_peer_run(synth_dir, test, tmp_path / "peer", wrong_report=3)
    references, predictions = read_peer_run(run)
    with pytest.raises(DataError, match=r"1 of the peer run's references differ .* 00003"):
        peer_run_on_checkups(references, predictions, everything, name="x", source="run")


# --------------------------------------------------------------------------- scoring API


def _predictions(checkups, task="code_cls", *, failed=0, wrong=0):
    out = []
    for i, c in enumerate(checkups):
        if i < failed:
            out.append(Prediction(c.checkup_id, task, None, True, "CUDA error: bad dtype"))
            continue
        answer = get_task(task).reference_answer(c)
        if i < failed + wrong and task == "code_cls":
            answer = CLASSES[(CLASSES.index(c.primary) + 1) % len(CLASSES)]
        out.append(Prediction(c.checkup_id, task, answer))
    return out


def test_score_predictions_and_write_read_round_trip(test_split, tmp_path: Path) -> None:
    preds = _predictions(test_split, wrong=3)
    path = api.write_predictions(preds, tmp_path / "p.jsonl")
    assert read_predictions(path) == preds
    scored = api.score_predictions(read_predictions(path), _refs(test_split), FAST)
    n = len(test_split)
    assert list(scored.document.tasks) == ["code_cls"]
    assert scored.document.tasks["code_cls"].metrics["accuracy"]["value"] == (n - 3) / n
    assert scored.document.status == "ok" and scored.document.failures is None
    results, samples = scored.write(tmp_path / "out")
    assert json.loads(results.read_text())["dataset"]["fingerprint"] == _by_hand(test_split)
    assert samples.read_text().count("\n") == n


def test_a_report_run_whose_answers_all_failed_keeps_every_metric(test_split) -> None:
    preds = _predictions(test_split, "code_report", failed=len(test_split))
    scored = api.score_predictions(preds, _refs(test_split), FAST)
    report = scored.document.tasks["code_report"]
    from eval_harness.tasks.code_report import METRICS

    assert list(report.metrics) == list(METRICS) == list(report.answered)
    assert report.primary_metric in report.metrics
    for name, entry in report.metrics.items():
        if name == "cosine":  # switched off: present, with its reason
            assert entry["value"] is None and "--no-embeddings" in entry["skipped"]
            continue
        assert entry["value"] == 0.0, name
    for name, entry in report.answered.items():
        assert entry["value"] is None and entry["skipped"], name
    assert "every answer failed" in report.answered["bleu_sentence_mean"]["skipped"]
    assert scored.document.status == "degraded"
    assert scored.document.failures["rate"] == {"code_report": 1.0}
    assert scored.document.failures["top_errors"] == [["CUDA error: bad dtype",
                                                       len(test_split)]]


class _RefusingEmbedder:
    signature = "test-embedder"

    def cosine(self, hypotheses, references):
        raise AssertionError("nothing was answered: nothing to embed")


def test_all_failed_reports_score_cosine_zero_without_embedding(test_split) -> None:
    preds = _predictions(test_split, "code_report", failed=len(test_split))
    options = ScoreOptions(resamples=20, embedder=_RefusingEmbedder())
    cosine = api.score_predictions(preds, _refs(test_split), options).document \
        .tasks["code_report"].metrics["cosine"]
    assert cosine["value"] == 0.0 and cosine["signature"] == "test-embedder"


def test_failure_threshold_marks_degraded(test_split) -> None:
    n = len(test_split)
    just_under = int(0.2 * n)
    ok = api.score_predictions(_predictions(test_split, failed=just_under), _refs(test_split),
                               FAST)
    assert ok.document.status == "ok" and ok.document.failures["rate"]["code_cls"] <= 0.2
    over = api.score_predictions(_predictions(test_split, failed=just_under + 1),
                                 _refs(test_split), FAST)
    assert over.degraded


def test_requested_task_without_predictions_is_an_error(test_split) -> None:
    from eval_harness.errors import DataError

    with pytest.raises(DataError, match=r"no predictions for task.*code_report"):
        api.score_predictions(_predictions(test_split), _refs(test_split), FAST,
                              tasks=["code_cls", "code_report"])


def test_unknown_task_is_an_error_naming_the_registered_ones(test_split) -> None:
    from eval_harness.errors import DataError

    with pytest.raises(DataError, match=r"unknown task.*code_xyz; registered: code_cls"):
        api.score_predictions(_predictions(test_split), _refs(test_split), FAST,
                              tasks=["code_xyz"])


def test_no_embeddings_computes_no_embedding(test_split, monkeypatch) -> None:
    from eval_harness.metrics import embeddings

    def refuse(*args, **kwargs):
        raise AssertionError("an embedding was computed with embeddings switched off")

    monkeypatch.setattr(embeddings, "default_embedder", refuse)
    monkeypatch.setattr(embeddings, "MiniLMEmbedder", refuse)
    scored = api.score_predictions(_predictions(test_split, "code_report"), _refs(test_split),
                                   FAST)
    assert scored.document.tasks["code_report"].metrics["cosine"]["value"] is None


def test_evaluate_model_equals_predict_then_score(synth_dir: Path, test_split) -> None:
    from eval_harness.models.baselines import MajorityBackend

    train = load_checkups(synth_dir, split="train")
    backend = MajorityBackend(train)
    tasks = ["code_cls", "code_multilabel"]
    scored = api.evaluate_model(backend, test_split, tasks, FAST,
                                dataset_name="COde-synthetic")
    preds, _ = api.predict(backend, test_split, tasks)
    again = api.score_predictions(preds, _refs(test_split), FAST, tasks=tasks)
    for task in tasks:
        assert scored.document.tasks[task].metrics == again.document.tasks[task].metrics
    assert all(len(s["prompt_sha256"]) == 64 for s in scored.samples)
    # The majority baseline answers its exemplar's answer for every task.
    exemplar = backend.exemplar
    assert {p.text for p in preds if p.task == "code_cls"} == {exemplar.primary}


# --------------------------------------------------------------------------- multi-label


@pytest.mark.parametrize(("text", "status", "labels"), [
    ("Dental Caries, Gingivitis", "ok", ("Dental Caries", "Gingivitis")),
    ("gingivitis and dental caries.", "ok", ("Dental Caries", "Gingivitis")),
    ("None", "ok", ()),
    ("无", "ok", ()),
    ("龋病、牙龈炎", "ok", ("Dental Caries", "Gingivitis")),
    ("I am not sure", "unparseable", None),
    ("", "unparseable", None),
])
def test_class_set_extraction(text, status, labels) -> None:
    from eval_harness.labels.class_answers import extract_class_set

    got = extract_class_set(text)
    assert (got.status, got.labels) == (status, labels), got.reason


def test_multilabel_scores_equal_sklearn(test_split) -> None:
    from sklearn.metrics import f1_score, hamming_loss
    from sklearn.preprocessing import MultiLabelBinarizer

    rng = random.Random(3)
    preds, truth, guess = [], [], []
    for c in test_split:
        chosen = sorted(rng.sample(CLASSES, rng.randint(0, 2)))
        text = ", ".join(chosen) if chosen else "none"
        if rng.random() < 0.1:
            preds.append(Prediction(c.checkup_id, "code_multilabel", "no idea"))
            chosen = []
        else:
            preds.append(Prediction(c.checkup_id, "code_multilabel", text))
        truth.append(set(c.classes))
        guess.append(set(chosen))
    scored = api.score_predictions(preds, _refs(test_split), FAST)
    result = scored.document.tasks["code_multilabel"]
    binarizer = MultiLabelBinarizer(classes=list(CLASSES))
    y, p = binarizer.fit_transform(truth), binarizer.transform(guess)
    expected = {"micro_f1": f1_score(y, p, average="micro", zero_division=0),
                "macro_f1": f1_score(y, p, average="macro", zero_division=0),
                "exact_match": float(np.mean([a == b for a, b in zip(truth, guess,
                                                                     strict=True)])),
                "hamming_loss": hamming_loss(y, p)}
    for name, value in expected.items():
        entry = result.metrics[name]
        assert entry["value"] == pytest.approx(value), name
        assert entry["ci"][0] <= entry["value"] <= entry["ci"][1], name
    assert result.n_unparseable == sum(p.text == "no idea" for p in preds)
    assert result.primary_metric == "micro_f1"


def test_multilabel_statistics_from_counts_equal_sklearn() -> None:
    """The bootstrap statistics (summed TP/FP/FN) give sklearn's values on any sample."""
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    from eval_harness.tasks.code_multilabel import (
        macro_f1_from_counts,
        micro_f1_from_counts,
        set_counts,
    )

    rng = random.Random(11)
    truth = [set(rng.sample(CLASSES, rng.randint(1, 3))) for _ in range(40)]
    guess = [set(rng.sample(CLASSES[:4], rng.randint(0, 2))) for _ in range(40)]
    sums = np.array([set_counts(sorted(t), sorted(g)) for t, g in zip(truth, guess,
                                                                      strict=True)]).sum(0)
    binarizer = MultiLabelBinarizer(classes=list(CLASSES))
    y, p = binarizer.fit_transform(truth), binarizer.transform(guess)
    assert micro_f1_from_counts(sums[None])[0] == pytest.approx(
        f1_score(y, p, average="micro", zero_division=0))
    assert macro_f1_from_counts(sums[None])[0] == pytest.approx(
        f1_score(y, p, average="macro", zero_division=0))


# --------------------------------------------------------------------------- registry


def test_a_fourth_task_is_one_registration(synth_dir: Path, test_split) -> None:
    """A toy task: answer the patient's checkup id. Registered, it is prompted, answered
    by the baselines, scored and compared without any other change."""
    from eval_harness.models.baselines import MajorityBackend
    from eval_harness.paired import Stat
    from eval_harness.results import TaskResult
    from eval_harness.tasks.base import Task

    def score(inp, options):
        correct = [float(p.text == r.sample_id) for p, r in zip(inp.predictions, inp.references,
                                                                strict=True)]
        value = sum(correct) / len(correct)
        return TaskResult(inp.task, "exact", len(correct), 0, 0,
                          {"exact": {"value": value}}, {"exact": {"value": value}}), \
            [{"id": r.sample_id, "task": inp.task, "correct": c}
             for r, c in zip(inp.references, correct, strict=True)]

    def statistics(records):
        import numpy as np

        return {"exact": Stat(np.array([r["correct"] for r in records]))}

    register(Task(name="toy_id", description="echo the checkup id",
                  instructions={"en": "Which checkup is this?"}, max_new_tokens=8,
                  prompt_fields=(), primary_metric="exact",
                  reference_answer=lambda c: c.checkup_id, score=score,
                  statistics=statistics))
    try:
        assert "toy_id" in task_names()
        backend = MajorityBackend(load_checkups(synth_dir, split="train"))
        scored = api.evaluate_model(backend, test_split, ["toy_id"], FAST,
                                    dataset_name="COde-synthetic")
        # The majority baseline answers one exemplar's id: right for none of the test split.
        assert scored.document.tasks["toy_id"].metrics["exact"]["value"] == 0.0
        perfect = [Prediction(c.checkup_id, "toy_id", c.checkup_id) for c in test_split]
        assert api.score_predictions(perfect, _refs(test_split), FAST).document \
            .tasks["toy_id"].metrics["exact"]["value"] == 1.0
    finally:
        unregister("toy_id")
    assert "toy_id" not in task_names()


# --------------------------------------------------------------------------- statistics


def test_holm_takes_the_bootstrap_p_and_mcnemar_stands_beside(test_split) -> None:
    """Run B is right on 5 more checkups than A: McNemar's exact p (2 * 0.5**5 = 0.0625)
    differs from the bootstrap p, and Holm adjusts the bootstrap p only."""
    refs = _refs(test_split)
    a = api.score_predictions(_predictions(test_split, wrong=8), refs, FAST)
    b = api.score_predictions(_predictions(test_split, wrong=3), refs, FAST)
    rows = compare_runs((a.document, a.samples), (b.document, b.samples), resamples=400)
    accuracy = next(r for r in rows if r.metric == "accuracy")
    assert accuracy.p_mcnemar == pytest.approx(0.0625)
    assert accuracy.p_bootstrap != pytest.approx(0.0625)
    tested = [r for r in rows if r.p_bootstrap is not None]
    m = len(tested)
    smallest = min(tested, key=lambda r: r.p_bootstrap)
    assert smallest.p_holm == pytest.approx(min(1.0, m * smallest.p_bootstrap))


def test_compare_refuses_runs_scored_against_different_reports(test_split) -> None:
    from dataclasses import replace

    from eval_harness.errors import DataError

    refs = _refs(test_split)
    edited = _refs(test_split)
    edited.references[0] = replace(edited.references[0],
                                   report=edited.references[0].report + " Edited.")
    preds = _predictions(test_split, "code_report")
    a = api.score_predictions(preds, refs, FAST)
    b = api.score_predictions(preds, edited, FAST)
    assert a.document.dataset.fingerprint == b.document.dataset.fingerprint
    with pytest.raises(DataError, match="different reference reports"):
        compare_runs((a.document, a.samples), (b.document, b.samples), resamples=20)
    # Classification alone does not read the reports: those runs do compare.
    c = api.score_predictions(_predictions(test_split), refs, FAST)
    d = api.score_predictions(_predictions(test_split), edited, FAST)
    assert compare_runs((c.document, c.samples), (d.document, d.samples), resamples=20)
