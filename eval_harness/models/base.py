"""The one interface every model backend implements.

A backend turns a batch of ``Request``s (chat messages with images, built by the
task's prompt builder, independent of any backend) into one ``Response`` each. A
request that fails is a ``Response(failed=True, error=...)``: the runner records it
and the scorer counts it wrong; it is never scored as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Request:
    sample_id: str  # checkup id
    task: str  # a registered task: "code_cls", "code_report", "code_multilabel", ...
    system: str | None  # system prompt, if any
    text: str  # the user turn's text
    images: tuple[Path, ...]  # in prompt order (photographs, then radiographs)
    max_new_tokens: int
    max_pixels: int = 512 * 28 * 28  # resize bound per image (Qwen2.5-VL convention)


@dataclass
class Response:
    text: str | None
    failed: bool = False
    error: str | None = None
    scores: dict[str, float] | None = None  # class -> probability (cls score mode)
    meta: dict[str, Any] = field(default_factory=dict)  # served model, fingerprint, ...


class ModelBackend(Protocol):
    def describe(self) -> dict[str, Any]:
        """Backend, name, revision, adapter hash, decoding params: goes into results.
        Never secrets."""
        ...

    def generate(self, batch: list[Request]) -> list[Response]:
        """One response per request, in order."""
        ...
