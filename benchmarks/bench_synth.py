"""Time the synthetic generator: 300 checkups must take at most 30 s on 2 cores.

Run: .venv/bin/python -m benchmarks.bench_synth [--checkups 300]
Prints wall seconds, the share of the 30 s budget, and the cost per image.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from eval_harness.data.synth import generate

BUDGET_S = 30.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkups", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        generate(Path(tmp), args.checkups, args.seed)
        seconds = time.perf_counter() - start
        images = sum(1 for _ in Path(tmp, "Images").rglob("*.jpg"))
    print(f"checkups: {args.checkups}  images: {images}")
    print(f"wall: {seconds:.2f} s  budget ratio: {seconds / BUDGET_S:.2f} (target <= 1.00 "
          f"for 300 checkups)  per image: {1000 * seconds / images:.1f} ms")


if __name__ == "__main__":
    main()
