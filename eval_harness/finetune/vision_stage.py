"""Stage 1 of a vision-first recipe: the vision tower and its merger learn image -> class.

Large vision-language models align their vision side before the language model is tuned.
The tiny demo's tower starts from random weights, and in a single SFT stage the text
shortcut (the chief complaint) wins over the pixels. So a recipe with ``vision_epochs > 0``
first trains the tower on the train split's images, each labelled with its checkup's
primary class, through a temporary linear head on the max-pooled merged tokens (the very
tokens the language model later reads). The head is dropped afterwards; stage 2 (the SFT,
:mod:`eval_harness.finetune.train`) starts from the tower this stage leaves.

The images are the ones the prompts show (``prompts.prompt_images``, ``model_image`` at the
recipe's ``max_pixels``), so both stages see the same pixels. The stage is resumable: after
each epoch the tower, head, optimizer and schedule go to ``trainer/vision-stage.pt`` in the
output folder; a rerun continues with the next epoch, and a finished stage is not run again.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval_harness.data.checkup import Checkup
from eval_harness.finetune.recipes import Recipe
from eval_harness.labels.classes import CLASSES

STATE_FILE = "vision-stage.pt"


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    label: int  # index in CLASSES of the checkup's primary class
    checkup_id: str


def labelled_images(checkups: Sequence[Checkup], max_images: int) -> list[LabelledImage]:
    """The images each checkup's prompt shows, labelled with its primary class; checkups
    without a primary class or without images give none."""
    from eval_harness.tasks.prompts import prompt_images

    return [LabelledImage(path, CLASSES.index(checkup.primary), checkup.checkup_id)
            for checkup in checkups if checkup.primary is not None
            for path in prompt_images(checkup, max_images)]


def _encode(images: Sequence[LabelledImage], processor: Any, max_pixels: int) -> Any:
    from eval_harness.data.images import model_image

    pictures = [model_image(i.path, max_pixels, checkup_id=i.checkup_id) for i in images]
    return processor.image_processor(images=pictures, return_tensors="pt")


class PooledHead:
    """The model's own image features (tower + merger), max-pooled per image, then a
    linear layer to the classes: the temporary head of stage 1."""

    def __init__(self, model: Any) -> None:
        from torch import nn

        self.model = model
        width = model.config.vision_config.out_hidden_size
        self.linear = nn.Linear(width, len(CLASSES))

    def parameters(self) -> list[Any]:
        return [*vision_parameters(self.model), *self.linear.parameters()]

    def __call__(self, pixel_values: Any, grid: Any) -> Any:
        import torch

        features = self.model.model.get_image_features(pixel_values=pixel_values,
                                                        image_grid_thw=grid).pooler_output
        return self.linear(torch.stack([tokens.max(0).values for tokens in features]))


def vision_parameters(model: Any) -> list[Any]:
    """The tower's and merger's parameters (``model.visual`` holds both)."""
    return list(model.model.visual.parameters())


def _state_path(output: Path) -> Path:
    from eval_harness.finetune.train import TRAINER_DIR

    return output / TRAINER_DIR / STATE_FILE


def _accuracy(head: PooledHead, images: list[LabelledImage], processor: Any,
              recipe: Recipe) -> float:
    """Share of checkups whose images' mean log-probabilities pick the right class."""
    import torch

    by_checkup: dict[str, list[Any]] = {}
    labels: dict[str, int] = {}
    with torch.no_grad():
        for start in range(0, len(images), recipe.vision_batch_size):
            batch = images[start:start + recipe.vision_batch_size]
            encoded = _encode(batch, processor, recipe.max_pixels)
            scores = head(encoded["pixel_values"], encoded["image_grid_thw"]).log_softmax(-1)
            for image, row in zip(batch, scores, strict=True):
                by_checkup.setdefault(image.checkup_id, []).append(row)
                labels[image.checkup_id] = image.label
    right = sum(int(torch.stack(rows).mean(0).argmax()) == labels[cid]
                for cid, rows in by_checkup.items())
    return right / max(len(by_checkup), 1)


def train_vision_stage(model: Any, processor: Any, train: Sequence[Checkup],
                       validation: Sequence[Checkup], recipe: Recipe, output: Path, *,
                       resume: bool = True,
                       report: Callable[[dict], None] = lambda entry: None) -> list[dict]:
    """Train ``model``'s tower in place for ``recipe.vision_epochs`` epochs; returns the
    log entries (one per epoch: mean loss, validation accuracy per checkup)."""
    import torch
    from transformers import get_cosine_schedule_with_warmup

    images = labelled_images(train, recipe.max_images)
    held_out = labelled_images(validation, recipe.max_images)
    epochs = int(recipe.vision_epochs)
    if epochs < 1 or not images:
        return []
    torch.manual_seed(recipe.seed)
    head = PooledHead(model)
    optimizer = torch.optim.AdamW(head.parameters(), lr=recipe.vision_learning_rate,
                                  weight_decay=recipe.weight_decay)
    steps_per_epoch = -(-len(images) // recipe.vision_batch_size)
    schedule = get_cosine_schedule_with_warmup(
        optimizer, int(recipe.warmup_ratio * epochs * steps_per_epoch),
        epochs * steps_per_epoch)
    state_path = _state_path(output)
    log: list[dict] = []
    first = 0
    if resume and state_path.is_file():
        saved = torch.load(state_path, weights_only=True)
        model.model.visual.load_state_dict(saved["visual"])
        head.linear.load_state_dict(saved["head"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        first, log = saved["epochs_done"], list(saved["log"])
    model.train()
    for epoch in range(first, epochs):
        order = list(range(len(images)))
        random.Random(recipe.seed * 1000 + epoch).shuffle(order)
        total = 0.0
        for start in range(0, len(order), recipe.vision_batch_size):
            batch = [images[i] for i in order[start:start + recipe.vision_batch_size]]
            encoded = _encode(batch, processor, recipe.max_pixels)
            logits = head(encoded["pixel_values"], encoded["image_grid_thw"])
            loss = torch.nn.functional.cross_entropy(
                logits, torch.tensor([i.label for i in batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        model.eval()
        entry = {"stage": "vision", "epoch": epoch + 1,
                 "vision_loss": round(total / len(images), 4), "images": len(images)}
        if held_out:
            entry["validation_accuracy"] = round(_accuracy(head, held_out, processor, recipe), 4)
        model.train()
        log.append(entry)
        report(entry)
        _save_state(state_path, {"visual": model.model.visual.state_dict(),
                                 "head": head.linear.state_dict(),
                                 "optimizer": optimizer.state_dict(),
                                 "schedule": schedule.state_dict(),
                                 "epochs_done": epoch + 1, "log": log})
    return log


def saved_log(output: Path) -> list[dict]:
    """Stage 1's log as its last saved state holds it (empty without one)."""
    import torch

    path = _state_path(output)
    return list(torch.load(path, weights_only=True)["log"]) if path.is_file() else []


def _save_state(path: Path, state: dict) -> None:
    import io

    import torch

    from eval_harness.atomic import write_atomically

    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_atomically(path, [buffer.getvalue()])  # a crash mid-save keeps the last epoch's
