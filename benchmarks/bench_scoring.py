"""Score all published peer runs (both tasks, with bootstrap CIs) and time each metric.

Run: .venv/bin/python -m benchmarks.bench_scoring [--cosine-runs 2] [--resamples 1000]

Prints total seconds for classification + BLEU + ROUGE + METEOR + clinical over
every run (target <= 120 s on 2 cores), the cost per prediction of each metric, and
for MiniLM cosine the ratio of a repeated scoring of the same texts to the first
(target < 5%), measured in one process with a fresh embedding cache.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

PEER = Path(__file__).resolve().parents[2] / "shared" / "data" / "peer-runs" / "pocket-dentist-code"


def score_run(run: Path, resamples: int) -> tuple[dict[str, float], dict[str, int]]:
    """Every metric of one run, timed per metric family (runs in a worker process)."""
    from eval_harness.metrics import clinical, text
    from eval_harness.metrics.classification import classification_metrics
    from eval_harness.metrics.stats import ConfusionData, bootstrap_ci, sum_statistic
    from eval_harness.predictions import peer_run_inputs
    from eval_harness.tasks.class_answers import extract_class

    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    ci = {"n_resamples": resamples, "seed": 0}

    def timed(name: str, n: int, fn, *a):
        start = time.perf_counter()
        out = fn(*a)
        seconds[name] += time.perf_counter() - start
        counts[name] += n
        return out

    inputs = peer_run_inputs(run)
    cls = inputs["code_cls"]
    refs = [r.primary for r in cls.references]

    def classify():
        ext = [extract_class(p.text, p.failed) for p in cls.predictions]
        classification_metrics(refs, ext)
        labels = [e.label if e.status == "ok" else None for e in ext]
        bootstrap_ci(ConfusionData.from_labels(refs, labels), "macro_f1", **ci)

    timed("classification", len(refs), classify)
    rpt = inputs["code_report"]
    hyps = ["" if p.failed or p.text is None else p.text for p in rpt.predictions]
    refs_text = [r.report for r in rpt.references]
    classes = [r.primary for r in rpt.references]
    n = len(hyps)

    def bleu():
        stats = text.bleu_sufficient_stats(hyps, refs_text)
        text.corpus_bleu(hyps, refs_text, stats=stats)
        mean = text.sentence_bleu_mean(hyps, refs_text, stats=stats)
        bootstrap_ci(np.array(stats, dtype=float), sum_statistic(text.bleu_from_stats_batch),
                     **ci)
        bootstrap_ci(mean.per_sample, "mean", **ci)

    def rouge():
        for result in text.rouge(hyps, refs_text).values():
            bootstrap_ci(result.per_sample, "mean", **ci)

    def clinical_all():
        bootstrap_ci(clinical.primary_class_accuracy(hyps, classes, "en").per_sample, "mean",
                     **ci)
        f1 = clinical.clinical_efficacy_f1(hyps, refs_text, "en")
        bootstrap_ci(np.asarray(f1.details["sufficient_stats"]),
                     sum_statistic(clinical.macro_f1_from_counts), **ci)
        bootstrap_ci(clinical.section_completeness(hyps, "en").per_sample, "mean", **ci)

    timed("bleu", n, bleu)
    timed("rouge", n, rouge)
    timed("meteor", n, lambda: bootstrap_ci(text.meteor(hyps, refs_text).per_sample, "mean",
                                            **ci))
    timed("clinical", n, clinical_all)
    return dict(seconds), dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", type=Path, default=PEER)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="processes over runs")
    parser.add_argument("--cosine-runs", type=int, default=2,
                        help="how many sft runs to embed (about 30-50 ms per new text)")
    args = parser.parse_args()
    os.environ["CODEBENCH_CACHE"] = tempfile.mkdtemp(prefix="codebench-bench-")
    from eval_harness.metrics.embeddings import MiniLMEmbedder
    from eval_harness.predictions import peer_run_inputs

    runs = sorted(p.parent for p in args.peer.glob("*/*/predictions.jsonl"))
    if not runs:
        raise SystemExit(f"no peer runs under {args.peer}")
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    start = time.perf_counter()
    # Runs are independent: one worker per core, each keeping its own reference memos.
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for run_seconds, run_counts in pool.map(score_run, runs, [args.resamples] * len(runs)):
            for name, value in run_seconds.items():
                seconds[name] += value
                counts[name] += run_counts[name]
    wall = time.perf_counter() - start

    core = ("classification", "bleu", "rouge", "meteor", "clinical")
    print(f"peer runs: {len(runs)}; bootstrap resamples: {args.resamples}; "
          f"workers: {args.workers}")
    for name in core:
        print(f"  {name:<16}{seconds[name]:8.2f} s CPU  "
              f"{1e3 * seconds[name] / counts[name]:7.3f} ms per prediction")
    print(f"wall time, classification+BLEU+ROUGE+METEOR+clinical with CIs, all runs: "
          f"{wall:.1f} s; ratio to the 120 s target: {wall / 120:.2f}")

    sft = [r for r in runs if r.parent.name == "sft"][: args.cosine_runs]
    if sft:
        embedder = MiniLMEmbedder()
        pairs = []
        for run in sft:
            rpt = peer_run_inputs(run)["code_report"]
            pairs.append(([p.text or "" for p in rpt.predictions],
                          [r.report for r in rpt.references]))
        start = time.perf_counter()
        for hyps, refs_text in pairs:
            embedder.cosine(hyps, refs_text)
        first = time.perf_counter() - start
        start = time.perf_counter()
        for hyps, refs_text in pairs:
            embedder.cosine(hyps, refs_text)
        repeat = time.perf_counter() - start
        texts = sum(len(h) + len(r) for h, r in pairs)
        print(f"cosine over {len(sft)} sft runs ({texts} texts, references shared): first "
              f"{first:.1f} s ({1e3 * first / texts:.1f} ms per text incl. model load), "
              f"repeat {repeat:.2f} s; repeat/first = {repeat / first:.3f} (target < 0.05)")


if __name__ == "__main__":
    main()
