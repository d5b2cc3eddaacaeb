"""Collect the ICD-10 codes of the real COde reference reports and the findings they annotate.

Evidence for labels/data/icd10-codes-v1.json (which is hand-checked, not written by this
script): for every distinct code in the 600 reference reports of the peer runs
(../shared/data/peer-runs/pocket-dentist-code/*/*/predictions.jsonl, task code_report,
"ground_truth"), how often it occurs, in how many reports, which fine-grained anomaly of the
label map the reference pairs it with (the finding the code annotates: eval_harness.labels.
findings reads "Angle's Class III malocclusion (K07.200x013)" so), the words written before
it, and two example ids. With --predictions the same table is made from the published runs'
generated reports (codes the models write that the references never do), and
--check compares the data file with the reference pairings and exits 1 on a disagreement.

    .venv/bin/python scripts/icd_codes.py [--peer-dir DIR] [--predictions] [--check]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file, without installing the package

from eval_harness.labels.findings import find_codes, find_findings, icd10_codes  # noqa: E402

PEER_DIR = ROOT.parent / "shared" / "data" / "peer-runs" / "pocket-dentist-code"
_PHRASE = re.compile(r"([^.:;()\n]{0,60})\s*[(（\[][^()\n]*$")


def reports(peer_dir: Path, predictions: bool) -> dict[str, str]:
    """id -> text: the references (checked identical across runs), or every generated one."""
    out: dict[str, str] = {}
    for path in sorted(peer_dir.glob("*/*/predictions.jsonl")):
        run = f"{path.parent.parent.name}/{path.parent.name}"
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            if row.get("task") != "code_report":
                continue
            if predictions:
                if isinstance(row.get("prediction"), str):
                    out[f"{run}:{row['id']}"] = row["prediction"]
            elif out.setdefault(row["id"], row["ground_truth"]) != row["ground_truth"]:
                raise SystemExit(f"{path}: reference of {row['id']} differs between runs")
    return out


def pairings(texts: dict[str, str]) -> dict[str, dict[str, object]]:
    """code -> occurrences, reports, paired anomalies, phrases before it, example ids."""
    table: dict[str, dict[str, object]] = defaultdict(lambda: {
        "n": 0, "ids": [], "anomalies": Counter(), "phrases": Counter()})
    for sid, text in texts.items():
        findings = find_findings(text)
        for c in find_codes(text):
            row = table[c.code]
            row["n"] += 1  # type: ignore[operator]
            ids: list[str] = row["ids"]  # type: ignore[assignment]
            if not ids or ids[-1] != sid:
                ids.append(sid)
            # The finding the code annotates: the last one before it on the same line,
            # with no sentence end between.
            before = [f for f in findings if f.span[1] <= c.span[0]
                      and not re.search(r"[.;\n]", text[f.span[1]:c.span[0]])]
            row["anomalies"][before[-1].anomaly if before else None] += 1  # type: ignore[index]
            phrase = _PHRASE.search(text[:c.span[0]])
            words = re.sub(r"\s+", " ", phrase.group(1)).strip().lower() if phrase else ""
            row["phrases"][words] += 1  # type: ignore[index]
    return dict(table)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer-dir", type=Path, default=PEER_DIR)
    ap.add_argument("--predictions", action="store_true",
                    help="the published runs' generated reports instead of the references")
    ap.add_argument("--min", type=int, default=1, help="show codes seen at least this often")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 where the data file disagrees with the reference pairings")
    args = ap.parse_args(argv)
    if not args.peer_dir.is_dir():
        raise SystemExit(f"{args.peer_dir} not found")
    texts = reports(args.peer_dir, args.predictions)
    table = pairings(texts)
    known = icd10_codes()
    print(f"{len(texts)} {'generated' if args.predictions else 'reference'} reports, "
          f"{len(table)} distinct codes, "
          f"{sum(1 for t in texts.values() if find_codes(t))} with a code")
    bad = 0
    for code, row in sorted(table.items(), key=lambda kv: -kv[1]["n"]):  # type: ignore[operator]
        if row["n"] < args.min:  # type: ignore[operator]
            continue
        ids: list[str] = row["ids"]  # type: ignore[assignment]
        anomalies: Counter = row["anomalies"]  # type: ignore[assignment]
        phrases: Counter = row["phrases"]  # type: ignore[assignment]
        mapped = known.get(code, {}).get("anomaly")
        print(f"\n{code}  n={row['n']} reports={len(ids)}  data file: {mapped}")
        print("  paired with: " + "; ".join(f"{a}: {n}" for a, n in anomalies.most_common(4)))
        print("  written after: " + "; ".join(f"{p!r}: {n}" for p, n in phrases.most_common(4)))
        print(f"  e.g. {', '.join(ids[:2])}")
        top = anomalies.most_common(1)[0][0]
        if args.check and not args.predictions and mapped != top:
            print(f"  DISAGREES: data file {mapped!r}, references mostly {top!r}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
