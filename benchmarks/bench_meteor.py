"""METEOR on every published report: the fast path against nltk, same numbers, timed.

Run: .venv/bin/python -m benchmarks.bench_meteor [--limit N] [--plain-sample 300]

Reads every ``code_report`` line (prediction vs ground_truth) of the 42 published peer
runs (22,501 reports), scores each with

- ``text.meteor_values`` (``eval_harness.metrics.meteor.Meteor``), cold: a fresh
  process-level memo, so its time includes building every word's synonym set;
- ``text.nltk_meteor_values``: ``nltk.translate.meteor_score.meteor_score`` as text.py
  called it before (its stemmer and ``wordnet.synsets`` memoised);

checks the two lists are equal float for float (prints every mismatch; exit status 1
if any), and prints the time ratio nltk / fast. The fast path runs first, so nltk's
own synset cache is already warm when nltk is timed: the ratio is, if anything, low.
``--plain-sample N`` also times nltk with its default arguments (no memos, as a peer
scorer calls it) on the first N reports. ``--check-wordnet-index`` checks, over every
synset of WordNet (about 30 s), what the fast path's synonym prefilter relies on:
each synset is listed in WordNet's index under each of its lemma names.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

PEER = Path(__file__).resolve().parents[2] / "shared" / "data" / "peer-runs" / "pocket-dentist-code"


def published_pairs(peer: Path = PEER) -> list[tuple[str, str, str]]:
    """(run, prediction, ground_truth) for every code_report line of every run."""
    out = []
    for path in sorted(peer.glob("*/*/predictions.jsonl")):
        run = str(path.parent.relative_to(peer))
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row["task"] == "code_report":
                    out.append((run, row.get("prediction") or "", row["ground_truth"]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", type=Path, default=PEER)
    parser.add_argument("--limit", type=int, default=0, help="first N reports only")
    parser.add_argument("--plain-sample", type=int, default=0,
                        help="also time nltk with default arguments on N reports")
    parser.add_argument("--check-wordnet-index", action="store_true",
                        help="check the lemma index over every WordNet synset")
    args = parser.parse_args()
    from eval_harness.metrics import text
    from eval_harness.metrics import wordnet as wordnet_setup

    if not wordnet_setup.ensure_nltk_wordnet():
        print(text.WORDNET_MISSING)
        return 2
    pairs = published_pairs(args.peer)
    if args.limit:
        pairs = pairs[: args.limit]
    if not pairs:
        print(f"no published reports under {args.peer}")
        return 2
    hyps, refs = [h for _, h, _ in pairs], [r for _, _, r in pairs]
    from nltk.corpus import wordnet

    wordnet.synsets("tooth")  # load WordNet's index once, outside both timings

    start = time.perf_counter()
    fast = text.meteor_values(hyps, refs)
    t_fast = time.perf_counter() - start
    start = time.perf_counter()
    again = text.meteor_values(hyps, refs)
    t_warm = time.perf_counter() - start
    start = time.perf_counter()
    reference = text.nltk_meteor_values(hyps, refs)
    t_nltk = time.perf_counter() - start

    mismatches = [(i, a, b) for i, (a, b) in enumerate(zip(fast, reference, strict=True))
                  if a != b or type(a) is not type(b)]
    mismatches += [(i, a, b) for i, (a, b) in enumerate(zip(again, reference, strict=True))
                   if a != b]
    runs = len({run for run, _, _ in pairs})
    print(f"published reports: {len(pairs)} from {runs} runs")
    for i, got, want in mismatches[:50]:
        print(f"  MISMATCH {pairs[i][0]} line {i}: fast {got!r} nltk {want!r}")
    print(f"exact equality (==) with nltk meteor_score: {len(pairs) - len(mismatches)}"
          f"/{len(pairs)} ({len(mismatches)} mismatches)")
    print(f"nltk meteor_score (memoised stems/synsets): {t_nltk:8.2f} s "
          f"({1e3 * t_nltk / len(pairs):.3f} ms per report)")
    print(f"fast METEOR, cold memos:                    {t_fast:8.2f} s "
          f"({1e3 * t_fast / len(pairs):.3f} ms per report)")
    print(f"fast METEOR, warm memos (second pass):      {t_warm:8.2f} s "
          f"({1e3 * t_warm / len(pairs):.3f} ms per report)")
    print(f"ratio nltk / fast: {t_nltk / t_fast:.1f}x cold, {t_nltk / t_warm:.1f}x warm")
    if args.plain_sample:
        from nltk.translate.meteor_score import meteor_score

        sample = pairs[: args.plain_sample]
        start = time.perf_counter()
        plain = [meteor_score([r.split()], h.split()) if h.split() else 0.0
                 for _, h, r in sample]
        t_plain = time.perf_counter() - start
        same = sum(a == b for a, b in zip(plain, fast, strict=False))
        per = t_plain / len(sample)
        print(f"nltk meteor_score with default arguments on {len(sample)} reports: "
              f"{1e3 * per:.2f} ms per report (equal: {same}/{len(sample)}); ratio to "
              f"fast cold: {per / (t_fast / len(pairs)):.1f}x")
    unlisted = check_wordnet_index() if args.check_wordnet_index else 0
    return 1 if mismatches or unlisted else 0


def check_wordnet_index(synsets: Any = None) -> int:
    """Synset lemma names (without ``_``, as METEOR uses them) whose synset is not
    among ``Meteor.lemma_keys(name)``; prints a summary and returns the count."""
    from nltk.corpus import wordnet

    from eval_harness.metrics.meteor import Meteor

    meteor = Meteor(wordnet)
    start = time.perf_counter()
    n_synsets = n_names = unlisted = 0
    for synset in synsets if synsets is not None else wordnet.all_synsets():
        n_synsets += 1
        key = ("a" if synset.pos() == "s" else synset.pos(), synset.offset())
        for lemma in synset.lemmas():
            name = lemma.name()
            if name.find("_") >= 0:
                continue
            n_names += 1
            if key not in meteor.lemma_keys(name):
                unlisted += 1
                if unlisted <= 20:
                    print(f"  UNLISTED {synset.name()} lemma {name!r}")
    print(f"WordNet index lists every synset under its lemma names: {n_synsets} synsets, "
          f"{n_names} lemma names, {unlisted} unlisted "
          f"({time.perf_counter() - start:.1f} s)")
    return unlisted


if __name__ == "__main__":
    sys.exit(main())
