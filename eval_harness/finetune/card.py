"""The model card a fine-tune writes beside its weights (``README.md``, Hugging Face style):
base, data fingerprint, label-map id, recipe, losses and the test results with CIs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _results_table(scored: Any) -> list[str]:
    if scored is None:
        return ["Not evaluated (run with evaluation to fill this in)."]
    lines = ["| task | metric | value | 95% CI |", "|---|---|---:|---|"]
    for task, result in scored.document.tasks.items():
        for name, entry in result.metrics.items():
            if entry.get("value") is None:
                lines.append(f"| {task} | {name} | skipped | {entry.get('skipped', '')} |")
                continue
            ci = entry.get("ci")
            lines.append(f"| {task} | {name} | {entry['value']:.4f} | "
                         + (f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "–") + " |")
    return lines


def _evaluated(result: Any) -> int:
    return max(t.n for t in result.scored.document.tasks.values())


def write_card(output: Path, *, base: str, revision: str | None, data: Path, info: Any,
               tasks: list[str], recipe: Any, result: Any, language: str) -> Path:
    """`info`: the test split's DatasetInfo (None: the data has no test split)."""
    from eval_harness import __version__

    kind = ("LoRA adapter on the base (load the base, then this adapter)" if recipe.lora
            else "full fine-tune: every parameter trained (a randomly initialised tiny base "
                 "has nothing pre-trained to adapt)")
    last_train = result.train_loss[-1][1] if result.train_loss else None
    last_eval = result.eval_loss[-1][1] if result.eval_loss else None
    lines = [
        "---",
        f"base_model: {base}",
        f"library_name: {'peft' if recipe.lora else 'transformers'}",
        "pipeline_tag: image-text-to-text",
        "tags: [code-bench, dental, qwen2.5-vl]",
        "---",
        "",
        f"# {output.name}",
        "",
        f"Fine-tuned by `python -m eval_harness finetune` (eval_harness {__version__}), "
        f"recipe `{recipe.name}`: {kind}.",
        "",
        "## Training",
        "",
        f"- base: `{base}`" + (f" (hub revision {revision})" if revision else ""),
        (f"- data: {info.name} (`{data}`), test split fingerprint `{info.fingerprint}`, "
         f"label map `{info.label_map}`" if info is not None
         else f"- data: `{data}` (no test split)"),
        f"- tasks: {', '.join(tasks)}; language {language}",
        f"- examples: {result.examples['train']} train, {result.examples['validation']} "
        "validation (patient-grouped, carved from train)",
        f"- final logged training loss {last_train if last_train is None else round(last_train, 4)}"
        f", validation loss {last_eval if last_eval is None else round(last_eval, 4)} "
        "(every logged value: `training_log.jsonl`)",
        *([f"- resumed from Trainer checkpoint `{result.resumed_from}`"]
          if result.resumed_from else []),
        "",
        "Recipe:",
        "",
        "```json",
        json.dumps(recipe.to_dict(), indent=2),
        "```",
        "",
        "## Results on the test split",
        "",
        "Scored by the harness (greedy decoding; embedding cosine off); the full results "
        f"document and per-sample records are in `{'eval'}/`."
        + (f" Evaluated on {_evaluated(result)} of {result.examples['test_checkups']} test "
           "checkups." if result.scored is not None else ""),
        "",
        *_results_table(result.scored),
        "",
    ]
    path = output / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
