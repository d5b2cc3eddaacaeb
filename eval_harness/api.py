"""The harness as a library: the one entry point the CLI, the leaderboard worker and
the app call. No argparse, no printing, no process exit.

- ``score_predictions(predictions, references, options)``: score what a model said.
- ``evaluate_model(backend, checkups, tasks, options)``: run a model, then score it
  through the very same path (so predict-then-score gives identical numbers).
- ``evaluate_on(split, backend_name, model_args, tasks, options)``: the one evaluation
  path of the ``run`` command, the leaderboard worker and the synthetic board's seeding
  (model made from the registry, the response cache, the dataset named as loaded).
- ``predict(...)``, ``write_predictions`` / ``read_predictions``, ``Scored.write``.

Failures are never lost: every metric of a task is in every results document, and a
run whose share of failed answers passes ``options.max_failure_rate`` is marked
``"degraded"`` with the rates and the commonest errors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

from eval_harness.data.checkup import Checkup
from eval_harness.errors import DataError
from eval_harness.models.base import ModelBackend
from eval_harness.predictions import (
    Prediction,
    ReferenceSet,
    align,
    read_predictions,
    references_from_checkups,
    write_predictions,
)
from eval_harness.progress import report
from eval_harness.results import ResultsDocument, write_results
from eval_harness.tasks import get_task, task_names
from eval_harness.tasks.base import ScoreOptions
from eval_harness.tasks.prompts import PromptOptions

__all__ = ["PromptOptions", "ReferenceSet", "ScoreJob", "ScoreOptions", "Scored", "Split",
           "default_cache", "evaluate_model", "evaluate_on", "load_split", "predict",
           "read_predictions", "score_many", "score_predictions", "write_predictions"]

TOP_ERRORS = 5
#: ``evaluate_model``'s hook: (predictions, this process's run stats) -> their source name
AfterPredict = Callable[[list[Prediction], Any], str | None]
DEFAULT_SCORING = ScoreOptions()
DEFAULT_PROMPT = PromptOptions()  # the `run` command's defaults too
DEFAULT_CACHE = "default"  # evaluate_on's cache: the response cache under CODEBENCH_CACHE


@dataclass
class Scored:
    """A results document and its per-sample records."""

    document: ResultsDocument
    samples: list[dict[str, Any]]

    @property
    def degraded(self) -> bool:
        return self.document.status == "degraded"

    def write(self, out_dir: Path | str) -> tuple[Path, Path]:
        """``results.json`` and ``samples.jsonl``, each written atomically."""
        return write_results(self.document, self.samples, out_dir)


@dataclass
class Split:
    checkups: list[Checkup]  # this split, in checkup id order
    everything: list[Checkup]  # every split (baselines fit on train)
    references: ReferenceSet


def load_split(data: Path, split: str, language: str) -> Split:
    """The checkups of one split; an unknown split names the splits that exist."""
    from eval_harness.data.load import dataset_name, load_checkups

    everything = load_checkups(data, language=language)
    checkups = sorted((c for c in everything if c.split == split), key=lambda c: c.checkup_id)
    if not checkups:
        present = sorted({c.split for c in everything})
        raise DataError.single(str(data), f"no {split!r} checkups; the splits here are "
                               f"{', '.join(present) or 'none'}", fix="pass --split with one "
                               "of them")
    return Split(checkups, everything, references_from_checkups(
        checkups, name=dataset_name(data), split=split, source=str(data)))


def _tasks_of(predictions: Sequence[Prediction], tasks: Sequence[str] | None,
              source: str) -> list[str]:
    present = {p.task for p in predictions}
    if tasks is None:
        return [t for t in task_names() if t in present]
    unknown = [t for t in tasks if t not in task_names()]
    if unknown:
        raise DataError.single(source, f"unknown task(s) {', '.join(unknown)}; registered: "
                               f"{', '.join(task_names())}")
    lacking = [t for t in tasks if t not in present]
    if lacking:
        raise DataError.single(source, f"no predictions for task(s) {', '.join(lacking)} "
                               f"(it has {', '.join(sorted(present)) or 'none'})",
                               fix="drop them from --tasks, or predict them")
    return list(tasks)


def score_predictions(predictions: Sequence[Prediction], references: ReferenceSet,
                      options: ScoreOptions = DEFAULT_SCORING, *,
                      tasks: Sequence[str] | None = None, model: dict[str, Any] | None = None,
                      prompt_hash: str | None = None,
                      source: str = "predictions") -> Scored:
    """Score predictions of one or more tasks (all tasks present when ``tasks`` is None).

    A reference without a prediction is a recorded failure; a prediction for an id the
    references lack, or a requested task with no prediction at all, is a DataError.
    """
    chosen = _tasks_of(predictions, tasks, source)
    results, samples = {}, []
    aligned = {}
    for name in chosen:
        aligned[name] = align(name, references.references, list(predictions), source)
        results[name], task_samples = get_task(name).score(aligned[name], options)
        report(f"scored {name}")
        samples.extend(task_samples)
    document = ResultsDocument(
        dataset=references.dataset_info(), model=model or {"backend": "predictions"},
        tasks=results, bootstrap=options.bootstrap_info(), prompt_hash=prompt_hash,
        serving=serving_summary(p for inp in aligned.values() for p in inp.predictions))
    document.status, document.failures = failure_report(document, aligned, options)
    return Scored(document, samples)


@dataclass(frozen=True)
class ScoreJob:
    """One run to score in ``score_many``: what ``score_predictions`` takes."""

    predictions: Sequence[Prediction]
    references: ReferenceSet
    tasks: Sequence[str] | None = None
    model: dict[str, Any] | None = None
    source: str = "predictions"


def peer_run_jobs(peer_dir: Path) -> tuple[list[Path], Iterator[ScoreJob]]:
    """The published runs under ``peer_dir`` (``<setting>/<model>/predictions.jsonl``) and
    a lazy stream of their score jobs, in the same order."""
    from eval_harness.predictions import read_peer_run

    runs = sorted(p.parent for p in Path(peer_dir).glob("*/*/predictions.jsonl"))
    if not runs:
        raise DataError.single(str(peer_dir), "no published runs (*/*/predictions.jsonl)")

    def jobs() -> Iterator[ScoreJob]:
        for run in runs:
            references, predictions = read_peer_run(run)
            yield ScoreJob(predictions, references, model={"backend": "predictions",
                                                          "name": run.name})

    return runs, jobs()


def _score_job(job: ScoreJob, options: ScoreOptions) -> Scored:
    return score_predictions(job.predictions, job.references, options, tasks=job.tasks,
                             model=job.model, source=job.source)


def score_many(jobs: Iterable[ScoreJob], options: ScoreOptions = DEFAULT_SCORING, *,
               workers: int = 2) -> Iterator[Scored]:
    """Score many runs (a board's seeding or rescoring), in order, over ``workers``
    processes; each worker keeps its reference memos (labels, n-grams, tokens) across
    the runs it scores. ``workers=1`` scores in this process."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if workers == 1:
        yield from (_score_job(job, options) for job in jobs)
        return
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # "spawn": a worker never inherits a parent's torch threads or open databases.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        yield from pool.map(_score_job, jobs, repeat(options), chunksize=1)


def failure_report(document: ResultsDocument, aligned: dict[str, Any],
                   options: ScoreOptions) -> tuple[str, dict[str, Any] | None]:
    """("ok" | "degraded", the failure rates per task and the commonest errors).

    A failure is a failed request or an empty answer: a broken server fails requests,
    a wrong dtype or a broken chat template often returns nothing at all. Unparseable
    answers are a model's own (wrong) answers and stay out of the rate.
    """
    errors: Counter[str] = Counter()
    rates = {}
    for name, inp in aligned.items():
        for p in inp.predictions:
            if p.failed:
                errors[p.error or "failed (no error message)"] += 1
            elif not (p.text or "").strip():
                errors["empty answer"] += 1
        bad = sum(p.failed or not (p.text or "").strip() for p in inp.predictions)
        rates[name] = bad / len(inp.predictions) if inp.predictions else 0.0
    degraded = any(rate > options.max_failure_rate for rate in rates.values())
    if not errors:
        return "ok", None
    return ("degraded" if degraded else "ok"), {
        "threshold": options.max_failure_rate,
        "rate": rates,
        "top_errors": [[message, count] for message, count in errors.most_common(TOP_ERRORS)],
    }


def serving_summary(predictions: Iterable[Prediction]) -> dict[str, Any] | None:
    """Who answered, summed over samples: a served-model or fingerprint change mid-run
    shows up as two keys. None when no prediction carries backend metadata."""
    models: Counter[str] = Counter()
    fingerprints: Counter[str] = Counter()
    usage: Counter[str] = Counter()
    retries = with_meta = 0
    for pred in predictions:
        if not pred.meta:
            continue
        with_meta += 1
        meta = pred.meta
        if meta.get("served_model"):
            models[str(meta["served_model"])] += 1
        if meta.get("system_fingerprint"):
            fingerprints[str(meta["system_fingerprint"])] += 1
        retries += int(meta.get("retries") or 0)
        for key, value in (meta.get("usage") or {}).items():
            if key in ("prompt_tokens", "completion_tokens") and isinstance(value, int):
                usage[key] += value
    if not with_meta:
        return None
    return {"samples_with_meta": with_meta, "served_models": dict(models),
            "system_fingerprints": dict(fingerprints), "retries": retries,
            "usage": dict(usage)}


def predict(backend: ModelBackend, checkups: Sequence[Checkup], tasks: Sequence[str], *,
            prompt: PromptOptions = DEFAULT_PROMPT, batch_size: int = 8,
            cache: Any = None, progress: bool = False) -> tuple[list[Prediction] | None, Any]:
    """Every (checkup, task) answered once, in task then checkup order.

    Under ``accelerate launch`` each process answers its shard and the main process
    gets everything (the others get None). Returns (predictions, this process's stats).
    """
    from eval_harness.distributed import gather, shard
    from eval_harness.runner import run_model

    ordered = sorted(checkups, key=lambda c: c.checkup_id)
    local, stats = run_model(shard(ordered), list(tasks), backend, prompt=prompt,
                             batch_size=batch_size, cache=cache, progress=progress)
    gathered = gather(local)
    if gathered is None:
        return None, stats
    order = {c.checkup_id: i for i, c in enumerate(ordered)}
    predictions = [p for task in tasks
                   for p in sorted((p for part in gathered for p in part[task]),
                                   key=lambda p: order[p.sample_id])]
    keys = {(p.sample_id, p.task) for p in predictions}
    if len(keys) != len(predictions) or len(keys) != len(ordered) * len(tasks):
        # Shards that overlap or miss checkups would be silently deduplicated by the
        # scorer's alignment: refuse instead.
        raise RuntimeError(f"gathered {len(predictions)} predictions for {len(keys)} distinct "
                           f"(checkup, task) pairs; expected {len(ordered) * len(tasks)}")
    return predictions, stats


def evaluate_model(backend: ModelBackend, checkups: Sequence[Checkup], tasks: Sequence[str],
                   options: ScoreOptions = DEFAULT_SCORING, *, dataset_name: str,
                   prompt: PromptOptions = DEFAULT_PROMPT,
                   split: str = "test", batch_size: int = 8, cache: Any = None,
                   progress: bool = False, log_samples: bool = False,
                   after_predict: AfterPredict | None = None,
                   predict_only: bool = False) -> Scored | None:
    """Run ``backend`` on ``checkups`` and score it; None on non-main processes.

    ``dataset_name`` is what was loaded (``Split.references.name``: "COde" or
    "COde-synthetic"); it has no default, so no run is labelled with another dataset.
    ``after_predict(predictions, stats)``, on the main process before scoring, may keep the
    predictions (the ``run`` command writes them) and returns what the results name as
    their source (None: "model run"); ``predict_only`` stops there (and returns None)."""
    predictions, stats = predict(backend, checkups, tasks, prompt=prompt,
                                 batch_size=batch_size, cache=cache, progress=progress)
    if predictions is None:
        return None
    source = after_predict(predictions, stats) if after_predict else None
    if predict_only:
        return None
    return score_run(predictions, checkups, tasks, options, model=backend.describe(),
                     prompt=prompt, dataset_name=dataset_name, split=split,
                     log_samples=log_samples, source=source or "model run")


def default_cache() -> Any:
    """The response cache the ``run`` command uses unless told otherwise:
    ``$CODEBENCH_CACHE/responses.sqlite``."""
    from eval_harness.runner import ResponseCache
    from eval_harness.settings import cache_dir

    return ResponseCache(cache_dir() / "responses.sqlite")


def evaluate_on(split: Split, backend_name: str, model_args: Mapping[str, Any],
                tasks: Sequence[str], options: ScoreOptions = DEFAULT_SCORING, *,
                prompt: PromptOptions = DEFAULT_PROMPT, cache: Any = DEFAULT_CACHE,
                batch_size: int = 8, progress: bool = False, seed: int = 0,
                limit: int | None = None, log_samples: bool = False,
                after_predict: AfterPredict | None = None,
                predict_only: bool = False) -> Scored | None:
    """Make the model ``backend_name`` (the registry's: hf, openai, predictions, majority,
    random) with ``model_args``, run it on the split's checkups (the first ``limit``) and
    score it, the dataset named as loaded (``split.references.name``). The one path of the
    ``run`` command, the leaderboard worker and the synthetic board's seeding, so each gets
    the same response cache (``cache``: the default one under ``$CODEBENCH_CACHE``, None
    for none, a ``ResponseCache`` or the path of one) and prompt options. None on non-main
    processes (and with ``predict_only``); see ``evaluate_model`` for ``after_predict``."""
    from eval_harness.models.registry import create_model

    train = [c for c in split.everything if c.split == "train"]
    backend = create_model(backend_name, dict(model_args), train, seed)
    if isinstance(cache, str) and cache == DEFAULT_CACHE:
        cache = default_cache()
    elif isinstance(cache, Path):
        from eval_harness.runner import ResponseCache

        cache = ResponseCache(cache)
    return evaluate_model(backend, split.checkups[:limit], tasks, options,
                          dataset_name=split.references.name, prompt=prompt,
                          split=split.references.split, batch_size=batch_size, cache=cache,
                          progress=progress, log_samples=log_samples,
                          after_predict=after_predict, predict_only=predict_only)


def score_run(predictions: Sequence[Prediction], checkups: Sequence[Checkup],
              tasks: Sequence[str], options: ScoreOptions, *, model: dict[str, Any],
              prompt: PromptOptions, dataset_name: str, split: str,
              log_samples: bool = False, source: str = "model run") -> Scored:
    """Score a model's predictions on checkups, with each sample's prompt hash."""
    from eval_harness.tasks.prompts import build_request, request_hash, templates_hash

    references = references_from_checkups(sorted(checkups, key=lambda c: c.checkup_id),
                                          name=dataset_name, split=split, source=source)
    scored = score_predictions(predictions, references, options, tasks=tasks, model=model,
                               prompt_hash=templates_hash(tasks), source=source)
    by_id = {c.checkup_id: c for c in checkups}
    for s in scored.samples:
        request = build_request(by_id[s["id"]], s["task"], prompt)
        s["prompt_sha256"] = request_hash(request)
        if log_samples:
            s["prompt"] = request.text
            s["images"] = [p.name for p in request.images]
    return scored
