"""How well the report labeler agrees with the reference class on the real COde references.

The peer harness's prediction files (../shared/data/peer-runs/pocket-dentist-code) carry the
600 real COde test checkups twice: ``code_cls_NNNNN`` (ground truth: the class) and
``code_rpt_NNNNN`` (ground truth: the reference report) with the same number are the same
checkup. For each reference report this labels all six classes, on the whole report and on
the Diagnosis section alone, and writes docs/labeler-agreement.md.

    .venv/bin/python scripts/labeler_agreement.py [--peer-dir DIR] [--out FILE]

The floors below are what the doc states and what tests/test_report_labeler.py asserts;
raise them when the rules get better, never lower them to make a change pass.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file, without installing the package

from eval_harness.labels.classes import CLASSES  # noqa: E402
from eval_harness.labels.report_labeler import (  # noqa: E402
    find_mentions,
    label_report,
    rules_id,
    split_sections,
)

COMMAND = ".venv/bin/python scripts/labeler_agreement.py"
DOC = ROOT / "docs" / "labeler-agreement.md"
# Reference reports (of 600) whose own class the labeler reads as present, at least.
FLOOR_WHOLE_REPORT = 599
FLOOR_DIAGNOSIS = 591
# Class-present readings of OTHER classes over the 600 references, at most.
CEILING_OTHER_PRESENT = 27
STATUSES = ("present", "uncertain", "negated", "absent")
_NUMBER = re.compile(r"^code_(?:cls|rpt)_(\d+)$")


@dataclass(frozen=True)
class Reference:
    number: str  # "00042"
    cls: str  # the reference class (the classification ground truth)
    report: str  # the reference report (the report ground truth)


def default_peer_dir() -> Path:
    env = os.environ.get("CODEBENCH_PEER_RUNS")
    shared = ROOT.parent / "shared" / "data" / "peer-runs" / "pocket-dentist-code"
    return Path(env) if env else shared


def load_references(peer_dir: Path) -> list[Reference]:
    """The union of ground truths over every run's predictions.jsonl, paired by number.

    Runs hold different subsets (some drop failed samples), so all are read; one id with two
    different ground truths is an error rather than a silent pick.
    """
    files = sorted(peer_dir.glob("*/*/predictions.jsonl"))
    if not files:
        raise FileNotFoundError(f"no */*/predictions.jsonl under {peer_dir}")
    truth: dict[str, str] = {}
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            old = truth.setdefault(row["id"], row["ground_truth"])
            if old != row["ground_truth"]:
                raise ValueError(f"{path}: ground truth of {row['id']} differs between runs")
    classes: dict[str, str] = {}
    reports: dict[str, str] = {}
    for key, value in truth.items():
        m = _NUMBER.match(key)
        if m:
            (classes if key.startswith("code_cls_") else reports)[m.group(1)] = value
    unpaired = sorted(set(classes).symmetric_difference(reports))
    if unpaired:
        raise ValueError(f"checkups without both a class and a report: {unpaired[:5]} ...")
    unknown = sorted(set(classes.values()).difference(CLASSES))
    if unknown:
        raise ValueError(f"ground-truth classes that are not COde classes: {unknown}")
    return [Reference(n, classes[n], reports[n]) for n in sorted(classes)]


def agreement(refs: list[Reference]) -> dict[str, Any]:
    """Counts per reference class: own-class status (whole report / Diagnosis), other classes."""
    whole = [label_report(r.report) for r in refs]
    diag = [label_report(r.report, sections=["diagnosis"]) for r in refs]
    out: dict[str, Any] = {"n": len(refs), "rules": rules_id(), "classes": {}}
    for cls in CLASSES:
        idx = [i for i, r in enumerate(refs) if r.cls == cls]
        others = [[o for o in CLASSES if o != cls and whole[i][o].status == "present"]
                  for i in idx]
        out["classes"][cls] = {
            "n": len(idx),
            "whole": Counter(whole[i][cls].status for i in idx),
            "diagnosis": Counter(diag[i][cls].status for i in idx),
            "other_present": Counter(o for found in others for o in found),
            "n_with_other_present": sum(1 for found in others if found),
        }
    out["misses"] = [
        {"number": r.number, "cls": r.cls, "whole": whole[i][r.cls].status,
         "whole_evidence": whole[i][r.cls].evidence,
         "diagnosis": split_sections(r.report).get("diagnosis")}
        for i, r in enumerate(refs)
        if whole[i][r.cls].status != "present" or diag[i][r.cls].status != "present"]
    out["others"] = [
        {"number": r.number, "cls": r.cls, "other": o, "evidence": whole[i][o].evidence}
        for i, r in enumerate(refs) for o in CLASSES
        if o != r.cls and whole[i][o].status == "present"]
    out["not_affirmed"] = Counter(
        (m.status, m.cls, (m.cue or "").lower()) for r in refs for m in find_mentions(r.report)
        if m.status != "present")
    out["totals"] = {
        "whole_present": sum(c["whole"]["present"] for c in out["classes"].values()),
        "diagnosis_present": sum(c["diagnosis"]["present"] for c in out["classes"].values()),
        "other_present": sum(sum(c["other_present"].values()) for c in out["classes"].values()),
    }
    return out


_CLASS_1_2 = re.compile(r"class\s*(?:I|II|1|2|Ⅰ|Ⅱ)(?![IⅠ\w])", re.IGNORECASE)


def class3_in_predictions(peer_dir: Path, refs: list[Reference]) -> dict[str, dict[str, int]]:
    """Per setting: generated reports for Class III references that affirm it, or say I/II."""
    wanted = {f"code_rpt_{r.number}" for r in refs if r.cls == "Class III Malocclusion"}
    out: dict[str, dict[str, int]] = {}
    for path in sorted(peer_dir.glob("*/*/predictions.jsonl")):
        c = out.setdefault(path.parts[-3], {"n": 0, "affirmed": 0, "class_1_2": 0})
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("id") not in wanted or row.get("failed") or not row.get("prediction"):
                continue
            text = row["prediction"]
            diag = split_sections(text).get("diagnosis") or ""
            scope = ["diagnosis"] if any(ch.isalnum() for ch in diag) else None
            affirmed = label_report(text, sections=scope)["Class III Malocclusion"]
            c["n"] += 1
            c["affirmed"] += affirmed.status == "present"
            c["class_1_2"] += (affirmed.status != "present"
                               and bool(_CLASS_1_2.search(diag if scope else text)))
    return out


def _pct(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.1f}%)" if n else "0"


def render(result: dict[str, Any]) -> str:
    n, totals = result["n"], result["totals"]
    short = {c: c.replace("Malocclusion", "Maloccl.").replace("Structure", "Struct.")
             for c in CLASSES}
    lines = [
        "# Report labeler: agreement with the reference class on real COde reports",
        "",
        f"Rules: `{result['rules']}` (version + first 12 hex of the sha256 over "
        "`eval_harness/labels/rules/`). Regenerate with:",
        "",
        "```",
        COMMAND,
        "```",
        "",
        f"Data: the {n} real COde test references in the peer harness's prediction files "
        "(`../shared/data/peer-runs/pocket-dentist-code/*/*/predictions.jsonl`, ground truths "
        "from COde, CC BY 4.0). `code_rpt_NNNNN`'s reference report is labeled and compared "
        "with `code_cls_NNNNN`'s class (the same checkup). All references are English (COde's "
        "machine-translated text); no Chinese reference text is available here, so the Chinese "
        "rules are checked only by the hand-written tests.",
        "",
        "## Own class: what the labeler says about the reference class",
        "",
        "Whole report, then the Diagnosis section alone (what `primary_class_accuracy` reads).",
        "",
        "| reference class | n | present | uncertain | negated | absent "
        "| Diagnosis: present | Diagnosis: absent |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cls, c in result["classes"].items():
        w, d = c["whole"], c["diagnosis"]
        lines.append(f"| {cls} | {c['n']} | " + " | ".join(_pct(w[s], c["n"]) for s in STATUSES)
                     + f" | {_pct(d['present'], c['n'])} | {_pct(d['absent'], c['n'])} |")
    lines += [
        f"| **all** | {n} | **{_pct(totals['whole_present'], n)}** | | | "
        f"| **{_pct(totals['diagnosis_present'], n)}** | |",
        "",
        f"Floors asserted by `tests/test_report_labeler.py`: own class present in at least "
        f"{FLOOR_WHOLE_REPORT}/{n} whole reports and {FLOOR_DIAGNOSIS}/{n} Diagnosis sections.",
        "",
        "## Other classes: how often the labeler says another class is present",
        "",
        "Rows: reference class; columns: a class the labeler reads as present in the whole "
        "report (counts of reports). Most are true co-findings, see below.",
        "",
        "| reference class | " + " | ".join(short[c] for c in CLASSES) + " | reports with any |",
        "|---|" + "---|" * (len(CLASSES) + 1),
    ]
    for cls, c in result["classes"].items():
        cells = ["–" if o == cls else str(c["other_present"][o]) for o in CLASSES]
        lines.append(f"| {cls} | " + " | ".join(cells)
                     + f" | {_pct(c['n_with_other_present'], c['n'])} |")
    lines += [
        "",
        f"Total other-class present readings: {totals['other_present']} "
        f"(ceiling asserted by the test: {CEILING_OTHER_PRESENT}). The evidence behind them:",
        "",
    ]
    by_cell = Counter((o["cls"], o["other"], (o["evidence"] or "").lower())
                      for o in result["others"])
    for (cls, other, ev), k in sorted(by_cell.items(), key=lambda x: (-x[1], x[0])):
        lines.append(f"- {cls} reference → {other}: \"{ev}\" ×{k}")
    lines += [
        "",
        "## Every reference whose own class is not read as present",
        "",
        "| checkup | reference class | whole report | evidence | Diagnosis section |",
        "|---|---|---|---|---|",
    ]
    for m in result["misses"]:
        diag = (m["diagnosis"] or "").replace("|", "\\|") or "(empty)"
        lines.append(f"| {m['number']} | {m['cls']} | {m['whole']} | "
                     f"{m['whole_evidence'] or '–'} | {diag} |")
    lines += [
        "",
        "## Mentions the labeler does not read as affirmed, over all references",
        "",
        "| status | class | cue | mentions |",
        "|---|---|---|---|",
    ]
    for (status, cls, cue), k in sorted(result["not_affirmed"].items(), key=lambda x: -x[1]):
        lines.append(f"| {status} | {cls} | {cue} | {k} |")
    if result.get("class3"):
        lines += [
            "",
            "## Class III references in the peer runs' generated reports",
            "",
            "Over every run's generated report for the 100 Class III references: how many "
            "the labeler reads as affirming Class III (Diagnosis section, else the whole "
            "report, as `primary_class_accuracy` does), and how many instead name Angle "
            "Class I or II malocclusion there and never Class III.",
            "",
            "| setting | generated reports | Class III affirmed | Class I/II named instead |",
            "|---|---|---|---|",
        ]
        for setting, c in result["class3"].items():
            lines.append(f"| {setting} | {c['n']} | {_pct(c['affirmed'], c['n'])} "
                         f"| {_pct(c['class_1_2'], c['n'])} |")
    lines += ["", _DISCUSSION]
    return "\n".join(lines) + "\n"


_DISCUSSION = """## Reading the numbers

- **The references are formulaic.** Every COde diagnosis line names its class in a fixed
  phrase ("Angle's Class III malocclusion", "Dental arch defect", "Tooth structure defect",
  "Pulpitis in tooth 37", "Chronic gingivitis (K05.151)"), so near-perfect agreement here
  says the synonym lists cover COde's vocabulary, not that the labeler reads free text
  perfectly. Generated reports are harder; the hand-written minimal pairs in the tests
  cover negation, hedging and pseudo-negation, which the references hardly use (see the
  table of non-affirmed mentions: a handful of cue patterns, all read correctly).
- **Some references never state their class, and the rules are not bent to them.** The
  misses above are: four orthodontic-extraction checkups filed as Tooth Loss whose
  Diagnosis says only "indicated for orthodontic extraction" (the teeth are not yet
  missing; three read as present in the whole report because their Management section
  says the teeth "were extracted", the fourth never says so); a Tooth Loss diagnosis
  translated as "Tooth 26 defect", which does not say which defect; a Gingivitis
  diagnosis mistranslated as "Chronic gingival pigmentation (K05.151)", whose class shows
  only in the ICD code (codes are not read: a generated report can copy a code without
  stating the finding); two Dental Caries references whose Diagnosis reads "Angle's
  Class I malocclusion" (caries only in the examination); and one with an empty
  Diagnosis section.
- **Other classes read as present are mostly real co-findings**: gingival redness or
  bleeding in extraction and implant checkups, implant crowns and dentures (replaced teeth
  count as Tooth Loss, as in the label map's "Post Implant Status"), caries in pulpitis
  reports, anterior crossbite in two Tooth Loss checkups, residual roots with periapical
  low-density images. They are the labeler reading the report correctly, not noise; the
  checkups are single-label in the benchmark but not in the mouth.
- **Class III is strict, as specified.** Only Class III (Angle/skeletal Class III, anterior
  crossbite, reverse overjet, underbite, mandibular prognathism, 反颌, 安氏III类) counts;
  "Angle's Class II/I malocclusion", crowding or a posterior crossbite do not. All 100 Class
  III references say "Class III" in their Diagnosis, but the label map behind the benchmark
  (`code-v1`, as the peer's) files every malocclusion under "Class III Malocclusion", so a
  model trained on COde may write "Angle's Class II malocclusion" for a checkup of that
  class and get no credit from `primary_class_accuracy` (see the last table: the fine-tuned
  runs mostly do exactly that). Whether the clinical metric should follow the clinical
  meaning (strict, as here) or the benchmark's class label (any malocclusion) is a product
  decision; the strict reading is the one that checks what the report says.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer-dir", type=Path, default=default_peer_dir(),
                        help="pocket-dentist-code folder (default: ../shared/...; "
                             "env CODEBENCH_PEER_RUNS)")
    parser.add_argument("--out", type=Path, default=DOC, help=f"markdown to write ({DOC})")
    args = parser.parse_args(argv)
    refs = load_references(args.peer_dir)
    result = agreement(refs)
    result["class3"] = class3_in_predictions(args.peer_dir, refs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(result), encoding="utf-8")
    t, n = result["totals"], result["n"]
    print(f"rules {result['rules']}: own class present in {t['whole_present']}/{n} reports, "
          f"{t['diagnosis_present']}/{n} Diagnosis sections; other-class present "
          f"readings {t['other_present']}; wrote {args.out}")
    ok = (t["whole_present"] >= FLOOR_WHOLE_REPORT and t["diagnosis_present"] >= FLOOR_DIAGNOSIS
          and t["other_present"] <= CEILING_OTHER_PRESENT)
    if not ok:
        print("below the documented floors (or above the ceiling): see the doc", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
