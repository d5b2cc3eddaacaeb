"""Fine-tuning recipes: the paper's LoRA settings, and the tiny demo's full fine-tune.

``paper`` is the published recipe (Lv, Haq et al., LLaMA-Factory settings): LoRA rank 8,
alpha 16, on every linear layer of the *language model* only, lr 5e-4, 1 epoch, cosine
schedule, warmup 0.1, per-device batch 2 x gradient accumulation 8, bf16 where supported,
cutoff 4096 tokens, gradient checkpointing. ``tiny`` trains every parameter of a randomly
initialised tiny model (there is nothing pre-trained to adapt) on small images, for the CPU
demo checkpoint.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from eval_harness.errors import UsageError

# The vision blocks also have gate_proj/up_proj/down_proj: name the language model so only
# its linear layers are adapted. Never lm_head or the embeddings (peft would then save the
# whole lm_head, hundreds of MB for a real Qwen, into the adapter).
LANGUAGE_MODEL_LINEARS = (r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj"
                          r"|up_proj|down_proj)")


@dataclass(frozen=True)
class Recipe:
    name: str
    lora: bool  # False: every parameter is trained
    learning_rate: float
    epochs: float
    batch_size: int  # per device
    grad_accum: int
    cutoff: int  # tokens per example, prompt included
    max_images: int
    max_pixels: int  # per image
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    lora_target: str = LANGUAGE_MODEL_LINEARS
    scheduler: str = "cosine"
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    bf16: bool = True  # where the device supports it
    # Recompute activations in the backward pass (LLaMA-Factory's default): what lets a
    # 7B model take 4096-token examples on one GPU. Costs about a third more compute.
    gradient_checkpointing: bool = True
    validation_fraction: float = 0.1
    seed: int = 0
    max_steps: int = -1  # > 0: stop after this many optimizer steps (tests, smoke runs)
    save_steps: int = 200
    eval_steps: int = 200
    logging_steps: int = 10
    # Vision-first (stage 1, eval_harness.finetune.vision_stage): epochs of image -> class
    # training of the vision tower before the SFT; 0 skips the stage.
    vision_epochs: float = 0.0
    vision_learning_rate: float = 3e-3
    vision_batch_size: int = 32  # images per step
    # Stage 2: the tower's learning rate as a share of learning_rate, and the share of the
    # steps at the start during which it stays frozen (the language side first learns to
    # read the tower stage 1 trained, instead of the SFT's gradients scrambling it).
    vision_lr_scale: float = 1.0
    vision_freeze_ratio: float = 0.0
    # The share of the classification examples trained without the patient facts, so that
    # their answer must come from the pixels (examples.build_examples).
    modality_dropout: float = 0.0
    dropout_tasks: tuple[str, ...] = ("code_cls", "code_multilabel")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


RECIPES: dict[str, Recipe] = {
    "paper": Recipe(name="paper", lora=True, learning_rate=5e-4, epochs=1.0, batch_size=2,
                    grad_accum=8, cutoff=4096, max_images=8, max_pixels=512 * 28 * 28),
    "tiny": Recipe(name="tiny", lora=False, learning_rate=3e-3, epochs=12.0, batch_size=16,
                   grad_accum=1, cutoff=1024, max_images=8, max_pixels=112 * 112,
                   warmup_ratio=0.03, weight_decay=0.01, bf16=False,
                   gradient_checkpointing=False, save_steps=100, eval_steps=100,
                   # Vision-first (issue 23; the ablations in checkpoints/tiny-demo/CHECKS.md):
                   # without stage 1 the text shortcut wins and the demo barely reads pixels.
                   # Modality dropout stays off: on the tuning seeds 1 and 2 it bought
                   # 0.01-0.02 macro-F1 and cost the report/classification agreement 5.5 and
                   # 1.0 points (the class answer learnt to read the pixels, the report kept
                   # the text).
                   vision_epochs=16.0, vision_lr_scale=0.1, vision_freeze_ratio=0.2),
}

OVERRIDABLE = ("learning_rate", "epochs", "batch_size", "grad_accum", "cutoff", "max_images",
               "max_pixels", "lora_rank", "lora_alpha", "lora_dropout", "warmup_ratio",
               "seed", "max_steps", "save_steps", "eval_steps", "logging_steps",
               "validation_fraction", "vision_epochs", "vision_learning_rate",
               "vision_batch_size", "vision_lr_scale", "vision_freeze_ratio",
               "modality_dropout")


def recipe(name: str, **overrides: Any) -> Recipe:
    """A named recipe with overrides (None: keep the recipe's value)."""
    if name not in RECIPES:
        raise UsageError(f"unknown recipe {name!r}; use one of: {', '.join(RECIPES)}")
    unknown = set(overrides) - set(OVERRIDABLE)
    if unknown:
        raise UsageError(f"not a recipe setting: {', '.join(sorted(unknown))}")
    chosen = {k: v for k, v in overrides.items() if v is not None}
    for key in ("batch_size", "grad_accum", "cutoff", "max_images", "max_pixels",
                "vision_batch_size"):
        if key in chosen and chosen[key] < 1:
            raise UsageError(f"--{key.replace('_', '-')} must be at least 1")
    if chosen.get("learning_rate", 1) <= 0 or chosen.get("epochs", 1) <= 0:
        raise UsageError("--lr and --epochs must be positive")
    for key in ("modality_dropout", "vision_freeze_ratio"):
        if not 0 <= chosen.get(key, 0) <= 1:
            raise UsageError(f"--{key.replace('_', '-')} is a share: between 0 and 1")
    for key in ("vision_epochs", "vision_learning_rate", "vision_lr_scale"):
        if chosen.get(key, 0) < 0:
            raise UsageError(f"--{key.replace('_', '-')} must not be negative")
    chosen_recipe = dataclasses.replace(RECIPES[name], **chosen)
    if chosen_recipe.lora and chosen_recipe.vision_epochs > 0:
        raise UsageError("--vision-epochs trains the vision tower itself: it needs a recipe "
                         "that trains every parameter (tiny), not a LoRA one")
    return chosen_recipe
