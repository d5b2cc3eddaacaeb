"""Training throughput and peak memory of the `tiny` recipe on this machine.

Run: .venv/bin/python -m benchmarks.bench_finetune [--steps 30] [--checkups 200]

Builds a synthetic benchmark and the tiny-demo base (hidden 128, tokenizer trained on the
train split), trains ``--steps`` optimizer steps of the `tiny` recipe through
``python -m eval_harness finetune``'s own code, and prints, from that one run: training
samples per second, seconds per step, the ratio of a training step to a forward pass on the
same batch (what backward and the optimizer cost), and the process's peak resident memory.
The full tiny-demo build's wall time is `time make tiny-demo` (README).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--checkups", type=int, default=200)
    args = parser.parse_args()

    import torch

    from eval_harness.data.synth import generate
    from eval_harness.finetune.examples import Collator, ExampleDataset, build_examples
    from eval_harness.finetune.recipes import recipe
    from eval_harness.finetune.train import _load_model, finetune
    from eval_harness.models.hf import load_processor
    from eval_harness.models.tiny_qwen import build_tiny_qwen, data_corpus
    from eval_harness.tasks.prompts import PromptOptions

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root / "data", args.checkups, seed=0)
        base = build_tiny_qwen(root / "base", hidden=128, vocab_size=2000,
                               corpus=data_corpus(root / "data"))
        # Stage 2's steps only: stage 1 (vision_epochs) is a pass over images, not SFT steps.
        tiny = recipe("tiny", max_steps=args.steps, save_steps=10 ** 6, eval_steps=10 ** 6,
                      vision_epochs=0)
        result = finetune(str(base), root / "data", ["code_cls", "code_report"],
                          root / "out", tiny, progress=False, evaluate=False)
        summary = next(h for h in reversed(_history(root / "out")) if "train_runtime" in h)

        processor = load_processor(base)
        prompt = PromptOptions(max_images=tiny.max_images, max_pixels=tiny.max_pixels)
        from eval_harness import api

        train = [c for c in api.load_split(root / "data", "test", "en").everything
                 if c.split == "train"]
        examples = build_examples(train, ["code_cls", "code_report"], prompt)
        dataset = ExampleDataset(examples[:tiny.batch_size], processor, tiny.cutoff)
        batch = Collator(processor.tokenizer.pad_token_id)([dataset[i]
                                                            for i in range(len(dataset))])
        model = _load_model(base, tiny, use_bf16=False)
        start = time.perf_counter()
        with torch.no_grad():
            model(**batch)
        forward = time.perf_counter() - start
        start = time.perf_counter()
        model(**batch).loss.backward()
        step = time.perf_counter() - start

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"tiny recipe, {args.steps} steps of batch {tiny.batch_size}, "
          f"{torch.get_num_threads()} threads; {len(result.train_loss)} loss entries logged")
    print(f"  training throughput: {summary['train_samples_per_second']:.2f} samples/s, "
          f"{summary['train_runtime'] / args.steps:.3f} s per step (data loading included)")
    print(f"  forward+backward / forward on one batch = {step / forward:.2f}")
    print(f"  peak resident memory of this process: {peak_mb:.0f} MiB")


def _history(out: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]


if __name__ == "__main__":
    main()
