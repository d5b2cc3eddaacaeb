"""The product's scoring path against a peer-style scorer, over all published peer runs.

Run: .venv/bin/python -m benchmarks.bench_scoring [--workers 2] [--resamples 1000]

Both are timed in this one run, on the same machine state:

- peer-style: what a plain evaluation script does (the public peer harness's way):
  sequential, scikit-learn accuracy and weighted P/R/F1, sacrebleu sentence BLEU and
  nltk METEOR per report; no CIs, no ROUGE, no clinical metrics.
- ours: ``eval_harness.api.score_many`` -- the code the CLI and the leaderboard run --
  with every metric of code_cls and code_report except the embedding cosine (switched
  off: the peer-style set has none), 95% bootstrap CIs for both views, over
  ``--workers`` processes.

Prints both wall times, the ratio peer-style / ours (goal >= 3) and the largest
difference between the numbers the two compute in common (goal: 0): accuracy and
weighted F1 per run, sentence BLEU and METEOR per report.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

PEER = Path(__file__).resolve().parents[2] / "shared" / "data" / "peer-runs" / "pocket-dentist-code"


def peer_style(run: Path) -> dict[str, float]:
    """One run the plain way. Failed answers count as wrong / empty, as ours do."""
    import sacrebleu
    from nltk.corpus import wordnet
    from nltk.translate.meteor_score import meteor_score
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    from eval_harness.labels.class_answers import extract_class
    from eval_harness.labels.classes import CLASSES
    from eval_harness.predictions import peer_run_inputs

    inputs = peer_run_inputs(run)
    cls = inputs["code_cls"]
    truth = [r.primary for r in cls.references]
    guess = [extract_class(p.text, p.failed).label or "none" for p in cls.predictions]
    _, _, f1, _ = precision_recall_fscore_support(truth, guess, labels=list(CLASSES),
                                                  average="weighted", zero_division=0)
    report = inputs["code_report"]
    bleu, meteor = [], []
    for pred, ref in zip(report.predictions, report.references, strict=True):
        hyp = "" if pred.failed or pred.text is None else pred.text
        bleu.append(sacrebleu.sentence_bleu(hyp, [ref.report]).score / 100)
        tokens = hyp.split()
        meteor.append(meteor_score([ref.report.split()], tokens, wordnet=wordnet)
                      if tokens else 0.0)
    return {"code_cls/accuracy": [accuracy_score(truth, guess)], "code_cls/weighted_f1": [f1],
            "code_report/bleu_sentence_mean": bleu, "code_report/meteor": meteor}


def ours(runs: list[Path], workers: int, resamples: int) -> list[dict[str, list[float]]]:
    from eval_harness import api
    from eval_harness.predictions import read_peer_run

    def jobs():
        for run in runs:
            references, predictions = read_peer_run(run)
            yield api.ScoreJob(predictions, references, model={"name": run.name})

    options = api.ScoreOptions(resamples=resamples, embeddings=False)
    out = []
    for scored in api.score_many(jobs(), options, workers=workers):
        cls = scored.document.tasks["code_cls"].metrics
        reports = [s["metrics"] for s in scored.samples if s["task"] == "code_report"]
        out.append({"code_cls/accuracy": [cls["accuracy"]["value"]],
                    "code_cls/weighted_f1": [cls["weighted_f1"]["value"]],
                    **{f"code_report/{m}": [r[m] for r in reports]
                       for m in ("bleu_sentence_mean", "meteor")}})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", type=Path, default=PEER)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="first N runs only")
    args = parser.parse_args()
    from eval_harness.metrics.wordnet import ensure_nltk_wordnet

    if not ensure_nltk_wordnet():
        raise SystemExit("WordNet is missing: run `make system-deps` first")
    runs = sorted(p.parent for p in args.peer.glob("*/*/predictions.jsonl"))[:args.limit]
    if not runs:
        raise SystemExit(f"no peer runs under {args.peer}")

    start = time.perf_counter()
    reference = [peer_style(run) for run in runs]
    t_peer = time.perf_counter() - start
    start = time.perf_counter()
    got = ours(runs, args.workers, args.resamples)
    t_ours = time.perf_counter() - start

    # Per sample for the report metrics, per run for the classification ones.
    worst = max(abs(x - y) for a, b in zip(reference, got, strict=True) for k in a
                for x, y in zip(a[k], b[k], strict=True))
    print(f"{len(runs)} peer runs, both tasks; bootstrap resamples {args.resamples}; "
          f"our workers {args.workers}")
    print(f"  peer-style (accuracy, weighted F1, sentence BLEU, METEOR; sequential, no CIs): "
          f"{t_peer:7.1f} s")
    print(f"  ours (classification, BLEU, sentence BLEU, ROUGE-1/2/L, METEOR, clinical x3, "
          f"diagnosis and ICD-10 x9; CIs, both views): {t_ours:7.1f} s")
    print(f"  ratio peer-style / ours = {t_peer / t_ours:.2f} (goal >= 3)")
    print(f"  largest difference in the numbers both compute: {worst:.3g} (goal 0)")


if __name__ == "__main__":
    main()
