"""The checks behind the shipped tiny-demo checkpoint, written to checkpoints/tiny-demo/CHECKS.md.

1. **Held-out seeds.** Synthetic benchmarks drawn with seeds the demo never saw in training or
   tuning (default 3 and 4, 1,000 checkups each: about 200 in each test split): the demo's
   code_cls macro-F1, the share of generated reports with all nine section titles, clinical
   primary-class accuracy (each with its 95% CI) and how often the report's diagnosed class
   agrees with the classification answer, next to the majority baseline on the same split.
2. **Ablations** (issue 23): the `tiny` recipe trained again from the same base and data with
   one lever off, each evaluated on the same held-out seeds:
   - without stage 1: no vision-first stage, and the tower trains with the rest in stage 2
     at the full learning rate from the first step (the two stage-2 settings that only make
     sense after a stage 1 are off with it);
   - with modality dropout 0.5 (the one lever the shipped recipe leaves off): half the
     classification examples are trained without the patient facts;
   - blanked images: trained and evaluated on copies of the data whose every image is a flat
     grey of its own size, so the text alone answers. The drop in macro-F1 from the shipped
     recipe is what the pixels contribute.

    .venv/bin/python scripts/tiny_demo_checks.py [--seeds 3 4] [--variants ...] [--render-only]

Each trained model and each evaluation is kept under build/tiny-demo/checks/, so a run that
stops goes on where it was, and variants can run in separate processes (one core each) before
a last call renders the table. Needs the demo built (`make tiny-demo`, which leaves its data in
build/tiny-demo/data).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file, without installing the package

from eval_harness.atomic import write_atomically  # noqa: E402 (after the path insert)

COMMAND = ".venv/bin/python scripts/tiny_demo_checks.py"
DEMO = ROOT / "checkpoints" / "tiny-demo"
BUILD = ROOT / "build" / "tiny-demo"
CHECKS = BUILD / "checks"
TASKS = ["code_cls", "code_report"]
HELDOUT_CHECKUPS = 1000  # 20% of them (about 200) form each held-out test split
# Seeds 1, 2 and 5 chose the recipe (issue 23), so the held-out ones are drawn after them.
TUNING_SEEDS = (1, 2, 5)
HELDOUT_SEEDS = (3, 4)
# Each variant: the recipe's overrides and whether its images are blanked.
VARIANTS: dict[str, tuple[dict[str, Any], bool]] = {
    "shipped": ({}, False),
    "without stage 1": ({"vision_epochs": 0, "vision_lr_scale": 1.0,
                         "vision_freeze_ratio": 0.0}, False),
    "with modality dropout 0.5": ({"modality_dropout": 0.5}, False),
    "blanked images": ({}, True),
}


def blank_images(source: Path, target: Path) -> Path:
    """A copy of a COde folder whose every image is flat grey at its own size (same image
    tokens, no content)."""
    from PIL import Image

    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.jpg", "*.jpeg", "*.png"))
    for path in sorted(source.rglob("*")):
        if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
            with Image.open(path) as image:
                size = image.size
            out = target / path.relative_to(source)
            Image.new("RGB", size, (128, 128, 128)).save(out)
    return target


def nine_sections(samples: list[dict[str, Any]]) -> tuple[float, int]:
    """Share of generated reports with all nine section titles (content may be empty, as
    in COde's own references), and their count."""
    from eval_harness.labels.report_labeler import section_spans

    reports = [s for s in samples if s["task"] == "code_report"]
    full = sum(len(section_spans(s["prediction"] or "")) == 9 for s in reports)
    return full / len(reports), len(reports)


def agreement(samples: list[dict[str, Any]]) -> float:
    """Share of checkups whose report diagnoses the class the classification answer names,
    the report read as the demo explains it (space.demo.report_class). A checkup whose
    report affirms no class, or whose answer names none, disagrees."""
    from space.demo import report_class

    answers = {s["id"]: s["extracted"] for s in samples if s["task"] == "code_cls"}
    reports = {s["id"]: report_class(s["prediction"] or "")[0]
               for s in samples if s["task"] == "code_report"}
    both = answers.keys() & reports.keys()
    return sum(answers[i] is not None and answers[i] == reports[i] for i in both) / len(both)


def evaluate(model: Path, data: Path, recipe: Any) -> Any:
    from eval_harness import api
    from eval_harness.data.load import dataset_name
    from eval_harness.models.hf import HFBackend
    from eval_harness.tasks.base import ScoreOptions
    from eval_harness.tasks.prompts import PromptOptions

    split = api.load_split(data, "test", "en")
    prompt = PromptOptions(max_images=recipe.max_images, max_pixels=recipe.max_pixels)
    return api.evaluate_model(HFBackend(model=str(model)), split.checkups, TASKS,
                              ScoreOptions(embeddings=False), prompt=prompt,
                              dataset_name=dataset_name(data))


def majority_macro_f1(data: Path) -> float:
    from eval_harness import api
    from eval_harness.data.load import dataset_name
    from eval_harness.models.baselines import MajorityBackend
    from eval_harness.tasks.base import ScoreOptions

    split = api.load_split(data, "test", "en")
    train = [c for c in split.everything if c.split == "train"]
    scored = api.evaluate_model(MajorityBackend(train), split.checkups, ["code_cls"],
                                ScoreOptions(embeddings=False), dataset_name=dataset_name(data))
    return scored.document.tasks["code_cls"].metrics["macro_f1"]["value"]


def figures(scored: Any) -> dict[str, Any]:
    cls = scored.document.tasks["code_cls"].metrics["macro_f1"]
    pca = scored.document.tasks["code_report"].metrics["primary_class_accuracy"]
    share, n = nine_sections(scored.samples)
    return {"macro_f1": cls["value"], "macro_f1_ci": cls.get("ci"),
            "primary_class_accuracy": pca["value"], "primary_class_accuracy_ci": pca.get("ci"),
            "nine_sections": share, "reports": n, "agreement": agreement(scored.samples),
            "test_checkups": scored.document.tasks["code_cls"].n,
            "fingerprint": scored.document.dataset.fingerprint}


def slug(name: str) -> str:
    return name.replace(" ", "-")


def data_for(seed: int, blanked: bool) -> Path:
    """The seed's synthetic data (seed 0: the demo's own), drawn or blanked once."""
    from eval_harness.data.synth import generate

    data = BUILD / "data" if seed == 0 else BUILD / f"heldout-seed{seed}"
    if not data.is_dir():
        generate(data, HELDOUT_CHECKUPS, seed=seed)
    if not blanked:
        return data
    target = CHECKS / f"blanked-data-seed{seed}"
    if not (target / "done").is_file():
        blank_images(data, target)
        (target / "done").write_text("", encoding="utf-8")
    return target


def model_for(variant: str) -> Path:
    """The variant's trained model: the shipped checkpoint, or the recipe trained again
    from the demo's base (resumable: finetune goes on from its last checkpoint)."""
    from eval_harness.finetune.recipes import recipe
    from eval_harness.finetune.train import finetune

    if variant == "shipped":
        return DEMO
    overrides, blanked = VARIANTS[variant]
    out = CHECKS / slug(variant) / "model"
    if not (out / "model.safetensors").is_file():
        finetune(str(BUILD / "base"), data_for(0, blanked), TASKS, out,
                 recipe("tiny", **overrides), progress=False, evaluate=False, resume=True)
    return out


def row_for(variant: str, seed: int) -> dict[str, Any]:
    """The variant's figures on one seed's test split, kept once computed."""
    from eval_harness.finetune.recipes import recipe

    kept = CHECKS / f"{slug(variant)}-seed{seed}.json"
    if kept.is_file():
        return json.loads(kept.read_text(encoding="utf-8"))
    overrides, blanked = VARIANTS[variant]
    data = data_for(seed, blanked)
    scored = evaluate(model_for(variant), data, recipe("tiny", **overrides))
    scored.write(CHECKS / f"{slug(variant)}-seed{seed}")  # the per-sample answers, to read
    row = {"variant": variant, "seed": seed, **figures(scored),
           "majority_macro_f1": majority_macro_f1(data)}
    kept.parent.mkdir(parents=True, exist_ok=True)
    # Whole or not at all: a run killed here must not leave a truncated row to resume from.
    write_atomically(kept, [(json.dumps(row, indent=2) + "\n").encode()])
    return row


def _ci(value: float, ci: list[float] | None) -> str:
    return f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _recipe_line() -> str:
    from eval_harness.finetune.recipes import recipe

    tiny = recipe("tiny")
    return (f"`tiny`: stage 1 {tiny.vision_epochs:g} epochs of image -> class at lr "
            f"{tiny.vision_learning_rate:g}; stage 2 {tiny.epochs:g} epochs of SFT at lr "
            f"{tiny.learning_rate:g}, the tower at {tiny.vision_lr_scale:g}x and frozen for "
            f"the first {tiny.vision_freeze_ratio:.0%} of the steps; "
            + (f"modality dropout on {tiny.modality_dropout:.0%} of the classification "
               "examples" if tiny.modality_dropout else "no modality dropout"))


def render(rows: list[dict[str, Any]]) -> str:
    out = ["# tiny-demo: checks", "",
           f"Written by `{COMMAND}`; do not edit by hand. Greedy decoding, the harness's own "
           "scoring (95% bootstrap CIs over checkups). The model is a tiny "
           "Qwen2.5-VL-architecture model trained on synthetic cartoons: these figures say "
           "the pipeline learns from pixels, not that it knows dentistry.", "",
           f"Recipe {_recipe_line()}.", "",
           f"Seeds {', '.join(map(str, TUNING_SEEDS))} were used to choose the recipe; the "
           "held-out seeds below were drawn after the choice.", "",
           "Agreement: the share of test checkups whose generated report diagnoses the class "
           "the classification answer names (the report read as the demo explains it).", "",
           "| recipe | data seed | in training | test checkups | code_cls macro-F1 | "
           "majority macro-F1 | reports with all nine sections | primary-class accuracy | "
           "agreement |",
           "|---|---:|---|---:|---|---:|---:|---|---:|"]
    for r in rows:
        out.append(f"| {r['variant']} | {r['seed']} | "
                   f"{'yes (train split only)' if r['seed'] == 0 else 'no'} | "
                   f"{r['test_checkups']} | {_ci(r['macro_f1'], r['macro_f1_ci'])} | "
                   f"{r['majority_macro_f1']:.3f} | {r['nine_sections']:.1%} of {r['reports']} | "
                   f"{_ci(r['primary_class_accuracy'], r['primary_class_accuracy_ci'])} | "
                   f"{r['agreement']:.1%} |")
    shipped = {r["seed"]: r for r in rows if r["variant"] == "shipped" and r["seed"] != 0}
    drops = []
    for variant in VARIANTS:
        if variant == "shipped":
            continue
        for r in rows:
            if r["variant"] == variant and r["seed"] in shipped:
                drop = shipped[r["seed"]]["macro_f1"] - r["macro_f1"]
                drops.append(f"| {variant} | {r['seed']} | {drop:+.3f} |")
    if drops:
        out += ["", "## What each lever buys", "",
                "Held-out macro-F1 of the shipped recipe minus the variant's, same seed "
                "(positive: the shipped recipe is better):", "",
                "| variant | data seed | shipped minus variant |", "|---|---:|---:|", *drops]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(HELDOUT_SEEDS))
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--render-only", action="store_true",
                        help="write CHECKS.md from the kept evaluations, computing nothing")
    args = parser.parse_args()
    if not (DEMO / "model.safetensors").is_file() or not (BUILD / "data").is_dir():
        raise SystemExit("build the demo first: make tiny-demo")
    rows = []
    for variant in VARIANTS if args.render_only else args.variants:
        for seed in ([0] if variant == "shipped" else []) + args.seeds:
            kept = CHECKS / f"{slug(variant)}-seed{seed}.json"
            if args.render_only and not kept.is_file():
                continue
            rows.append(row_for(variant, seed))
            print(json.dumps(rows[-1]), flush=True)
    if not args.render_only and args.variants != list(VARIANTS):
        print("one part of the checks done; render them all with --render-only")
        return
    write_atomically(DEMO / "checks.json",
                     [(json.dumps({"rows": rows}, indent=2) + "\n").encode()])
    write_atomically(DEMO / "CHECKS.md", [render(rows).encode()])
    print(f"wrote {DEMO / 'CHECKS.md'}")


if __name__ == "__main__":
    main()
