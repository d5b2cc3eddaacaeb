"""The figures of the README's Reliability section, from the last run of the reliability
tests (`make test`, or `pytest -m slow tests/reliability`), which write them to
build/test-artifacts/reliability/, and from the hostile-input corpus itself.

    .venv/bin/python scripts/reliability_figures.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from tests.reliability.corpus import CORPUS
    from tests.reliability.test_hostile_app import CASES

    kinds = Counter(c.kind for c in CORPUS)
    print(f"hostile corpus: {len(CORPUS)} cases ("
          + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
          + f"); {len(CASES)} of them also through the running app's API")
    found = sorted((ROOT / "build" / "test-artifacts" / "reliability").glob("load-*.json"))
    if not found:
        print("no load figures yet: run `make test` (or pytest -m slow tests/reliability)")
        return 1
    for path in found:
        figures = json.loads(path.read_text())
        print(f"load on {path.stem.removeprefix('load-')}: {figures['submissions']} "
              f"submissions + {figures['demo_requests']} demo requests at once, "
              f"{figures['workers']} workers; board reads while the demo queue was busy: "
              f"{figures['board_reads']} reads, median {figures['read_median_s']} s, "
              f"p95 {figures['read_p95_s']} s; all requests answered in "
              f"{figures['load_s']} s, queue drained in {figures['drain_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
