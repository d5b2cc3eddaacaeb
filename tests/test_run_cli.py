"""`run`: backends from the CLI, resume from the response cache, --limit, bad arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_harness.cli import main
from eval_harness.data.load import load_checkups
from eval_harness.models.base import Request, Response
from eval_harness.results import read_results
from eval_harness.runner import ResponseCache, run_model
from eval_harness.tasks.prompts import PromptOptions, build_request
from tests.fake_openai_server import (
    FINGERPRINT,
    SERVED_MODEL,
    FakeOpenAIServer,
    Fault,
    first_n,
)

FAST = ["--no-embeddings", "--resamples", "50", "--quiet"]


def _run(synth_dir: Path, out: Path, *extra: str) -> int:
    return main(["run", "--data", str(synth_dir), "--output", str(out),
                 "--cache", str(out.parent / "cache.sqlite"), *FAST, *extra])


@pytest.mark.parametrize("model", ["majority", "random"])
def test_baselines_produce_results(model: str, synth_dir: Path, tmp_path: Path) -> None:
    assert _run(synth_dir, tmp_path / model, "--model", model) == 0
    document, samples = read_results(tmp_path / model)
    assert document.model["backend"] == model and document.prompt_hash
    assert document.dataset.name == "COde-synthetic"
    n = document.dataset.size
    assert document.tasks["code_cls"].n == document.tasks["code_report"].n == n
    assert all(len(s["prompt_sha256"]) == 64 for s in samples)


def test_multilabel_task_runs_from_the_cli(synth_dir: Path, tmp_path: Path) -> None:
    """The majority baseline answers its exemplar's class set for every checkup; the
    scores follow from the test split's class sets (computed here by hand)."""
    assert _run(synth_dir, tmp_path / "ml", "--model", "majority",
                "--tasks", "code_multilabel") == 0
    document, samples = read_results(tmp_path / "ml")
    result = document.tasks["code_multilabel"]
    answer = {s["prediction"] for s in samples}
    assert len(answer) == 1
    guess = set(answer.pop().split(", "))
    test = load_checkups(synth_dir, split="test")
    exact = sum(set(c.classes) == guess for c in test) / len(test)
    assert result.metrics["exact_match"]["value"] == pytest.approx(exact)
    tp = sum(len(set(c.classes) & guess) for c in test)
    fp = sum(len(guess - set(c.classes)) for c in test)
    fn = sum(len(set(c.classes) - guess) for c in test)
    assert result.metrics["micro_f1"]["value"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert result.primary_metric == "micro_f1" and "code_cls" not in document.tasks


def test_predict_only_then_score_gives_identical_numbers(synth_dir: Path,
                                                          tmp_path: Path) -> None:
    assert _run(synth_dir, tmp_path / "full", "--model", "random", "--seed", "3") == 0
    assert _run(synth_dir, tmp_path / "pred", "--model", "random", "--seed", "3",
                "--predict-only") == 0
    assert not (tmp_path / "pred" / "results.json").exists()
    assert main(["score", "--predictions", str(tmp_path / "pred" / "predictions.jsonl"),
                 "--data", str(synth_dir), "--output", str(tmp_path / "scored"), "--seed", "3",
                 *FAST[:3]]) == 0
    full, scored = read_results(tmp_path / "full")[0], read_results(tmp_path / "scored")[0]
    for task in ("code_cls", "code_report"):
        assert full.tasks[task].metrics == scored.tasks[task].metrics


def test_predictions_backend_and_limit(synth_dir: Path, tmp_path: Path) -> None:
    test = sorted(load_checkups(synth_dir, split="test"), key=lambda c: c.checkup_id)
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"id": c.checkup_id, "task": "code_cls",
                                         "prediction": c.primary}) + "\n" for c in test))
    assert _run(synth_dir, tmp_path / "o", "--model", "predictions", "--model-args",
                f"path={preds}", "--tasks", "code_cls", "--limit", "5") == 0
    cls = read_results(tmp_path / "o")[0].tasks["code_cls"]
    assert cls.n == 5 and cls.metrics["accuracy"]["value"] == 1.0


def test_openai_backend_through_the_cli(synth_dir: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    script = first_n(2, Fault(status=500))
    # Answers are held until 5 requests were in flight at once: overlapping requests
    # release them at once; --batch-size 4 at a time would never get there (timing-free).
    with FakeOpenAIServer(script=script, answer=lambda body: "Pulpitis",
                          hold_until_in_flight=5) as server:
        args = f"model=gpt-4o,base_url={server.base_url},max_retries=3,timeout=5"
        assert _run(synth_dir, tmp_path / "o", "--model", "openai", "--model-args", args,
                    "--tasks", "code_cls", "--batch-size", "4") == 0
        # Same run again, predict-only (from the cache), then scored offline.
        assert _run(synth_dir, tmp_path / "p", "--model", "openai", "--model-args", args,
                    "--tasks", "code_cls", "--predict-only") == 0
    document, samples = read_results(tmp_path / "o")
    assert document.tasks["code_cls"].n_failed == 0
    # What answered is recorded per sample and summed in the document (item 4).
    n = document.dataset.size
    assert document.serving == {
        "samples_with_meta": n, "served_models": {SERVED_MODEL: n},
        "system_fingerprints": {FINGERPRINT: n}, "retries": 2,
        "usage": {"prompt_tokens": sum(s["meta"]["usage"]["prompt_tokens"] for s in samples),
                  "completion_tokens": n}}
    assert all(s["meta"]["served_model"] == SERVED_MODEL for s in samples)
    # The concurrent backend got whole waves, not --batch-size 4 at a time.
    assert server.max_in_flight > 4
    assert main(["score", "--predictions", str(tmp_path / "p" / "predictions.jsonl"),
                 "--data", str(synth_dir), "--output", str(tmp_path / "s"), "--tasks",
                 "code_cls", *FAST[:3]]) == 0
    assert read_results(tmp_path / "s")[0].serving == document.serving
    text = (tmp_path / "o" / "results.json").read_text() + json.dumps(samples)
    assert "sk-test-secret-123" not in text


class FlakyBackend:
    """Answers the first `fail_after` batches, then dies like a killed process."""

    def __init__(self, fail_after: int | None) -> None:
        self.fail_after = fail_after
        self.batches = 0
        self.seen: list[str] = []

    def describe(self) -> dict:
        return {"backend": "test", "name": "flaky"}

    def generate(self, batch: list[Request]) -> list[Response]:
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise KeyboardInterrupt
        self.batches += 1
        self.seen += [r.sample_id for r in batch]
        return [Response("Pulpitis") for _ in batch]


class FlakyStreamingBackend(FlakyBackend):
    """A concurrent API backend: answers arrive out of order; dies after `fail_after`
    answers."""

    def generate_unordered(self, batch: list[Request]):
        for index in reversed(range(len(batch))):
            if self.fail_after is not None and self.batches >= self.fail_after:
                raise KeyboardInterrupt
            self.batches += 1
            self.seen.append(batch[index].sample_id)
            yield index, Response(f"Pulpitis {batch[index].sample_id}")


@pytest.mark.parametrize(("flaky", "fail_after"), [(FlakyBackend, 2),
                                                   (FlakyStreamingBackend, 6)])
def test_resume_after_a_killed_run(flaky, fail_after: int, synth_dir: Path,
                                   tmp_path: Path) -> None:
    checkups = load_checkups(synth_dir, split="test")
    cache = ResponseCache(tmp_path / "cache.sqlite")
    with pytest.raises(KeyboardInterrupt):
        run_model(checkups, ["code_cls"], flaky(fail_after=fail_after),
                  prompt=PromptOptions(), batch_size=3, cache=cache, progress=False)
    resumed = flaky(fail_after=None)
    preds, stats = run_model(checkups, ["code_cls"], resumed, prompt=PromptOptions(),
                             batch_size=3, cache=cache, progress=False)
    assert stats.cached == 6 and stats.generated == len(checkups) - 6
    assert len(preds["code_cls"]) == len(checkups)
    # Answers land on their own checkup whatever order they arrived in.
    assert all(p.sample_id in p.text for p in preds["code_cls"] if p.text != "Pulpitis")
    again = flaky(fail_after=0)  # a repeated completed run generates nothing
    _, stats = run_model(checkups, ["code_cls"], again, prompt=PromptOptions(), batch_size=3,
                         cache=cache, progress=False)
    assert stats.generated == 0 and stats.cached == len(checkups)


def test_prompt_is_deterministic_and_capped(synth_dir: Path) -> None:
    checkup = max(load_checkups(synth_dir), key=lambda c: len(c.photographs))
    request = build_request(checkup, "code_report", PromptOptions(max_images=2))
    assert len(request.images) <= 2
    assert request == build_request(checkup, "code_report", PromptOptions(max_images=2))
    assert "Write the complete diagnostic report" in request.text


@pytest.mark.parametrize(("args", "message", "code"), [
    (["--model", "nope"], "invalid choice", 2),
    (["--model", "majority", "--model-args", "x"], "is not key=value", 2),
    (["--model", "majority", "--model-args", "a=1"], "takes no --model-args", 2),
    (["--model", "majority", "--tasks", "code_xyz"], "--tasks: unknown task(s) code_xyz", 2),
    (["--model", "majority", "--tasks", ","], "--tasks names no task", 2),
    (["--model", "majority", "--limit", "0"], "--limit must be at least 1", 2),
    (["--model", "majority", "--split", "tset"],
     "no 'tset' checkups; the splits here are test, train", 1),
    (["--model", "majority", "--cls-mode", "score"], "only --model hf can compute", 2),
    (["--model", "hf", "--model-args", "model=x,cls_mode=generate", "--cls-mode", "score"],
     "contradicts --model-args cls_mode=generate", 2),
    (["--model", "hf", "--model-args", "model=/nowhere/qwen"], "/nowhere/qwen: no such folder", 1),
    (["--model", "hf", "--model-args", "model=nobody/not-cached-model"],
     "nobody/not-cached-model", 1),
])
def test_bad_arguments(args, message, code, synth_dir: Path, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    """Usage errors exit 2, data errors 1: one line each, never a traceback."""
    try:
        got = _run(synth_dir, tmp_path / "o", *args)
    except SystemExit as exit_:  # argparse
        got = exit_.code
    err = capsys.readouterr().err
    assert got == code, err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err  # one line, not the whole usage


def test_output_naming_an_existing_file_is_refused(synth_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "results.txt"
    existing.write_text("keep me")
    assert _run(synth_dir, existing, "--model", "majority") == 2
    err = capsys.readouterr().err
    assert "--output" in err and "is an existing file" in err
    assert existing.read_text() == "keep me"


def test_missing_data_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path / "nowhere", tmp_path / "o", "--model", "majority") == 1
    assert "no such dataset" in capsys.readouterr().err
