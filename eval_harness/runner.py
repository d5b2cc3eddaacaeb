"""Run a model over checkups: batching, a resumable response cache, a progress bar.

The cache (SQLite) is keyed by the model's description, task, checkup id, prompt hash
and decoding parameters, so an interrupted run resumes where it stopped and a
repeated run costs nothing. Failed responses are not cached: a rerun retries them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval_harness.data.checkup import Checkup
from eval_harness.models.base import ModelBackend, Request, Response
from eval_harness.predictions import Prediction
from eval_harness.tasks.prompts import PromptOptions, build_request, request_hash


class ResponseCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con, con:
            con.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, "
                        "response TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get_many(self, keys: Sequence[str]) -> dict[str, Response]:
        found: dict[str, Response] = {}
        with closing(self._connect()) as con:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start:start + 500])
                marks = ",".join("?" * len(chunk))
                for key, raw in con.execute(
                        f"SELECT key, response FROM responses WHERE key IN ({marks})", chunk):
                    found[key] = Response(**json.loads(raw))
        return found

    def put_many(self, items: dict[str, Response]) -> None:
        # One transaction per batch: a killed run loses at most the batch in flight.
        with closing(self._connect()) as con, con:
            con.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?)", [
                (key, json.dumps(r.__dict__, ensure_ascii=False)) for key, r in items.items()])


def cache_key(model: dict[str, Any], request: Request) -> str:
    payload = [model, request.task, request.sample_id, request_hash(request),
               request.max_new_tokens]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class RunStats:
    requests: int = 0
    cached: int = 0
    generated: int = 0
    failed: int = 0


def answer_groups(backend: ModelBackend, requests: list[Request],
                  batch_size: int) -> Iterator[list[tuple[int, Response]]]:
    """(index, response) pairs, in groups that the runner commits to the cache together.

    A local model answers a batch at a time: one group per batch. A concurrent API
    backend (``generate_unordered``) gets every request at once, so its workers never
    wait on the slowest request of a batch, and answers are committed every
    `batch_size` completions: a killed run loses at most those and the ones in flight.
    """
    unordered = getattr(backend, "generate_unordered", None)
    if unordered is not None:
        group: list[tuple[int, Response]] = []
        for pair in unordered(requests):
            group.append(pair)
            if len(group) >= batch_size:
                yield group
                group = []
        if group:
            yield group
        return
    for start in range(0, len(requests), batch_size):
        batch = requests[start:start + batch_size]
        answers = backend.generate(batch)
        if len(answers) != len(batch):
            raise RuntimeError(f"backend returned {len(answers)} responses for "
                               f"{len(batch)} requests")
        yield list(enumerate(answers, start))


def run_model(checkups: list[Checkup], tasks: list[str], backend: ModelBackend, *,
              prompt: PromptOptions, batch_size: int = 8, cache: ResponseCache | None = None,
              progress: bool = True) -> tuple[dict[str, list[Prediction]], RunStats]:
    """Predictions per task, in checkup order; every checkup gets one (maybe failed)."""
    from tqdm import tqdm

    from eval_harness.progress import report

    if batch_size < 1:
        raise ValueError("--batch-size must be at least 1")
    model = backend.describe()
    requests = [build_request(c, task, prompt) for task in tasks for c in checkups]
    keys = [cache_key(model, r) for r in requests]
    responses: dict[str, Response] = cache.get_many(keys) if cache else {}
    stats = RunStats(requests=len(requests), cached=len(responses))
    todo = [(k, r) for k, r in zip(keys, requests, strict=True) if k not in responses]
    with tqdm(total=len(requests), initial=stats.cached, disable=not progress,
              desc=f"{model.get('backend')}:{model.get('name')}", unit="req") as bar:
        for group in answer_groups(backend, [r for _, r in todo], batch_size):
            fresh = {todo[i][0]: answer for i, answer in group}
            responses.update(fresh)
            if cache:
                cache.put_many({k: a for k, a in fresh.items() if not a.failed})
            stats.generated += len(group)
            bar.update(len(group))
            report(f"{stats.cached + stats.generated}/{stats.requests} answers")
    out: dict[str, list[Prediction]] = {task: [] for task in tasks}
    for key, request in zip(keys, requests, strict=True):
        r = responses[key]
        stats.failed += r.failed
        out[request.task].append(Prediction(request.sample_id, request.task, r.text,
                                            r.failed, r.error, r.scores, r.meta or None))
    return out, stats
