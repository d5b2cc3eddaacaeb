"""The clinical labeler's findings as (text, label) pairs for ``gr.HighlightedText``."""

from __future__ import annotations

from eval_harness.labels.findings import find_codes, find_findings

LABELS = {"present": "affirmed", "uncertain": "uncertain", "negated": "negated"}


def highlighted(report: str) -> list[tuple[str, str | None]]:
    """The report cut into plain runs and labelled mentions: "affirmed: Pulpitis",
    "negated: Dental Caries", "ICD-10 K04.0 (Pulpitis)"; overlaps keep the first."""
    marks: list[tuple[int, int, str]] = []
    for f in find_findings(report):
        marks.append((*f.span, f"{LABELS.get(f.status, f.status)}: {f.anomaly} ({f.cls})"))
    for c in find_codes(report):
        marks.append((*c.span, f"ICD-10 {c.code} ({c.anomaly or 'code not in the data file'})"))
    pieces: list[tuple[str, str | None]] = []
    at = 0
    for start, end, label in sorted(marks):
        if start < at:
            continue
        if start > at:
            pieces.append((report[at:start], None))
        pieces.append((report[start:end], label))
        at = end
    if at < len(report):
        pieces.append((report[at:], None))
    return pieces
