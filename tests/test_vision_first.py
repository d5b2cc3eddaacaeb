"""The vision-first recipe's levers (issue 23): modality dropout in the training examples,
stage 1 (the tower learns image -> class, resumable, its head dropped) and stage 2's
frozen-then-trained tower, on the tiny Qwen2.5-VL and the session's synthetic folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_harness.finetune.examples import build_examples
from eval_harness.finetune.recipes import recipe
from tests.conftest import FAST_RECIPE, SMALL_PROMPTS


def _checkups(synth_dir: Path, split: str = "train"):
    from eval_harness import api

    return [c for c in api.load_split(synth_dir, "test", "en").everything if c.split == split]


def test_modality_dropout_leaves_the_facts_out_of_a_share_of_classification_prompts(
        synth_dir: Path) -> None:
    checkups = _checkups(synth_dir)
    tasks = ["code_cls", "code_report"]

    def without_facts(examples) -> set[tuple[str, str]]:
        return {(e.request.sample_id, e.request.task) for e in examples
                if "Chief complaint" not in e.request.text}

    assert without_facts(build_examples(checkups, tasks, SMALL_PROMPTS)) == set()
    half = build_examples(checkups, tasks, SMALL_PROMPTS, modality_dropout=0.5,
                          dropout_tasks=("code_cls",), seed=0)
    dropped = without_facts(half)
    # Only classification prompts, and about half of them (36 train checkups here).
    assert {task for _, task in dropped} == {"code_cls"}
    assert 0.25 * len(checkups) < len(dropped) < 0.75 * len(checkups)
    # The answer is still the checkup's own; the images are the same as with the facts.
    full = {(e.request.sample_id, e.request.task): e for e in build_examples(
        checkups, tasks, SMALL_PROMPTS)}
    for example in half:
        key = (example.request.sample_id, example.request.task)
        assert example.answer == full[key].answer
        assert example.request.images == full[key].request.images
        if key in dropped:
            assert "Age:" not in example.request.text and "Gender:" not in example.request.text
    # Fixed by the seed (a resumed run trains on the same prompts), another seed differs.
    assert without_facts(build_examples(checkups, tasks, SMALL_PROMPTS, modality_dropout=0.5,
                                        dropout_tasks=("code_cls",), seed=0)) == dropped
    assert without_facts(build_examples(checkups, tasks, SMALL_PROMPTS, modality_dropout=0.5,
                                        dropout_tasks=("code_cls",), seed=1)) != dropped
    everything = without_facts(build_examples(checkups, tasks, SMALL_PROMPTS, modality_dropout=1.0,
                                              dropout_tasks=("code_cls",)))
    assert len(everything) == len(checkups)


def test_vision_settings_are_checked() -> None:
    from eval_harness.errors import UsageError

    with pytest.raises(UsageError, match="LoRA"):
        recipe("paper", vision_epochs=2)
    with pytest.raises(UsageError, match="modality-dropout"):
        recipe("tiny", modality_dropout=1.5)
    with pytest.raises(UsageError, match="vision-batch-size"):
        recipe("tiny", vision_batch_size=0)


def _tower(folder: Path) -> dict:
    from safetensors.torch import load_file

    return {k: v for k, v in load_file(str(folder / "model.safetensors")).items()
            if k.startswith("visual.")}  # the hub layout save_pretrained writes


def _language(folder: Path) -> dict:
    from safetensors.torch import load_file

    return {k: v for k, v in load_file(str(folder / "model.safetensors")).items()
            if not k.startswith("visual.")}


def _changed(before: dict, after: dict) -> set[str]:
    import torch

    assert before.keys() == after.keys()
    return {k for k in before if not torch.equal(before[k], after[k])}


def test_stage_one_trains_the_tower_resumes_by_epoch_and_drops_its_head(
        synth_dir: Path, tiny_base: Path, tmp_path: Path) -> None:
    from eval_harness.finetune.train import LOG_FILE, finetune

    out = tmp_path / "vision-first"
    # The SFT step leaves the tower frozen: whatever moved it is stage 1.
    settings = {**FAST_RECIPE, "max_steps": 1, "save_steps": 100, "vision_freeze_ratio": 1.0,
                "vision_batch_size": 8}
    finetune(str(tiny_base), synth_dir, ["code_cls"], out,
             recipe("tiny", **{**settings, "vision_epochs": 2}),
             progress=False, evaluate=False)
    log = [json.loads(line) for line in (out / LOG_FILE).read_text().splitlines()]
    vision = [entry for entry in log if entry.get("stage") == "vision"]
    assert [entry["epoch"] for entry in vision] == [1, 2]
    assert all(0 <= entry["validation_accuracy"] <= 1 for entry in vision)
    # The tower moved; the saved model has the base's tensors only (the head is dropped).
    assert _tower(tiny_base).keys() == _tower(out).keys()
    assert len(_changed(_tower(tiny_base), _tower(out))) > len(_tower(out)) // 2
    # A run killed inside stage 1 (no stage-2 checkpoint yet) goes on with its next epoch.
    import shutil

    for checkpoint in (out / "trainer").glob("checkpoint-*"):
        shutil.rmtree(checkpoint)
    (out / "model.safetensors").unlink()
    finetune(str(tiny_base), synth_dir, ["code_cls"], out,
             recipe("tiny", **{**settings, "vision_epochs": 3}),
             progress=False, evaluate=False, resume=True)
    log = [json.loads(line) for line in (out / LOG_FILE).read_text().splitlines()]
    resumed = [entry for entry in log if entry.get("stage") == "vision"]
    assert [entry["epoch"] for entry in resumed] == [1, 2, 3]
    assert resumed[:2] == vision  # the first two are the saved ones, not retrained


def test_stage_two_keeps_a_frozen_tower_as_stage_one_left_it(
        synth_dir: Path, tiny_base: Path, tmp_path: Path) -> None:
    from eval_harness.finetune.train import finetune

    settings = {**FAST_RECIPE, "max_steps": 3, "save_steps": 100}
    frozen, free = tmp_path / "frozen", tmp_path / "free"
    finetune(str(tiny_base), synth_dir, ["code_cls"], frozen,
             recipe("tiny", **{**settings, "vision_freeze_ratio": 1.0}), progress=False,
             evaluate=False)
    finetune(str(tiny_base), synth_dir, ["code_cls"], free,
             recipe("tiny", **{**settings, "vision_lr_scale": 0.5}), progress=False,
             evaluate=False)
    assert not _changed(_tower(tiny_base), _tower(frozen))
    assert _changed(_language(tiny_base), _language(frozen))
    assert _changed(_tower(tiny_base), _tower(free))
