"""Stage 2 of a vision-first recipe (the SFT) with the tower stage 1 trained: its own
learning rate (``vision_lr_scale``), and optionally frozen for the first part of the steps
(``vision_freeze_ratio``), so the language side learns to read the tower before the SFT's
gradients reach it."""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from eval_harness.finetune.recipes import Recipe
from eval_harness.finetune.vision_stage import vision_parameters


def stage_two_optimizer(model: Any, recipe: Recipe) -> Any:
    """AdamW with the tower in its own parameter group at ``vision_lr_scale`` times the
    recipe's rate; None (the Trainer's own optimizer) when the scale is 1 or LoRA trains
    only adapters."""
    if recipe.lora or recipe.vision_lr_scale == 1.0:
        return None
    import torch

    vision = {id(p) for p in vision_parameters(model)}
    rest = [p for p in model.parameters() if id(p) not in vision]
    return torch.optim.AdamW(
        [{"params": rest, "lr": recipe.learning_rate},
         {"params": vision_parameters(model),
          "lr": recipe.learning_rate * recipe.vision_lr_scale}],
        lr=recipe.learning_rate, weight_decay=recipe.weight_decay)


class FreezeVision(TrainerCallback):
    """Keeps the tower's parameters out of the optimizer steps for the first
    ``ratio`` of all steps (no gradient, so AdamW leaves them as they are)."""

    def __init__(self, model: Any, ratio: float) -> None:
        self.parameters, self.ratio = vision_parameters(model), ratio

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        frozen = state.global_step < int(self.ratio * state.max_steps)
        for parameter in self.parameters:
            parameter.requires_grad_(not frozen)
