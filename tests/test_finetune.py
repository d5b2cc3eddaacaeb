"""Fine-tuning (eval_harness.finetune) on a fresh tiny Qwen2.5-VL and the session's small
synthetic COde folder: the loss mask, a short training run that learns, saves, reloads
through the checkpoint registry and evaluates through the harness; LoRA on the language
model only; merge; resumption after a killed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eval_harness.finetune.examples import IGNORE_INDEX, Collator, build_examples, encode_example
from eval_harness.finetune.recipes import recipe
from tests.conftest import FAST_RECIPE, SMALL_PROMPTS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def processor(tiny_base: Path):
    from eval_harness.models.hf import load_processor

    return load_processor(tiny_base)


def _train_checkups(synth_dir: Path):
    from eval_harness import api

    return [c for c in api.load_split(synth_dir, "test", "en").everything if c.split == "train"]


def test_loss_mask_covers_exactly_the_answer_and_its_end_token(synth_dir: Path,
                                                               processor) -> None:
    checkup = _train_checkups(synth_dir)[0]
    for example in build_examples([checkup], ["code_cls", "code_report"], SMALL_PROMPTS):
        encoded = encode_example(example, processor, cutoff=4096)
        ids, labels = encoded["input_ids"], encoded["labels"]
        answer = [t for t, label in zip(ids, labels, strict=True) if label != IGNORE_INDEX]
        assert processor.tokenizer.decode(answer) == example.answer + "<|im_end|>"
        # Everything before is the prompt the hf backend generates from, ending in the
        # assistant's turn marker; the loss starts right after it.
        start = labels.index(next(label for label in labels if label != IGNORE_INDEX))
        prompt = processor.tokenizer.decode(ids[:start])
        assert prompt.endswith("<|im_start|>assistant\n")
        assert "<|image_pad|>" in prompt and example.request.text in prompt
        assert all(label == IGNORE_INDEX for label in labels[:start])
        assert labels[start:] == ids[start:]


def test_cutoff_cuts_the_answer_and_refuses_an_oversized_prompt(synth_dir: Path,
                                                                processor) -> None:
    from eval_harness.errors import DataError

    example = build_examples(_train_checkups(synth_dir)[:1], ["code_report"], SMALL_PROMPTS)[0]
    full = encode_example(example, processor, cutoff=4096)
    prompt_len = full["labels"].count(IGNORE_INDEX)
    cut = encode_example(example, processor, cutoff=prompt_len + 5)
    assert len(cut["input_ids"]) == prompt_len + 5 and cut["labels"][-5:] == full["labels"][
        prompt_len:prompt_len + 5]
    with pytest.raises(DataError, match=example.request.sample_id):
        encode_example(example, processor, cutoff=prompt_len)


def test_collator_pads_right_and_masks_padding(synth_dir: Path, processor) -> None:
    examples = build_examples(_train_checkups(synth_dir)[:2], ["code_cls"], SMALL_PROMPTS)
    features = [encode_example(e, processor, cutoff=4096) for e in examples]
    batch = Collator(processor.tokenizer.pad_token_id)(features)
    short = min(range(2), key=lambda i: len(features[i]["input_ids"]))
    n = len(features[short]["input_ids"])
    assert batch["attention_mask"][short, :n].all() and not batch["attention_mask"][short, n:].any()
    assert (batch["labels"][short, n:] == IGNORE_INDEX).all()
    assert batch["image_grid_thw"].shape[0] == sum(len(e.request.images) for e in examples)


def test_paper_recipe_adapts_the_language_model_only(tiny_base: Path) -> None:
    from eval_harness.finetune.train import _load_model

    model = _load_model(tiny_base, recipe("paper"), use_bf16=False)
    adapted = [n for n, p in model.named_parameters() if p.requires_grad]
    assert adapted and all("lora_" in n and "language_model" in n for n in adapted)
    kinds = {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in adapted}
    assert kinds == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                     "down_proj"}
    assert not any("visual" in n or "lm_head" in n or "embed" in n for n in adapted)
    assert model.peft_config["default"].r == 8 and model.peft_config["default"].lora_alpha == 16


def test_recipe_overrides_and_bad_values() -> None:
    from eval_harness.errors import UsageError

    paper = recipe("paper")
    assert (paper.learning_rate, paper.epochs, paper.batch_size, paper.grad_accum,
            paper.cutoff, paper.warmup_ratio, paper.scheduler) == (5e-4, 1.0, 2, 8, 4096,
                                                                   0.1, "cosine")
    assert recipe("paper", learning_rate=1e-4, epochs=None).learning_rate == 1e-4
    with pytest.raises(UsageError, match="unknown recipe"):
        recipe("fast")
    with pytest.raises(UsageError, match="batch-size"):
        recipe("tiny", batch_size=0)


def test_short_fine_tune_learns_saves_and_evaluates_through_the_registry(
        synth_dir: Path, tiny_base: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from eval_harness import api
    from eval_harness.cli import main
    from eval_harness.finetune.train import finetune
    from eval_harness.results import read_results

    out = tmp_path / "checkpoints" / "mini"
    result = finetune(str(tiny_base), synth_dir, ["code_cls", "code_report"], out,
                      recipe("tiny", max_steps=20, save_steps=20, **FAST_RECIPE), progress=False,
                      eval_limit=3)
    # One example per checkup and task; validation carved from train, grouped by patient.
    from eval_harness.data.split import carve_validation

    parts = carve_validation(api.load_split(synth_dir, "test", "en").everything, 0.2, 0)
    n_train = sum(c.split == "train" for c in parts)
    n_val = sum(c.split == "validation" for c in parts)
    assert result.examples == {"train": 2 * n_train, "validation": 2 * n_val,
                               "test_checkups": sum(c.split == "test" for c in parts)}
    losses = [loss for _, loss in result.train_loss]
    # Seeded: from about 6.5 nats (a random model over the vocabulary) down by over 1.
    assert len(losses) >= 20 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.5
    assert (out / "model.safetensors").is_file() and (out / "README.md").is_file()
    assert result.scored.document.tasks["code_cls"].n == 3
    card = (out / "README.md").read_text(encoding="utf-8")
    n_test = len(api.load_split(synth_dir, "test", "en").checkups)
    assert "recipe `tiny`" in card and f"Evaluated on 3 of {n_test} test checkups" in card
    # Reload by name through a registry, and evaluate with the harness's `run`.
    (tmp_path / "checkpoints" / "registry.json").write_text(json.dumps(
        {"checkpoints": {"mini": {"model": "mini", "command": "make mini"}}}))
    monkeypatch.setenv("CODEBENCH_CHECKPOINTS", str(tmp_path / "checkpoints"))
    run_dir = tmp_path / "run"
    status = main(["run", "--model", "hf", "--model-args", "checkpoint=mini", "--data",
                   str(synth_dir), "--limit", "3", "--max-images", "2", "--max-pixels",
                   str(56 * 56), "--output", str(run_dir), "--no-cache", "--no-embeddings",
                   "--resamples", "20", "--quiet"])
    assert status in (0, 3)  # 3: a 20-step model may leave too many answers empty
    document, _ = read_results(run_dir)
    assert document.model["name"] == str(out)


def test_registry_names_without_weights_print_their_training_command(
        synth_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    from eval_harness.cli import main

    monkeypatch.setenv("CODEBENCH_CHECKPOINTS", str(ROOT / "checkpoints"))
    status = main(["run", "--model", "hf", "--model-args", "checkpoint=qwen2.5-vl-7b-code-lora",
                   "--data", str(synth_dir), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 1 and "not shipped" in err
    assert "finetune --base Qwen/Qwen2.5-VL-7B-Instruct" in err and "--recipe paper" in err
    status = main(["run", "--model", "hf", "--model-args", "checkpoint=nope", "--data",
                   str(synth_dir), "--output", str(tmp_path / "out")])
    assert status == 2 and "tiny-demo" in capsys.readouterr().err


def test_lora_fine_tune_merges_to_the_same_greedy_outputs(synth_dir: Path, tiny_base: Path,
                                                          tmp_path: Path) -> None:
    from eval_harness.finetune.merge import merge_adapter
    from eval_harness.finetune.train import finetune
    from eval_harness.models.hf import HFBackend
    from eval_harness.tasks.prompts import build_request

    adapter = tmp_path / "lora"
    # A high learning rate so 6 steps move the adapter away from its zero start.
    finetune(str(tiny_base), synth_dir, ["code_cls"], adapter,
             recipe("paper", max_steps=6, learning_rate=5e-2, save_steps=6, grad_accum=1,
                    **{k: v for k, v in FAST_RECIPE.items() if k != "batch_size"}),
             progress=False, evaluate=False)
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(tiny_base)
    merged = merge_adapter(adapter, tmp_path / "merged")
    requests = [build_request(c, "code_report", SMALL_PROMPTS)
                for c in _train_checkups(synth_dir)[:3]]
    requests = [r.__class__(**{**r.__dict__, "max_new_tokens": 12}) for r in requests]
    with_adapter = HFBackend(model=str(tiny_base), adapter=str(adapter)).generate(requests)
    plain = HFBackend(model=str(merged)).generate(requests)
    base = HFBackend(model=str(tiny_base)).generate(requests)
    assert [r.text for r in with_adapter] == [r.text for r in plain]
    assert [r.text for r in with_adapter] != [r.text for r in base]


def test_a_killed_run_resumes_from_its_checkpoint(synth_dir: Path, tiny_base: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    command = [sys.executable, "-m", "eval_harness", "finetune", "--base", str(tiny_base),
               "--data", str(synth_dir), "--tasks", "code_cls", "--recipe", "tiny",
               "--vision-epochs", "0", "--output", str(out), "--max-steps", "40",
               "--save-steps", "4", "--eval-steps", "100", "--batch-size", "2",
               "--max-images", "1", "--max-pixels", str(56 * 56), "--no-eval", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not list((out / "trainer").glob("checkpoint-*/trainer_state.json")):
        assert first.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # as an OOM killer or a pre-empted node would
    first.wait()
    assert not (out / "model.safetensors").exists()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    # --quiet: the Trainer's log dicts are not printed (they are in training_log.jsonl).
    assert "'loss':" not in done.stdout + done.stderr
    steps = [entry["step"] for entry in map(json.loads, (out / "training_log.jsonl")
                                           .read_text().splitlines()) if "loss" in entry]
    # One history: the first run's steps up to its checkpoint, then the resumed run's.
    assert steps[0] == 1 and max(steps) == 40 and steps == sorted(set(steps))
    assert (out / "model.safetensors").is_file()
    card = (out / "README.md").read_text(encoding="utf-8")
    resumed = int(card.split("resumed from Trainer checkpoint `checkpoint-")[1].split("`")[0])
    assert resumed >= 4 and resumed % 4 == 0


@pytest.mark.parametrize("name", ["tiny", "paper"])
def test_a_resumed_fine_tune_goes_on_from_the_checkpoint_weights(
        name: str, synth_dir: Path, tiny_base: Path, tmp_path: Path) -> None:
    """transformers 5's Trainer reloads a full checkpoint with load_state_dict(strict=False),
    whose hub-layout keys miss the Qwen2.5-VL model's converted ones: nothing loads. A run
    resumed at its last step must save the weights it had trained (the whole model for
    `tiny`, the LoRA adapter for `paper`), not the fresh ones it started from."""
    import torch
    from safetensors.torch import load_file

    from eval_harness.finetune.train import finetune

    out = tmp_path / "finished"
    weights = out / ("model.safetensors" if name == "tiny" else "adapter_model.safetensors")
    settings = recipe(name, max_steps=4, save_steps=4, learning_rate=5e-2 if name == "paper"
                      else None, grad_accum=1, **FAST_RECIPE)
    finetune(str(tiny_base), synth_dir, ["code_cls"], out, settings, progress=False,
             evaluate=False)
    trained = load_file(str(weights))
    weights.unlink()
    finetune(str(tiny_base), synth_dir, ["code_cls"], out, settings, progress=False,
             evaluate=False, resume=True)  # at step 4 of 4: nothing left to train
    resumed = load_file(str(weights))
    assert resumed.keys() == trained.keys()
    assert all(torch.equal(resumed[k], trained[k]) for k in trained)
    # And the fresh start differs: a resume that loaded nothing could not pass.
    fresh = tmp_path / "fresh"
    finetune(str(tiny_base), synth_dir, ["code_cls"], fresh,
             recipe(name, max_steps=1, save_steps=100, learning_rate=1e-9, grad_accum=1,
                    **FAST_RECIPE), progress=False, evaluate=False)
    started = load_file(str(fresh / weights.name))
    assert any(not torch.equal(started[k], trained[k]) for k in trained)
