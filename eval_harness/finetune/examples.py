"""Training examples: the harness's own prompts, the task's reference answer, a loss mask.

One code path with evaluation: the request comes from ``prompts.build_request``, the images
from ``data.images.model_image`` (the pixels every backend shows), the prompt text from
``prompts.chat_messages`` rendered by the model's chat template with the generation prompt,
exactly what the hf backend feeds ``generate``. The answer is tokenised on its own and
appended, followed by ``<|im_end|>``: those tokens, and only those, carry the loss, so the
model learns the answer and to stop after it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eval_harness.data.checkup import Checkup
from eval_harness.errors import DataError
from eval_harness.models.base import Request
from eval_harness.tasks import get_task
from eval_harness.tasks.prompts import PromptOptions, build_request, chat_messages

IGNORE_INDEX = -100  # label of a position without loss (prompt, padding)
END_OF_TURN = "<|im_end|>"


@dataclass(frozen=True)
class Example:
    request: Request
    answer: str


def build_examples(checkups: Sequence[Checkup], tasks: Sequence[str], prompt: PromptOptions,
                   *, modality_dropout: float = 0.0, dropout_tasks: Sequence[str] = (),
                   seed: int = 0) -> list[Example]:
    """One example per checkup and task, in checkup order.

    ``modality_dropout``: the share of the ``dropout_tasks`` examples whose prompt leaves
    the patient facts out (age, gender, chief complaint and the rest), so that their answer
    must come from the images. Which examples is fixed by ``seed`` and the checkup id, so a
    resumed run trains on the same prompts. Evaluation never drops anything."""
    return [Example(build_request(_without_facts(c) if task in dropout_tasks
                                  and _dropped(c.checkup_id, task, modality_dropout, seed)
                                  else c, task, prompt),
                    get_task(task).reference_answer(c))
            for c in checkups for task in tasks]


def _dropped(checkup_id: str, task: str, share: float, seed: int) -> bool:
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{seed}/{task}/{checkup_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _without_facts(checkup: Checkup) -> Checkup:
    return dataclasses.replace(checkup, age=None, gender=None, texts={})


def encode_example(example: Example, processor: Any, cutoff: int) -> dict[str, Any]:
    """Token ids, labels (IGNORE_INDEX outside the answer) and pixel inputs of one example.

    Longer than ``cutoff`` tokens: the answer is cut at the end (LLaMA-Factory's cutoff);
    a prompt that alone exceeds it is an error naming the checkup, never a silent skip.
    """
    from eval_harness.data.images import model_image

    request = example.request
    images = [model_image(p, request.max_pixels, checkup_id=request.sample_id)
              for p in request.images]
    prompt = processor.apply_chat_template(chat_messages(request, len(images)), tokenize=False,
                                           add_generation_prompt=True)
    encoded = processor(text=[prompt], images=images or None, return_tensors="pt")
    prompt_ids = encoded["input_ids"][0].tolist()
    answer_ids = processor.tokenizer(example.answer + END_OF_TURN,
                                     add_special_tokens=False)["input_ids"]
    if len(prompt_ids) >= cutoff:
        raise DataError.single("training data", f"the {request.task} prompt is "
                               f"{len(prompt_ids)} tokens, at or over the cutoff {cutoff}",
                               checkup_id=request.sample_id,
                               fix="raise --cutoff or lower --max-images / --max-pixels")
    answer_ids = answer_ids[:cutoff - len(prompt_ids)]
    out = {
        "input_ids": prompt_ids + answer_ids,
        "labels": [IGNORE_INDEX] * len(prompt_ids) + answer_ids,
        # Qwen2.5-VL needs the token types for the 3-D (mrope) positions of image tokens.
        "mm_token_type_ids": encoded["mm_token_type_ids"][0].tolist() + [0] * len(answer_ids)
        if "mm_token_type_ids" in encoded else None,
    }
    if images:
        out["pixel_values"] = encoded["pixel_values"]
        out["image_grid_thw"] = encoded["image_grid_thw"]
    return out


class ExampleDataset:
    """A torch-style dataset encoding examples on access (images are read lazily, so
    a large split never sits in memory as pixels)."""

    def __init__(self, examples: Sequence[Example], processor: Any, cutoff: int) -> None:
        self.examples, self.processor, self.cutoff = list(examples), processor, cutoff

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return encode_example(self.examples[index], self.processor, self.cutoff)


class Collator:
    """Right-pads a batch (labels with IGNORE_INDEX) and stacks the image inputs."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(f["input_ids"]) for f in features)

        def padded(key: str, fill: int) -> Any:
            return torch.tensor([f[key] + [fill] * (width - len(f[key])) for f in features])

        batch = {
            "input_ids": padded("input_ids", self.pad_token_id),
            "labels": padded("labels", IGNORE_INDEX),
            "attention_mask": torch.tensor([[1] * len(f["input_ids"])
                                            + [0] * (width - len(f["input_ids"]))
                                            for f in features]),
        }
        if all(f.get("mm_token_type_ids") is not None for f in features):
            batch["mm_token_type_ids"] = padded("mm_token_type_ids", 0)
        with_images = [f for f in features if "pixel_values" in f]
        if with_images:
            batch["pixel_values"] = torch.cat([f["pixel_values"] for f in with_images])
            batch["image_grid_thw"] = torch.cat([f["image_grid_thw"] for f in with_images])
        return batch
