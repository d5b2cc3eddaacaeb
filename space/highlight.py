"""The clinical labeler's findings as (text, label) pairs for ``gr.HighlightedText``, with
one fixed color per kind of label and the legend that says what each kind means.

Every label starts with its kind and a colon ("affirmed: Pulpitis", "ICD-10: Pulpitis"):
the kind picks the color, the rest names what was found. The labels come from a finite
set (the label map's anomalies, the ICD-10 data file's), so one static color map, given
to the component once, colors them all; the answers stay plain values for API clients.
"""

from __future__ import annotations

import html
from functools import cache

from eval_harness.labels.anomaly_map import load_anomaly_map
from eval_harness.labels.findings import find_codes, find_findings, icd10_codes

LABELS = {"present": "affirmed", "uncertain": "uncertain", "negated": "negated",
          "hypothetical": "hypothetical"}
CODE_KIND = "ICD-10"
# One color per kind, the same on every report (Gradio otherwise cycles a palette per label).
COLORS = {"affirmed": "#f87171", "uncertain": "#fbbf24", "negated": "#93c5fd",
          "hypothetical": "#d1d5db", CODE_KIND: "#c4b5fd"}
MEANINGS = {
    "affirmed": "the report states the finding",
    "uncertain": "the report hedges it (\u201cpossible\u201d, \u201ccannot rule out\u201d)",
    "negated": "the report rules it out (\u201cno caries\u201d)",
    "hypothetical": "mentioned only as a possibility to watch for",
    CODE_KIND: "a diagnosis code, with the anomaly it names",
}


def _finding_label(status: str, anomaly: str, cls: str) -> str:
    # The class is added only when it says something the anomaly's name does not.
    named = anomaly if anomaly.casefold() == cls.casefold() else f"{anomaly} ({cls})"
    return f"{LABELS.get(status, status)}: {named}"


def _code_label(anomaly: str | None, status: str) -> str:
    # The code itself is the highlighted text: the tag names what it stands for.
    named = anomaly or "code not in the data file"
    hedge = "" if status == "present" else f", {LABELS.get(status, status)}"
    return f"{CODE_KIND}: {named}{hedge}"


def highlighted(report: str) -> list[tuple[str, str | None]]:
    """The report cut into plain runs and labelled mentions: "affirmed: Pulpitis",
    "negated: Dental Caries", "affirmed: Dental Crowding (Class III Malocclusion)",
    "ICD-10: Pulpitis"; overlaps keep the first."""
    marks: list[tuple[int, int, str]] = []
    for f in find_findings(report):
        marks.append((*f.span, _finding_label(f.status, f.anomaly, f.cls)))
    for c in find_codes(report):
        marks.append((*c.span, _code_label(c.anomaly, c.status)))
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


@cache
def color_map() -> dict[str, str]:
    """Every label ``highlighted`` can give, mapped to its kind's color."""
    amap = load_anomaly_map()
    colors: dict[str, str] = {}
    for status, kind in LABELS.items():
        for anomaly in amap.names_en.values():
            label = _finding_label(status, anomaly, amap.to_class[anomaly.casefold()])
            colors[label] = COLORS[kind]
    for anomaly in {*(row["anomaly"] for row in icd10_codes().values()), None}:
        for status in ("present", *LABELS):
            colors[_code_label(anomaly, status)] = COLORS[CODE_KIND]
    return colors


def legend_html() -> str:
    """One line under a report: each kind's color swatch and what it means."""
    items = [f'<span style="white-space:nowrap"><span aria-hidden="true" style="display:'
             f'inline-block;width:0.9em;height:0.9em;border-radius:2px;vertical-align:-1px;'
             f'background:{color}"></span> <span style="font-weight:600">{html.escape(name)}'
             f"</span>: "
             f"{html.escape(MEANINGS[name])}</span>" for name, color in COLORS.items()]
    return ('<p class="codebench-legend" style="font-size:0.85em;margin:4px 0">'
            "Highlights, read by the harness's clinical labeler: " + "; ".join(items) + ".</p>")
