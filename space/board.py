"""The leaderboard tab's logic: store reads turned into what the components show."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from eval_harness.labels.classes import CLASSES
from leaderboard import charts, views
from leaderboard.standings import REPORT_COLUMNS

#: One column schema drives headers, kinds and which columns show by default.
COLUMNS: tuple[tuple[str, str, bool], ...] = (  # (key, header, shown by default)
    ("rank", "Rank (95% interval)", True),
    ("model", "Model", True),
    ("value", "Score", True),
    ("ci", "95% CI", True),
    ("setting", "Setting", True),
    ("params_billion", "Params (B)", True),
    ("open_weights", "Open weights", True),
    *((name, name, True) for name in REPORT_COLUMNS),
    *((f"f1:{name}", f"F1 {name}", False) for name in CLASSES),
    ("top_confusion", "Top confusion", False),
    ("n_failed", "Failed answers", False),
    ("source", "Source", False),
    ("id", "Row id", False),
)
SETTINGS = ("all", "zero-shot", "few-shot", "fine-tuned")
WEIGHTS = ("all", "open", "closed")

RANK_NOTE = (
    "**Rank (95% interval)**: the ranks a row could hold on this board, at 95% confidence "
    "for all its comparisons together (1 = best). Rows whose intervals overlap cannot be "
    "told apart on these checkups: their order in the table is not a finding. The "
    "intervals come from the per-row max-t rule, which compares each row with every other "
    "row at once (`docs/ranking.md`).")
COMPARE_NOTE = (
    "Each metric shows this pair's own paired result (difference A − B, its 95% CI and the "
    "p-value Holm-adjusted over the metrics in the table) and the board's verdict on the "
    "same pair. They can differ: the pair's own test looks at one pair, while the board's "
    "rule guards every comparison of each row against the whole board at once, so on one "
    "metric the board is the more cautious of the two (the Holm p, adjusted over every "
    "metric here, can be more cautious still). \"—\" means the board does not rank by "
    "that metric.")
VERDICTS = {"A": "board: A ranked above B", "B": "board: B ranked above A",
            "tie": "board: cannot separate"}


# What can turn text into a link, an image, code, emphasis or markup; ordinary punctuation
# (parentheses without a bracket before them, dots, underscores inside words) stays as is.
_MARKDOWN = re.compile(r"([\\`*\[\]<>])")


def plain(text: Any) -> str:
    """User-supplied text (a model name, an echoed id) for a Markdown component: shown as
    typed, never as a link, image or heading."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def linked(url: str) -> str:
    """A submitter's link as a Markdown link only when it is a plain http(s) address;
    anything else (``javascript:``, ``data:``, brackets) shows as text."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc and not re.search(r"[\s()<>\[\]\\\"']",
                                                                         url):
        return f"[{plain(url)}]({url})"
    return f"{plain(url)} (not linked: not an http(s) address)"


def _fmt(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value


def rank_text(low: int | None, high: int | None) -> str:
    """A rank interval as the table shows it: "1–4", "3" when both ends agree, "—" for a
    row not ranked by this metric."""
    if low is None or high is None:
        return "—"
    return str(low) if low == high else f"{low}–{high}"


def rank_choices(task: str) -> list[str]:
    """The metrics a task's board can be ranked by, its primary first (from the task
    registry); none for a task the registry does not know."""
    from eval_harness.tasks import get_task, task_names

    return list(get_task(task).rank_metrics()) if task in task_names() else []


def rank_by_for(task: str, rank_by: str | None) -> str | None:
    """``rank_by`` when the task is ranked by it, else the task's primary (a selector
    still showing the previous task's metric while the task changes)."""
    choices = rank_choices(task)
    return rank_by if rank_by in choices else (choices[0] if choices else None)


def rows(sessions: sessionmaker[Session], board: str, task: str, setting: str = "all",
         weights: str = "all", max_params: float | None = None,
         rank_by: str | None = None) -> list[dict[str, Any]]:
    with sessions() as session:
        try:
            return views.ranked(session, board, task, rank_by=rank_by_for(task, rank_by),
                                setting=None if setting == "all" else setting,
                                open_weights=None if weights == "all" else weights == "open",
                                max_params=max_params or None)
        except LookupError:  # a board the page offers that has no row yet, an unknown task
            return []


def table(found: list[dict[str, Any]], shown: list[str] | None = None) -> pd.DataFrame:
    """The rows as the board's table: the primary metric with its CI, then the rest."""
    keys = [key for key, _, default in COLUMNS if (key in shown if shown else default)]
    # Report metrics are empty on the classification task: leave out all-empty columns.
    keys = [k for k in keys if k not in REPORT_COLUMNS or any(r.get(k) is not None
                                                                for r in found)]
    # The ranked metric shows once, as the score (ranked by METEOR: no second "meteor").
    keys = [k for k in keys if not (found and k == found[0]["metric"])]
    headers = dict((key, header) for key, header, _ in COLUMNS)
    records = []
    for r in found:
        provenance = r.get("provenance") or {}
        extra = {"rank": rank_text(r.get("rank_low"), r.get("rank_high")),
                 "ci": f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]",
                 "source": "published run" if provenance.get("commit") else r["submitter"]}
        records.append({headers[k]: _fmt(extra[k] if k in extra else r.get(k)) for k in keys})
    frame = pd.DataFrame(records, columns=[headers[k] for k in keys])
    if found:
        frame = frame.rename(columns={"Score": f"{found[0]['metric']}"})
    return frame


def rank_chart(found: list[dict[str, Any]]) -> Any:
    """The rank-interval chart of the rows the table shows (None when none is ranked)."""
    if not any(r.get("rank_low") is not None for r in found):
        return None
    return charts.rank_intervals(found)


def choices(found: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(f"{r['model']} (#{r['id']})", r["id"]) for r in found]


def detail(sessions: sessionmaker[Session], row_id: int | None, board: str
           ) -> tuple[str, Any, Any, pd.DataFrame]:
    """Markdown (provenance, reproduce command), per-class chart, confusion heat map and
    the per-sample viewer of one row (never a reference)."""
    if not row_id:
        return "Pick a row to see its details.", None, None, pd.DataFrame()
    with sessions() as session:
        info = views.submission_detail(session, int(row_id))
        if info is None:
            return f"No row {row_id}.", None, None, pd.DataFrame()
        classes = views.per_class(session, int(row_id)) if "code_cls" in info["tasks"] else []
        matrix = views.confusion(session, int(row_id)) if classes else None
        samples = views.own_samples(session, int(row_id), "code_cls") if classes else []
    text = "\n".join([
        f"### {plain(info['model'])}", "",
        f"- board `{info['board']}`, setting {info['setting'] or '—'}, "
        f"{info['params_billion'] or '?'} B parameters, "
        f"{'open' if info['open_weights'] else 'closed' if info['open_weights'] is False else '?'}"
        " weights",
        f"- submitted by {plain(info['submitter'])}"
        + (f", {linked(info['link'])}" if info.get("link") else ""),
        f"- scored by harness {info['harness_version']}, label map `{info['label_map']}`",
        f"- provenance: {', '.join(f'{k}: {v}' for k, v in (info['provenance'] or {}).items())}",
        "", "Reproduce:", "", f"```\n{info['reproduce']}\n```"])
    viewer = pd.DataFrame([{"checkup": s["id"], "answer": s.get("extracted"),
                            "correct": bool(s.get("correct")), "status": s.get("status")}
                           for s in samples])
    return (text, charts.per_class_bars(classes) if classes else None,
            charts.confusion_heatmap(matrix) if matrix else None, viewer)


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.3f}"


def _p(value: float | None) -> str:
    return "—" if value is None else "<0.001" if value < 0.001 else f"{value:.3f}"


def comparison_rows(found: list[dict[str, Any]], task: str) -> pd.DataFrame:
    """``views.compare`` rows as the page shows them: the task's ranked metrics first,
    numbers rounded, the CI as "[-0.002, +0.033]", and the board's verdict in words."""
    order = {m: i for i, m in enumerate(rank_choices(task))}
    found = sorted(found, key=lambda r: order.get(r["metric"], len(order)))
    return pd.DataFrame([{
        "metric": r["metric"], "A": _fmt(r.get("a")), "B": _fmt(r.get("b")),
        "A − B": _signed(r.get("delta")),
        "95% CI": (f"[{_signed(r['ci'][0])}, {_signed(r['ci'][1])}]" if r.get("ci")
                   else "—"),
        "p (Holm)": _p(r.get("p_holm")),
        "board's verdict": VERDICTS.get(r.get("board_verdict"), "—"),
        "note": r.get("skipped") or ""} for r in found],
        columns=["metric", "A", "B", "A − B", "95% CI", "p (Holm)", "board's verdict",
                 "note"])


def comparison(sessions: sessionmaker[Session], a: int | None, b: int | None, task: str
               ) -> pd.DataFrame:
    if not a or not b or a == b:
        return pd.DataFrame({"note": ["pick two different rows"]})
    with sessions() as session:
        try:
            found = views.compare(session, int(a), int(b), task)
        except LookupError as error:
            return pd.DataFrame({"note": [str(error)]})
    return comparison_rows(found, task)


def csv_download(found: list[dict[str, Any]], board: str, task: str) -> str:
    folder = Path(tempfile.mkdtemp(prefix="codebench-export-"))
    metric = found[0]["metric"] if found else "rows"
    path = folder / f"{board}-{task}-{metric}.csv"
    path.write_text(views.to_csv(found), encoding="utf-8")
    return str(path)


def sample_ids(sessions: sessionmaker[Session], row_id: int | None, task: str) -> list[str]:
    if not row_id:
        return []
    with sessions() as session:
        return [s["id"] for s in views.own_samples(session, int(row_id), task)]


def sample_view(sessions: sessionmaker[Session], folder: Path, row_id: int | None, task: str,
                sample_id: str | None) -> tuple[str, list[tuple[str, str | None]]]:
    """One answer of a row: its text with the labeler's findings highlighted, and whether
    it was right (never the reference)."""
    from space.highlight import highlighted

    if not row_id or not sample_id:
        return "Pick a row and a checkup.", []
    with sessions() as session:
        sample = next((s for s in views.own_samples(session, int(row_id), task)
                       if s["id"] == sample_id), None)
        text = views.prediction_text(session, int(row_id), task, sample_id, folder)
    if sample is None:
        return f"No {task} answer for checkup {sample_id}.", []
    if task == "code_cls":
        verdict = "right" if sample.get("correct") else "wrong"
        summary = (f"Answer read as **{sample.get('extracted') or 'no class'}**: {verdict} "
                   f"({sample.get('status')}).")
    else:
        findings = sample.get("diagnosis", {}).get("findings", {})
        right = sample.get("metrics", {}).get("primary_class_accuracy")
        summary = (f"Six-class reading {'right' if right else 'wrong'}; findings shared with "
                   f"the reference: {', '.join(findings.get('tp', [])) or 'none'}; findings "
                   f"it added: {', '.join(findings.get('fp', [])) or 'none'}.")
    if text is None:
        return (summary + "\n\n*The answer's text is not kept for this row (published runs "
                "keep scores only).*", [])
    return summary, highlighted(text)
