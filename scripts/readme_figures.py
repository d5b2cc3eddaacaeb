"""The README's figures that go stale, written from what the repository holds.

The README marks each such block::

    <!-- figures:NAME (written by scripts/readme_figures.py; do not edit) -->
    ...
    <!-- /figures:NAME -->

and this script writes each block from its source:

- ``tests``: how many tests each of `make test`'s three runs collects (pytest
  ``--collect-only``: collected, whether or not a prerequisite is present, so the
  figure does not depend on the machine);
- ``tiny-demo``: the shipped tiny-demo's scores, from its card's results
  (``checkpoints/tiny-demo/eval/results.json``, seed 0's test split) and from the
  committed synthetic-demo seed (seed 1's test split: what `make demo` prints and the
  space's synthetic-demo board shows), which is why the two differ; then its held-out
  seeds and ablations from ``checkpoints/tiny-demo/checks.json`` (``tiny_demo_checks.py``).

Measured times are not written here: they change with the machine. The README gives each
with its date and the command that measured it; ``--check`` only makes sure every block
is current.

Run: .venv/bin/python scripts/readme_figures.py [--check]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"(<!-- figures:(?P<name>[\w-]+) [^>]*-->\n)(?P<body>.*?)(<!-- /figures:"
                   r"(?P=name) -->)", re.S)

# `make test`'s three runs (Makefile), as pytest arguments.
TEST_RUNS = (("fast tests on both cores", ["-m", "not slow", "--ignore=tests/space"]),
             ("the space's server and browser tests", ["tests/space"]),
             ("the slow reliability tests", ["-m", "slow", "tests/reliability"]))


def _collected(args: list[str]) -> int:
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    # "N tests collected", or "N/M tests collected (K deselected)" where -m selects.
    found = re.search(r"(\d+)(?:/\d+)? tests? collected", done.stdout)
    if found is None:
        raise SystemExit(f"pytest --collect-only {' '.join(args)} failed:\n{done.stdout[-2000:]}"
                         f"{done.stderr[-2000:]}")
    return int(found.group(1))


SHARED = ROOT.parent / "shared"


def tests_block() -> str | None:
    """None where ../shared is absent: the peer-run tests are parametrised by the
    published runs there, so a clone without it collects fewer (and says so)."""
    if not SHARED.is_dir():
        return None
    counts = [(what, _collected(args)) for what, args in TEST_RUNS]
    lines = [f"- {what}: {n:,} tests" for what, n in counts]
    total = sum(n for _, n in counts)
    return (f"`make test` collects {total:,} tests in its three runs (with `../shared`; a "
            "clone without it collects fewer, the peer-run tests being one per published "
            "run):\n\n" + "\n".join(lines) + "\n")


def _macro_f1(document: dict) -> str:
    entry = document["tasks"]["code_cls"]["metrics"]["macro_f1"]
    low, high = entry["ci"]
    return f"{entry['value']:.3f} [{low:.3f}, {high:.3f}]"


def tiny_demo_block() -> str:
    card = json.loads((ROOT / "checkpoints/tiny-demo/eval/results.json").read_text())
    seed = json.loads(gzip.decompress(
        (ROOT / "leaderboard/seeds/synthetic-demo.json.gz").read_bytes()))
    demo = {run["model_name"]: run["document"] for run in seed["runs"]}
    tiny = next(doc for name, doc in demo.items() if name.startswith("tiny-demo"))
    return (f"code_cls macro-F1 of the shipped tiny-demo: {_macro_f1(card)} on seed 0's "
            f"test split ({card['dataset']['size']} checkups; its card, "
            f"`checkpoints/tiny-demo/eval/results.json`), and {_macro_f1(tiny)} on seed 1's "
            f"({tiny['dataset']['size']} checkups; what `make demo` prints and the space's "
            "`synthetic-demo` board shows), against the majority baseline's "
            f"{_macro_f1(demo['majority baseline'])}. Seed 1 is a benchmark the model never "
            "trained on (seed 0's train split was its training data), so the two differ.\n"
            + _checks_lines())


def _checks_lines() -> str:
    """The held-out seeds and the ablations of checkpoints/tiny-demo/checks.json."""
    rows = json.loads((ROOT / "checkpoints/tiny-demo/checks.json").read_text())["rows"]
    shipped = {r["seed"]: r for r in rows if r["variant"] == "shipped" and r["seed"] != 0}
    lines = ["", "Held-out seeds of 1,000 checkups (`scripts/tiny_demo_checks.py`, "
             "`checkpoints/tiny-demo/CHECKS.md`):", ""]
    for seed, r in sorted(shipped.items()):
        low, high = r["macro_f1_ci"]
        lines.append(f"- seed {seed} ({r['test_checkups']} test checkups): macro-F1 "
                     f"{r['macro_f1']:.3f} [{low:.3f}, {high:.3f}], reports with all nine "
                     f"sections {r['nine_sections']:.1%}, primary-class accuracy "
                     f"{r['primary_class_accuracy']:.3f}, report and classification agree on "
                     f"{r['agreement']:.1%}")
    variants: dict[str, list[dict]] = {}
    for r in rows:
        if r["variant"] != "shipped" and r["seed"] in shipped:
            variants.setdefault(r["variant"], []).append(r)
    for variant, compared in variants.items():
        drops = " and ".join(f"{r['macro_f1'] - shipped[r['seed']]['macro_f1']:+.3f}"
                             for r in compared)
        agree = " and ".join(f"{r['agreement']:.1%}" for r in compared)
        lines.append(f"- {variant}: macro-F1 {drops} against the shipped recipe on the "
                     "same seeds; "
                     f"report and classification agree on {agree}")
    return "\n".join(lines) + "\n"


BLOCKS: dict[str, Callable[[], str | None]] = {"tests": tests_block, "tiny-demo": tiny_demo_block}


def rewrite(text: str) -> tuple[str, list[str]]:
    """The README with every marked block rewritten; the names of blocks that changed."""
    changed: list[str] = []

    def one(match: re.Match) -> str:
        name = match.group("name")
        if name not in BLOCKS:
            raise SystemExit(f"README.md: unknown figures block {name!r}")
        body = BLOCKS[name]()
        if body is None:  # cannot be computed here: left as it is, and said
            print(f"README.md: {name} not checked (../shared is absent)", file=sys.stderr)
            return match.group(0)
        if body != match.group("body"):
            changed.append(name)
        return match.group(1) + body + match.group(4)

    new = BLOCK.sub(one, text)
    missing = set(BLOCKS) - {m.group("name") for m in BLOCK.finditer(text)}
    if missing:
        raise SystemExit(f"README.md: no figures block for {', '.join(sorted(missing))}")
    return new, changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="fail (exit 1) if a block differs from what would be written")
    args = parser.parse_args()
    new, changed = rewrite(README.read_text(encoding="utf-8"))
    if args.check:
        if changed:
            print(f"README.md: figures out of date: {', '.join(changed)} (run "
                  ".venv/bin/python scripts/readme_figures.py)", file=sys.stderr)
            return 1
        print("README.md: figures current")
        return 0
    README.write_text(new, encoding="utf-8")
    print(f"README.md: rewrote {', '.join(changed) or 'nothing (all current)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
