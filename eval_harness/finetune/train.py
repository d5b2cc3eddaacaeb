"""``finetune``: train on a COde folder's train split, evaluate on its test split.

transformers' ``Trainer`` runs the loop (optimizer, cosine schedule, accumulation, bf16,
checkpoints, resumption, multi-GPU under ``accelerate launch``); this module supplies the
data (the harness's prompts and reference answers, :mod:`examples`), the model (LoRA on the
language model's linear layers, or every parameter for the tiny recipe) and the ending:
weights saved as safetensors, the loss log, the harness's evaluation on the test split and a
model card.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval_harness.errors import DataError, UsageError
from eval_harness.finetune.examples import Collator, ExampleDataset, build_examples
from eval_harness.finetune.recipes import Recipe

TRAINER_DIR = "trainer"  # Trainer checkpoints (resumption) inside the output folder
LOG_FILE = "training_log.jsonl"
EVAL_DIR = "eval"


@dataclass
class FinetuneResult:
    output: Path
    adapter: bool  # True: output holds a LoRA adapter on `base`
    train_loss: list[tuple[int, float]]  # (step, loss) as logged
    eval_loss: list[tuple[int, float]]
    scored: Any  # api.Scored of the test split, or None without evaluation
    examples: dict[str, int]
    resumed_from: str | None = None  # the Trainer checkpoint this run continued


def _is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _split_checkups(data: Path, language: str, recipe: Recipe) -> dict[str, list]:
    from eval_harness.data.load import load_checkups
    from eval_harness.data.split import carve_validation

    checkups = carve_validation(load_checkups(data, language=language),
                                recipe.validation_fraction, recipe.seed)
    parts = {s: sorted((c for c in checkups if c.split == s), key=lambda c: c.checkup_id)
             for s in ("train", "validation", "test")}
    if not parts["train"]:
        raise DataError.single(str(data), "no train checkups to fine-tune on")
    return parts


def _load_model(folder: Path, recipe: Recipe, use_bf16: bool):
    import torch
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(
        str(folder), dtype=torch.bfloat16 if use_bf16 else torch.float32,
        use_safetensors=True, trust_remote_code=False, local_files_only=True)
    if not recipe.lora:
        return model
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=recipe.lora_rank, lora_alpha=recipe.lora_alpha,
                        lora_dropout=recipe.lora_dropout, target_modules=recipe.lora_target,
                        task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def _bf16(recipe: Recipe) -> bool:
    import torch

    return recipe.bf16 and torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def training_arguments(recipe: Recipe, output: Path, progress: bool, has_eval: bool):
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(output / TRAINER_DIR),
        per_device_train_batch_size=recipe.batch_size,
        per_device_eval_batch_size=recipe.batch_size,
        gradient_accumulation_steps=recipe.grad_accum,
        learning_rate=recipe.learning_rate,
        num_train_epochs=recipe.epochs,
        max_steps=recipe.max_steps,
        lr_scheduler_type=recipe.scheduler,
        warmup_steps=recipe.warmup_ratio,  # a float below 1 is a share of all steps
        weight_decay=recipe.weight_decay,
        bf16=_bf16(recipe),
        gradient_checkpointing=recipe.gradient_checkpointing,
        # Non-reentrant checkpointing works with frozen embeddings (LoRA) as is.
        gradient_checkpointing_kwargs={"use_reentrant": False}
        if recipe.gradient_checkpointing else None,
        logging_steps=recipe.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=recipe.save_steps,
        save_total_limit=2,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=recipe.eval_steps if has_eval else None,
        remove_unused_columns=False,  # the collator's pixel inputs must reach the model
        report_to=[],
        seed=recipe.seed,
        data_seed=recipe.seed,
        dataloader_num_workers=0,
        disable_tqdm=not progress,
    )


def _trainer_class(weights_loaded: bool) -> Any:
    """transformers' Trainer; with ``weights_loaded``, one that resumes the optimizer,
    schedule, RNG and step from a checkpoint but leaves the model's weights alone (the
    caller loaded them from that checkpoint already)."""
    from transformers import Trainer

    if not weights_loaded:
        return Trainer

    class WeightsLoadedTrainer(Trainer):
        def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
            return None

    return WeightsLoadedTrainer


def last_checkpoint(output: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    folder = output / TRAINER_DIR
    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def finetune(base: str, data: Path, tasks: list[str], output: Path, recipe: Recipe, *,
             language: str = "en", evaluate: bool = True, resume: bool = True,
             progress: bool = True, eval_limit: int | None = None) -> FinetuneResult:
    """Fine-tune `base` (a local folder or a cached hub id) with `recipe`; see the module
    docstring. `resume`: continue from the last Trainer checkpoint in `output`."""
    from eval_harness.finetune.stage_two import FreezeVision, stage_two_optimizer
    from eval_harness.finetune.vision_stage import saved_log, train_vision_stage
    from eval_harness.models.hf import load_processor, resolve_model_folder
    from eval_harness.tasks.prompts import PromptOptions

    output = Path(output)
    folder, revision = resolve_model_folder(base)
    processor = load_processor(folder)
    parts = _split_checkups(Path(data), language, recipe)
    prompt = PromptOptions(language=language, max_images=recipe.max_images,
                           max_pixels=recipe.max_pixels)
    train = ExampleDataset(build_examples(parts["train"], tasks, prompt,
                                          modality_dropout=recipe.modality_dropout,
                                          dropout_tasks=recipe.dropout_tasks,
                                          seed=recipe.seed), processor, recipe.cutoff)
    validation = ExampleDataset(build_examples(parts["validation"], tasks, prompt), processor,
                                recipe.cutoff)
    checkpoint = last_checkpoint(output) if resume else None
    # A full fine-tune resumes from the checkpoint's weights loaded as a model, the way the
    # base was: transformers 5's Trainer reloads them with load_state_dict(strict=False),
    # whose keys (saved in the hub layout) miss the model's converted ones, so nothing
    # would load and the run would go on silently from the base weights.
    full_resume = checkpoint is not None and not recipe.lora
    model = _load_model(Path(checkpoint) if full_resume else folder, recipe, _bf16(recipe))
    # Stage 1 (vision-first recipes). A stage-2 checkpoint already holds the tower it
    # trained from, so a run resumed inside stage 2 only keeps stage 1's log.
    vision_log = saved_log(output) if checkpoint else train_vision_stage(
        model, processor, parts["train"], parts["validation"], recipe, output, resume=resume,
        report=(lambda entry: print(json.dumps(entry), flush=True)) if progress
        else (lambda entry: None))
    trainer = _trainer_class(weights_loaded=full_resume)(
        model=model, args=training_arguments(recipe, output, progress, len(validation) > 0),
        train_dataset=train, eval_dataset=validation if len(validation) else None,
        data_collator=Collator(processor.tokenizer.pad_token_id),
        optimizers=(stage_two_optimizer(model, recipe), None),
        callbacks=[FreezeVision(model, recipe.vision_freeze_ratio)]
        if recipe.vision_freeze_ratio > 0 else None)
    if not progress:  # --quiet: with tqdm off the Trainer prints every log dict instead
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    trainer.train(resume_from_checkpoint=checkpoint)
    history = vision_log + trainer.state.log_history
    result = FinetuneResult(
        output=output, adapter=recipe.lora,
        train_loss=[(h["step"], h["loss"]) for h in history if "loss" in h],
        eval_loss=[(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h],
        scored=None,
        examples={"train": len(train), "validation": len(validation),
                  "test_checkups": len(parts["test"])},
        resumed_from=Path(checkpoint).name if checkpoint else None)
    if not _is_main():
        return result
    _save(trainer.model, processor, output, base, recipe)
    with open(output / LOG_FILE, "w", encoding="utf-8") as log:
        for entry in history:
            log.write(json.dumps(entry) + "\n")
    from eval_harness.data.load import dataset_name
    from eval_harness.finetune.card import write_card
    from eval_harness.predictions import references_from_checkups

    name = dataset_name(Path(data))
    if evaluate and parts["test"]:
        result.scored = evaluate_checkpoint(output, base if recipe.lora else None,
                                            parts["test"][:eval_limit], tasks, prompt,
                                            progress, name)
        result.scored.write(output / EVAL_DIR)
    # The test split already loaded names the data in the card (no second read).
    info = references_from_checkups(parts["test"], name=name, split="test",
                                    source=str(data)).dataset_info() if parts["test"] else None
    write_card(output, base=base, revision=revision, data=Path(data), info=info, tasks=tasks,
               recipe=recipe, result=result, language=language)
    return result


def _save(model: Any, processor: Any, output: Path, base: str, recipe: Recipe) -> None:
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(output), safe_serialization=True)
    if recipe.lora:
        # peft writes the base's absolute local path; keep what the user named (a hub id
        # or a path), so the adapter folder can be committed and moved.
        config_path = output / "adapter_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["base_model_name_or_path"] = base
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    else:
        processor.save_pretrained(str(output))


def evaluate_checkpoint(output: Path, base: str | None, checkups: list, tasks: list[str],
                        prompt: Any, progress: bool, dataset: str) -> Any:
    """The harness's own evaluation of what was just saved (greedy generation)."""
    from eval_harness import api
    from eval_harness.models.hf import HFBackend
    from eval_harness.tasks.base import ScoreOptions

    backend = (HFBackend(model=base, adapter=str(output), device="auto") if base
               else HFBackend(model=str(output), device="auto"))
    scored = api.evaluate_model(backend, checkups, tasks, ScoreOptions(embeddings=False),
                                prompt=prompt, progress=progress, dataset_name=dataset)
    if scored is None:
        raise UsageError("evaluation ran on a non-main process")
    return scored

