"""`predictions` backend: answers read from a predictions JSONL (DESIGN.md format)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval_harness.hashing import sha256_file
from eval_harness.models.base import Request, Response
from eval_harness.predictions import read_predictions


class PredictionsBackend:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.by_key = {(p.sample_id, p.task): p for p in read_predictions(self.path)}
        self.sha256 = sha256_file(self.path)

    def describe(self) -> dict[str, Any]:
        return {"backend": "predictions", "name": self.path.stem, "sha256": self.sha256}

    def generate(self, batch: list[Request]) -> list[Response]:
        out = []
        for request in batch:
            p = self.by_key.get((request.sample_id, request.task))
            if p is None:
                out.append(Response(None, failed=True, error="missing from predictions file"))
            else:
                out.append(Response(p.text, failed=p.failed, error=p.error, scores=p.scores,
                                    meta=p.meta or {}))
        return out
