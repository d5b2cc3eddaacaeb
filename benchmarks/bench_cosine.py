"""MiniLM cosine: the cost of a repeated scoring of the same texts against the first.

Run: .venv/bin/python -m benchmarks.bench_cosine [--runs 2]

Embeds the reports of the first ``--runs`` sft peer runs with a fresh embedding cache,
then again; prints repeat/first (target < 0.05), measured in one process.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.bench_scoring import PEER


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", type=Path, default=PEER)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    from eval_harness.metrics.embeddings import MiniLMEmbedder
    from eval_harness.predictions import peer_run_inputs

    sft = sorted(p.parent for p in args.peer.glob("sft/*/predictions.jsonl"))[:args.runs]
    if not sft:
        raise SystemExit(f"no sft peer runs under {args.peer}")
    fresh = Path(tempfile.mkdtemp(prefix="codebench-bench-")) / "embeddings.sqlite"
    embedder = MiniLMEmbedder(cache_path=fresh)
    pairs = []
    for run in sft:
        rpt = peer_run_inputs(run)["code_report"]
        pairs.append(([p.text or "" for p in rpt.predictions], [r.report for r in rpt.references]))
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        for hyps, refs in pairs:
            embedder.cosine(hyps, refs)
        timings.append(time.perf_counter() - start)
    texts = sum(len(h) + len(r) for h, r in pairs)
    first, repeat = timings
    print(f"cosine over {len(sft)} sft runs ({texts} texts): first {first:.1f} s "
          f"({1e3 * first / texts:.1f} ms per text incl. model load), repeat {repeat:.2f} s; "
          f"repeat/first = {repeat / first:.3f} (target < 0.05)")


if __name__ == "__main__":
    main()
