"""Versioned prompt templates and the request builder for every registered task.

Each task (``eval_harness.tasks``) declares its instruction and the patient fields it
shows; this module adds the shared system prompt, the facts and the images.

Independent of any backend: fine-tuning reuses ``build_request`` for training
examples. Images go in a fixed order (photographs, then radiographs), capped by
``max_images`` with a deterministic, evenly spaced selection.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eval_harness.data.checkup import Checkup
from eval_harness.models.base import Request
from eval_harness.tasks import get_task

PROMPT_VERSION = "prompts-v1"

SYSTEM = {
    "en": "You are an experienced dentist reading an oral examination.",
    "cn": "你是一名经验丰富的口腔医生，正在阅读一次口腔检查。",
}
FACT_LABELS = {
    "en": {"age": "Age", "gender": "Gender", "chief_complaint": "Chief complaint",
           "present_illness": "Present illness", "past_medical_record": "Past medical record",
           "images": "Images: {p} intraoral photograph(s), then {r} radiograph(s)."},
    "cn": {"age": "年龄", "gender": "性别", "chief_complaint": "主诉", "present_illness": "现病史",
           "past_medical_record": "既往史",
           "images": "图像：{p}张口内照片，随后{r}张X线片。"},
}


@dataclass(frozen=True)
class PromptOptions:
    language: str = "en"
    max_images: int = 8
    max_pixels: int = 512 * 28 * 28
    max_new_tokens: dict[str, int] | None = None


def _evenly(items: tuple[str, ...], k: int) -> list[str]:
    if k >= len(items):
        return list(items)
    if k <= 0:
        return []
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def select_images(checkup: Checkup, max_images: int) -> tuple[list[str], list[str]]:
    """(photographs, radiographs) kept: radiographs get up to half the slots."""
    radios = _evenly(checkup.radiographs, min(len(checkup.radiographs), max_images // 2))
    photos = _evenly(checkup.photographs, max_images - len(radios))
    return photos, radios


def prompt_images(checkup: Checkup, max_images: int) -> tuple[Path, ...]:
    """The image files a prompt shows, in prompt order (none without an image folder)."""
    if not checkup.image_root:
        return ()
    photos, radios = select_images(checkup, max_images)
    return tuple(checkup.image_root / "Photographs" / n for n in photos) + tuple(
        checkup.image_root / "Radiographs" / n for n in radios)


def patient_facts(checkup: Checkup, task: str) -> str:
    labels = FACT_LABELS[checkup.language]
    lines = []
    if checkup.age is not None:
        lines.append(f"{labels['age']}: {checkup.age}")
    if checkup.gender:
        lines.append(f"{labels['gender']}: {checkup.gender}")
    lines += [f"{labels[f]}: {checkup.texts[f]}" for f in get_task(task).prompt_fields
              if checkup.texts.get(f)]
    return "\n".join(lines)


def build_request(checkup: Checkup, task: str, options: PromptOptions) -> Request:
    spec = get_task(task)
    if checkup.language not in spec.instructions:
        raise ValueError(f"no prompt for task {task!r} in language {checkup.language!r}")
    photos, radios = select_images(checkup, options.max_images)
    labels = FACT_LABELS[checkup.language]
    text = "\n".join(part for part in (
        labels["images"].format(p=len(photos), r=len(radios)),
        patient_facts(checkup, task),
        spec.instructions[checkup.language]) if part)
    images = prompt_images(checkup, options.max_images)
    tokens = (options.max_new_tokens or {}).get(task, spec.max_new_tokens)
    return Request(sample_id=checkup.checkup_id, task=task, system=SYSTEM[checkup.language],
                   text=text, images=images, max_new_tokens=tokens,
                   max_pixels=options.max_pixels)


def chat_messages(request: Request, n_images: int) -> list[dict]:
    """The request as chat messages for a processor's chat template: the system prompt,
    then one user turn with the images first and the text after. Evaluation (the hf
    backend) and fine-tuning both render prompts from this, so they cannot drift apart."""
    messages: list[dict] = []
    if request.system:
        messages.append({"role": "system", "content": [{"type": "text",
                                                        "text": request.system}]})
    content: list[dict] = [{"type": "image"} for _ in range(n_images)]
    content.append({"type": "text", "text": request.text})
    messages.append({"role": "user", "content": content})
    return messages


def request_hash(request: Request) -> str:
    """Per-sample prompt hash: template version, texts and image names."""
    payload = [PROMPT_VERSION, request.task, request.system, request.text,
               [p.name for p in request.images], request.max_pixels]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def templates_hash(tasks: Sequence[str]) -> str:
    """The prompt hash of a run: the shared templates and its tasks' own, as data (a
    task registered for another run does not change it)."""
    specs = [get_task(name) for name in sorted(tasks)]
    payload = [PROMPT_VERSION, SYSTEM, FACT_LABELS,
               {t.name: [t.instructions, t.prompt_fields, t.max_new_tokens] for t in specs}]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True)
                          .encode()).hexdigest()
