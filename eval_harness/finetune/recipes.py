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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


RECIPES: dict[str, Recipe] = {
    "paper": Recipe(name="paper", lora=True, learning_rate=5e-4, epochs=1.0, batch_size=2,
                    grad_accum=8, cutoff=4096, max_images=8, max_pixels=512 * 28 * 28),
    "tiny": Recipe(name="tiny", lora=False, learning_rate=3e-3, epochs=12.0, batch_size=16,
                   grad_accum=1, cutoff=1024, max_images=8, max_pixels=112 * 112,
                   warmup_ratio=0.03, weight_decay=0.01, bf16=False,
                   gradient_checkpointing=False, save_steps=100, eval_steps=100),
}

OVERRIDABLE = ("learning_rate", "epochs", "batch_size", "grad_accum", "cutoff", "max_images",
               "max_pixels", "lora_rank", "lora_alpha", "lora_dropout", "warmup_ratio",
               "seed", "max_steps", "save_steps", "eval_steps", "logging_steps",
               "validation_fraction")


def recipe(name: str, **overrides: Any) -> Recipe:
    """A named recipe with overrides (None: keep the recipe's value)."""
    if name not in RECIPES:
        raise UsageError(f"unknown recipe {name!r}; use one of: {', '.join(RECIPES)}")
    unknown = set(overrides) - set(OVERRIDABLE)
    if unknown:
        raise UsageError(f"not a recipe setting: {', '.join(sorted(unknown))}")
    chosen = {k: v for k, v in overrides.items() if v is not None}
    for key in ("batch_size", "grad_accum", "cutoff", "max_images", "max_pixels"):
        if key in chosen and chosen[key] < 1:
            raise UsageError(f"--{key.replace('_', '-')} must be at least 1")
    if chosen.get("learning_rate", 1) <= 0 or chosen.get("epochs", 1) <= 0:
        raise UsageError("--lr and --epochs must be positive")
    return dataclasses.replace(RECIPES[name], **chosen)
