"""Run a model over checkups: batching, a resumable response cache, a progress bar.

The cache (SQLite) is keyed by the model's description, task, checkup id, prompt hash
and decoding parameters, so an interrupted run resumes where it stopped and a
repeated run costs nothing. Failed responses are not cached: a rerun retries them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
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


def run_model(checkups: list[Checkup], tasks: list[str], backend: ModelBackend, *,
              prompt: PromptOptions, batch_size: int = 8, cache: ResponseCache | None = None,
              progress: bool = True) -> tuple[dict[str, list[Prediction]], RunStats]:
    """Predictions per task, in checkup order; every checkup gets one (maybe failed)."""
    from tqdm import tqdm

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
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            answers = backend.generate([r for _, r in chunk])
            if len(answers) != len(chunk):
                raise RuntimeError(f"backend returned {len(answers)} responses for "
                                   f"{len(chunk)} requests")
            fresh = dict(zip((k for k, _ in chunk), answers, strict=True))
            responses.update(fresh)
            if cache:
                cache.put_many({k: a for k, a in fresh.items() if not a.failed})
            stats.generated += len(chunk)
            bar.update(len(chunk))
    out: dict[str, list[Prediction]] = {task: [] for task in tasks}
    for key, request in zip(keys, requests, strict=True):
        r = responses[key]
        stats.failed += r.failed
        out[request.task].append(Prediction(request.sample_id, request.task, r.text,
                                            r.failed, r.error, r.scores))
    return out, stats
