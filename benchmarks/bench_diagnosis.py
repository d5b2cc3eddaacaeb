"""What the fine-grained diagnosis and ICD-10 metrics add to scoring a run.

Run: .venv/bin/python -m benchmarks.bench_diagnosis [--resamples 1000] [--limit N]

Scores every published peer run (both tasks, embeddings off, CIs in both views) in this one
process, as ``score`` does, and times, inside that same scoring, the part the diagnosis metrics
add: reading the generated and reference diagnoses (``diagnosis_agreement``) and their CIs
(``SampleMetric.view`` of each diagnosis metric). Prints the share they add over the rest of
the scoring (goal: at most 20%) — both timed in one run, so machine noise hits both alike.
The first run also pays for reading the 600 reference diagnoses; later runs reuse them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

PEER = Path(__file__).resolve().parents[2] / "shared" / "data" / "peer-runs" / "pocket-dentist-code"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", type=Path, default=PEER)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=None, help="first N runs only")
    args = parser.parse_args()

    from eval_harness import api
    from eval_harness.metrics import diagnosis
    from eval_harness.metrics.wordnet import ensure_nltk_wordnet
    from eval_harness.predictions import read_peer_run
    from eval_harness.tasks import base, code_report

    if not ensure_nltk_wordnet():
        raise SystemExit("WordNet is missing: run `make system-deps` first")
    runs = sorted(p.parent for p in args.peer.glob("*/*/predictions.jsonl"))[:args.limit]
    if not runs:
        raise SystemExit(f"no peer runs under {args.peer}")

    spent = {"diagnosis": 0.0}
    agreement, view = code_report.diagnosis_agreement, base.SampleMetric.view

    def timed_agreement(*a, **k):
        start = time.perf_counter()
        try:
            return agreement(*a, **k)
        finally:
            spent["diagnosis"] += time.perf_counter() - start

    def timed_view(self, *a, **k):
        if self.result.name not in diagnosis.METRICS:
            return view(self, *a, **k)
        start = time.perf_counter()
        try:
            return view(self, *a, **k)
        finally:
            spent["diagnosis"] += time.perf_counter() - start

    code_report.diagnosis_agreement = timed_agreement
    base.SampleMetric.view = timed_view
    options = api.ScoreOptions(resamples=args.resamples, embeddings=False)
    start = time.perf_counter()
    for run in runs:
        references, predictions = read_peer_run(run)
        api.score_predictions(predictions, references, options, model={"name": run.name})
    total = time.perf_counter() - start
    rest = total - spent["diagnosis"]
    print(f"{len(runs)} peer runs, both tasks, bootstrap resamples {args.resamples}, one process")
    print(f"  scoring without the diagnosis metrics: {rest:7.2f} s")
    print(f"  diagnosis metrics (reading + CIs):      {spent['diagnosis']:7.2f} s")
    print(f"  added share = {spent['diagnosis'] / rest:.1%} (goal <= 20%)")


if __name__ == "__main__":
    main()
