"""Clinical accuracy of the 42 published runs, at the benchmark's level and a clinician's.

Scores every run under ../shared/data/peer-runs/pocket-dentist-code with the harness (the code
the CLI and the board run: ``api.score_many``, embeddings off) and writes
docs/clinical-accuracy.md: per run the six-class accuracy, fine-grained diagnosis F1, ICD-10
F1 (full code and category), section completeness, reports without a Diagnosis section and the
top confusion; the runs whose top confusion is the opposite malocclusion; the runs whose reports
are cut off before their Diagnosis; and, across runs, the Spearman rank correlation (with a
bootstrap CI over runs) of each report metric with classification macro-F1.

    .venv/bin/python scripts/clinical_accuracy.py [--peer-dir DIR] [--out FILE] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file, without installing the package

COMMAND = ".venv/bin/python scripts/clinical_accuracy.py"
DOC = ROOT / "docs" / "clinical-accuracy.md"
RESAMPLES = 200  # per-run CIs (shown for fine-grained F1); the documents hold every CI
CORRELATION_RESAMPLES, SEED = 2000, 0
# Report metrics set against classification macro-F1 (a text metric as a yardstick).
CORRELATED = ("primary_class_accuracy", "clinical_f1", "diagnosis_f1_micro",
              "diagnosis_f1_macro", "icd_f1", "icd_category_f1", "section_completeness",
              "diagnosis_section_rate", "bleu_sentence_mean")
CLASS3, CLASS2 = "Class III Malocclusion", "Class II Malocclusion"
# A report cut off by its token budget ends mid-word or mid-markup, not on one of these.
_TERMINAL = tuple(".。!！?？)）]】\"”'`")
NO_DIAGNOSIS_SHARE = 0.5  # runs with more reports than this lacking a Diagnosis are examined
CUT_OFF_SHARE = 0.5  # ... and called truncated when more answers than this are cut off
SWAPPED_SHARE = 0.5  # runs answering Class II for at least this share of Class III references


def cut_off(text: str | None) -> bool:
    """Does an answered report stop mid-sentence (no terminal punctuation at its end)?"""
    body = (text or "").rstrip().rstrip("*_#").rstrip()
    return bool(body) and not body.endswith(_TERMINAL)


def spearman_ci(x: list[float], y: list[float], resamples: int = CORRELATION_RESAMPLES,
                seed: int = SEED, level: float = 0.95) -> dict[str, Any]:
    """Spearman's rho of x and y, with a percentile bootstrap CI over the pairs (runs).
    Resamples where either side is constant have no rho and are left out (counted)."""
    from scipy.stats import spearmanr

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    rho = float(spearmanr(xs, ys).statistic)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        k = rng.integers(0, len(xs), len(xs))
        if np.ptp(xs[k]) > 0 and np.ptp(ys[k]) > 0:
            draws.append(float(spearmanr(xs[k], ys[k]).statistic))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return {"rho": rho, "ci": (float(low), float(high)), "n": len(xs),
            "undefined_resamples": resamples - len(draws)}


def run_row(run: Path, scored) -> dict[str, Any]:
    """One run's figures from its results document and per-sample records."""
    cls = scored.document.tasks["code_cls"].metrics
    report = scored.document.tasks["code_report"]
    metric = {name: entry.get("value") for name, entry in report.metrics.items()}
    samples = [s for s in scored.samples if s["task"] == "code_report"]
    answered = [s["prediction"] for s in samples if s["status"] == "ok" and s["prediction"]]
    confusions = report.tables["confusions"]
    per_anomaly = {r["anomaly"]: r for r in report.tables["per_anomaly"]}
    class3 = sum(1 for s in samples if CLASS3 in s["diagnosis"]["findings"]["tp"]
                 + s["diagnosis"]["findings"]["fn"])
    class3_as_2 = sum(1 for s in samples if CLASS3 in s["diagnosis"]["findings"]["fn"]
                      and CLASS2 in s["diagnosis"]["findings"]["fp"])
    pca = report.metrics["primary_class_accuracy"]["details"]
    return {
        "setting": run.parent.name, "model": run.name, "n": report.n,
        "failed": report.n_failed, "cls_macro_f1": cls["macro_f1"]["value"], **metric,
        "f1_micro_ci": report.metrics["diagnosis_f1_micro"].get("ci"),
        "source": report.tables["diagnosis_source"]["generated"],
        "top_finding": (confusions["findings"]["substituted"] or [None])[0],
        "top_code": (confusions["codes"]["substituted"] or [None])[0],
        "class3_references": class3, "class3_as_class2": class3_as_2,
        "class3_six_class_accuracy": pca["per_class_accuracy"].get(CLASS3),
        "class2_predicted": per_anomaly.get(CLASS2, {}).get("predicted", 0),
        "median_words": statistics.median(len(t.split()) for t in answered) if answered else 0,
        "cut_off": sum(cut_off(t) for t in answered), "answered": len(answered),
    }


def score_runs(peer_dir: Path, workers: int) -> list[dict[str, Any]]:
    from eval_harness import api

    runs, jobs = api.peer_run_jobs(peer_dir)
    options = api.ScoreOptions(resamples=RESAMPLES, embeddings=False)
    return [run_row(run, scored) for run, scored in
            zip(runs, api.score_many(jobs, options, workers=workers), strict=True)]


# ------------------------------------------------------------------------------ writing

def _f(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _pair(row: dict[str, Any] | None) -> str:
    if row is None:
        return "–"
    return f"{row['reference']} → {row['generated']} ×{row['count']}"


def reading(row: dict[str, Any]) -> str:
    """Why a run's reports lack a Diagnosis section, from the evidence in its row."""
    why = []
    if row["answered"] < row["n"] / 2:
        why.append(f"{row['n'] - row['answered']} answers failed or empty")
    if row["answered"] and row["cut_off"] > CUT_OFF_SHARE * row["answered"]:
        why.append("truncated")
    return "; ".join(why) or "written without a Diagnosis section"


def render(rows: list[dict[str, Any]], correlations: dict[str, dict[str, Any]]) -> str:
    from eval_harness.labels.findings import findings_id

    swapped = [r for r in rows if r["class3_references"]
               and r["class3_as_class2"] >= SWAPPED_SHARE * r["class3_references"]]
    settings = ", ".join(sorted({r["setting"] for r in swapped}))
    top_finding = sum(1 for r in swapped if (r["top_finding"]["reference"],
                                              r["top_finding"]["generated"]) == (CLASS3, CLASS2))
    top_code = sum(1 for r in swapped if r["top_code"] and (
        r["top_code"]["reference"], r["top_code"]["generated"]) == ("K07.200x013", "K07.200x012"))
    undiagnosed = [r for r in rows if r["n"] and
                   r["source"]["diagnosis"] < (1 - NO_DIAGNOSIS_SHARE) * r["n"]]
    out = [
        "# Clinical accuracy of the 42 published runs",
        "",
        f"Generated by `{COMMAND}` from the peer runs in `../shared/data/peer-runs/"
        "pocket-dentist-code` (the real COde test split, 600 checkups); do not edit by hand. "
        f"Findings and codes are read with `{findings_id()}`; every metric is the harness's "
        "own (`python -m eval_harness score --peer-run RUN` gives the same numbers with their "
        f"95% CIs). Per-run CIs here: {RESAMPLES} bootstrap resamples over checkups.",
        "",
        "Two levels of truth. **Six-class accuracy** (`primary_class_accuracy`) asks whether a "
        "report affirms the checkup's benchmark class. The label map files every malocclusion "
        "under one class, so a report that writes Angle Class II for an Angle Class III "
        "patient is right there. **Fine-grained diagnosis F1** compares the anomalies of the "
        "label map that the generated Diagnosis affirms with those of the reference "
        "Diagnosis. **ICD F1** does the same for the ICD-10 codes: the full code (national "
        "extension included) and the three-character category. A report without a Diagnosis "
        "section is read from its Patient Record's diagnosis line (the declared fallback), "
        "else as diagnosing nothing, and is flagged per sample.",
        "",
        "## The opposite malocclusion: Class II written for Class III",
        "",
        f"In {len(swapped)} of {len(rows)} runs (settings: {settings}) at least "
        f"{SWAPPED_SHARE:.0%} of the reports for Angle Class III references diagnose Angle "
        f"Class II, the opposite malocclusion. In {top_finding} of them {CLASS3} → {CLASS2} "
        f"is the most frequent fine-grained confusion, and in {top_code} K07.200x013 → "
        "K07.200x012 the most frequent code confusion. Six-class accuracy counts these "
        "reports as correct (its column below); the fine-grained and ICD metrics count them "
        "as wrong.",
        "",
        "| run | Class III references | answered Class II | top code confusion | "
        "six-class accuracy on Class III | fine-grained F1 | ICD F1 |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for r in swapped:
        out.append(f"| {r['setting']}/{r['model']} | {r['class3_references']} | "
                   f"{r['class3_as_class2']} | {_pair(r['top_code'])} | "
                   f"{_f(r['class3_six_class_accuracy'])} | {_f(r['diagnosis_f1_micro'])} | "
                   f"{_f(r['icd_f1'])} |")
    out += [
        "",
        "## Reports without a Diagnosis section, and truncated reports",
        "",
        f"Runs where more than {NO_DIAGNOSIS_SHARE:.0%} of the reports have no Diagnosis "
        "section. An answer is counted as cut off when it stops without terminal punctuation "
        f"(mid-word or mid-markup); a run is **truncated** when more than {CUT_OFF_SHARE:.0%} "
        "of its answers are cut off.",
        "",
        "| run | reports | answered | without Diagnosis | read from the Patient Record line | "
        "nothing read | median words | cut off | reading | six-class accuracy | "
        "fine-grained F1 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in undiagnosed:
        missing = r["n"] - r["source"]["diagnosis"]
        out.append(f"| {r['setting']}/{r['model']} | {r['n']} | {r['answered']} | {missing} "
                   f"({missing / r['n']:.0%}) | {r['source']['preliminary_diagnosis']} | "
                   f"{r['source']['none']} | {r['median_words']:g} | {r['cut_off']} | "
                   f"{reading(r)} | {_f(r['primary_class_accuracy'])} | "
                   f"{_f(r['diagnosis_f1_micro'])} |")
    truncated = [f"{r['setting']}/{r['model']}" for r in undiagnosed
                 if "truncated" in reading(r)]
    if truncated:
        out += ["", f"Truncated: **{', '.join(truncated)}**. Their answers stop before any "
                "Diagnosis section, most of them mid-sentence (see the median length). Their "
                "clinical figures measure that cut-off as much as the model's diagnostic "
                "knowledge: where the Patient Record's \"Preliminary Diagnosis\" line was "
                "written, it is what the figures read."]
    out += [
        "",
        "## Every run",
        "",
        "cls macro-F1: classification task. Six-class: `primary_class_accuracy`. Fine-grained "
        "F1: micro (95% CI) and macro. ICD F1: full code / category. Sections: "
        "`section_completeness`. No Dx: reports without a Diagnosis section.",
        "",
        "| setting | model | cls macro-F1 | six-class | fine-grained F1 micro | macro | "
        "ICD F1 | ICD category F1 | sections | no Dx | top confusion (findings) | "
        "top confusion (codes) |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        ci = r["f1_micro_ci"]
        micro = _f(r["diagnosis_f1_micro"]) + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
        out.append(f"| {r['setting']} | {r['model']} | {_f(r['cls_macro_f1'])} | "
                   f"{_f(r['primary_class_accuracy'])} | {micro} | "
                   f"{_f(r['diagnosis_f1_macro'])} | {_f(r['icd_f1'])} | "
                   f"{_f(r['icd_category_f1'])} | {_f(r['section_completeness'])} | "
                   f"{r['n'] - r['source']['diagnosis']} | {_pair(r['top_finding'])} | "
                   f"{_pair(r['top_code'])} |")
    out += [
        "",
        "## What each metric measures: rank correlation with classification macro-F1",
        "",
        f"Spearman's rho across the {len(rows)} runs between each report metric and the "
        "same run's classification macro-F1, with a 95% percentile bootstrap CI "
        f"({CORRELATION_RESAMPLES} resamples of runs, seed {SEED}). A high rho says the "
        "metric ranks runs as their image-based diagnosis does; a low one says it measures "
        "something else (phrasing, format, report completeness).",
        "",
        "| metric | rho | 95% CI |",
        "|---|---:|---|",
    ]
    for name, c in correlations.items():
        note = "".join([
            f" ({len(rows) - c['n']} runs without a value left out)" if c["n"] < len(rows)
            else "",
            f" ({c['undefined_resamples']} constant resamples left out)"
            if c["undefined_resamples"] else ""])
        out.append(f"| `{name}` | {c['rho']:+.3f} | [{c['ci'][0]:+.3f}, {c['ci'][1]:+.3f}]"
                   f"{note} |")
    out += [
        "",
        "Macro fine-grained F1 averages over the anomalies the reference Diagnoses affirm, "
        "many of them rare: its CI is wide, and it weighs a rare diagnosis as much as a "
        "common one.",
        "",
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=DOC)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from eval_harness.settings import peer_runs_dir

    peer_dir = args.peer_dir or peer_runs_dir()
    if not peer_dir.is_dir():
        raise SystemExit(f"peer runs not found at {peer_dir} (set CODEBENCH_PEER_RUNS)")
    rows = score_runs(peer_dir, args.workers)
    correlations = {}
    for name in CORRELATED:  # a run whose metric is undefined (None) is left out, counted
        pairs = [(r[name], r["cls_macro_f1"]) for r in rows
                 if r[name] is not None and r["cls_macro_f1"] is not None]
        correlations[name] = spearman_ci([x for x, _ in pairs], [y for _, y in pairs])
    args.out.write_text(render(rows, correlations), encoding="utf-8")
    print(f"wrote {args.out} ({len(rows)} runs)")


if __name__ == "__main__":
    main()
