"""A tiny, randomly initialised Qwen2.5-VL checkpoint built from a config.

Tests and the demo need the real Qwen2.5-VL code path (chat template, image tokens,
vision tower, LoRA) without downloading gigabytes. ``build_tiny_qwen`` writes a
complete checkpoint folder (safetensors weights, a byte-level BPE tokenizer trained
here on a small built-in corpus, the standard chat template and an image-only
processor) in about a second, identical for the same seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eval_harness.labels.classes import CLASSES

# The special tokens of the real Qwen2.5-VL tokenizer, in the real order, so that
# prompts look the same to the processor as they do for the real models.
QWEN_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# The standard Qwen2.5-VL chat template (as shipped with Qwen/Qwen2.5-VL-*-Instruct).
QWEN25VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Enough text for a few hundred merges: the class names (so each becomes a handful
# of tokens, as in the real vocabulary) and the words of prompts and reports.
_CORPUS: tuple[str, ...] = (
    *CLASSES,
    "You are a helpful assistant. You are an experienced dentist.",
    "Classify the oral condition shown in the images into one of the following classes:",
    ", ".join(CLASSES),
    "Answer with the class name only.",
    "Write the full diagnostic report for this checkup.",
    "Patient Record: Female, 34 years old. Chief complaint: pain in the lower left molar.",
    "Examination: deep caries on the occlusal surface of tooth 36, probing sensitive, "
    "percussion negative, no mobility. Gingiva red and swollen, bleeding on probing.",
    "Radiographic Examination: radiolucency approaching the pulp; periapical area normal.",
    "Diagnosis: dental caries of tooth 36; chronic gingivitis; pulpitis of tooth 46.",
    "Treatment Plan: caries removal and composite resin filling; root canal therapy.",
    "Treatment Recommendations: scaling and root planing, fixed bridge or implant for the "
    "missing tooth, orthodontic treatment for the anterior crossbite.",
    "Management: oral hygiene instruction, fluoride varnish, follow-up in three months.",
    "Medical Instructions: brush twice a day, use floss, avoid hard food, return if pain.",
    "Remarks: the patient understands the treatment plan and agrees.",
    "upper lower left right anterior posterior incisor canine premolar molar crown root",
    "enamel dentin pulp gum gingiva plaque calculus fracture wear missing tooth teeth",
    "photograph radiograph image picture shows no yes normal abnormal mild moderate severe",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 21 22 26 31 36 37 41 46 47 48",
)

TINY_MIN_PIXELS = 56 * 56
TINY_MAX_PIXELS = 112 * 112


def build_tokenizer(vocab_size: int = 640, corpus: Sequence[str] = ()):
    """A byte-level BPE tokenizer with the Qwen special tokens, trained on _CORPUS plus
    `corpus` (the demo model's: the synthetic train split's prompts and answers, so a
    report is a few hundred tokens, not a thousand)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(QWEN_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Repeat the corpus so pair counts are well above the trainer's min frequency.
    core.train_from_iterator(list(_CORPUS) * 4 + list(corpus), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=list(QWEN_SPECIAL_TOKENS[1:]),
        padding_side="left",
        clean_up_tokenization_spaces=False,
        model_max_length=32768,
    )
    tokenizer.chat_template = QWEN25VL_CHAT_TEMPLATE
    return tokenizer


def build_config(tokenizer, hidden: int = 64, layers: int = 2, vision_hidden: int = 64,
                 vision_depth: int = 2):
    """A Qwen2.5-VL config small enough to run on a laptop CPU in milliseconds."""
    from transformers import Qwen2_5_VLConfig

    heads = 4
    head_dim = hidden // heads
    # mrope splits head_dim / 2 rotary frequencies over (temporal, height, width).
    half = head_dim // 2
    mrope = [half - 2 * (half // 4 + half // 8), half // 4 + half // 8, half // 4 + half // 8]
    ids = tokenizer.convert_tokens_to_ids
    return Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": hidden * 2,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1e4,
                                "mrope_section": mrope},
            "bos_token_id": ids("<|endoftext|>"),
            "eos_token_id": ids("<|im_end|>"),
            "pad_token_id": ids("<|endoftext|>"),
            "tie_word_embeddings": False,
        },
        vision_config={
            "depth": vision_depth,
            "hidden_size": vision_hidden,
            "intermediate_size": 2 * vision_hidden,
            "num_heads": 4,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": hidden,
            "window_size": 112,
            "fullatt_block_indexes": list(range(1, vision_depth, 2)),
        },
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
    )


def build_processor(tokenizer):
    """The image-only processor (no video processor, so no torchvision needed)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    from eval_harness.models.hf import ImageOnlyQwenProcessor

    image_processor = Qwen2VLImageProcessorPil(min_pixels=TINY_MIN_PIXELS,
                                               max_pixels=TINY_MAX_PIXELS)
    return ImageOnlyQwenProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                  chat_template=QWEN25VL_CHAT_TEMPLATE)


def data_corpus(data: Path, language: str = "en") -> list[str]:
    """The train split's prompt texts and reference answers (tokenizer training text)."""
    from eval_harness.data.load import load_checkups
    from eval_harness.tasks import get_task, task_names
    from eval_harness.tasks.prompts import SYSTEM, PromptOptions, build_request

    texts = [SYSTEM[language]]
    for checkup in load_checkups(data, language=language):
        if checkup.split != "train":
            continue
        for task in task_names():
            texts.append(build_request(checkup, task, PromptOptions(language=language)).text)
            texts.append(get_task(task).reference_answer(checkup))
    return texts


def build_tiny_qwen(out_dir: Path, seed: int = 0, hidden: int = 64, vocab_size: int = 640,
                    corpus: Sequence[str] = (), layers: int = 2, vision_hidden: int = 64,
                    vision_depth: int = 2) -> Path:
    """Write a tiny random Qwen2.5-VL checkpoint to ``out_dir`` and return it."""
    import torch
    from transformers import GenerationConfig, Qwen2_5_VLForConditionalGeneration

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(vocab_size, corpus)
    config = build_config(tokenizer, hidden=hidden, layers=layers, vision_hidden=vision_hidden,
                          vision_depth=vision_depth)
    # fork_rng: building a test model must not shift the caller's random stream.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        do_sample=False,
        eos_token_id=config.text_config.eos_token_id,
        pad_token_id=config.text_config.pad_token_id,
        bos_token_id=config.text_config.bos_token_id,
    )
    model.save_pretrained(out_dir, safe_serialization=True)
    build_processor(tokenizer).save_pretrained(out_dir)
    return out_dir


if __name__ == "__main__":  # python -m eval_harness.models.tiny_qwen --out DIR [--seed S]
    import argparse

    parser = argparse.ArgumentParser(description="Build an untrained tiny Qwen2.5-VL "
                                     "(random weights; for demos and tests only).")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab-size", type=int, default=640)
    parser.add_argument("--vision-hidden", type=int, default=64)
    parser.add_argument("--vision-depth", type=int, default=2)
    parser.add_argument("--corpus", type=Path, default=None,
                        help="a COde folder whose train split trains the tokenizer")
    options = parser.parse_args()
    texts = data_corpus(options.corpus) if options.corpus else ()
    built = build_tiny_qwen(options.out, seed=options.seed, hidden=options.hidden,
                            vocab_size=options.vocab_size, corpus=texts, layers=options.layers,
                            vision_hidden=options.vision_hidden,
                            vision_depth=options.vision_depth)
    print(f"built tiny Qwen2.5-VL (untrained, random weights) at {built}")
