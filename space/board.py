"""The leaderboard tab's logic: store reads turned into what the components show.

Every header, number format and "best" mark comes from the column spec
(`leaderboard.columns`): the table, its legend, the column picker and the CSV agree.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler
from sqlalchemy.orm import Session, sessionmaker

from eval_harness.atomic import write_atomically
from eval_harness.labels.classes import CLASSES
from leaderboard import charts, views
from leaderboard.columns import (
    PER_CLASS_PREFIX,
    best,
    column,
    formatted,
    interval,
    label,
    number,
    rank_interval,
)
from leaderboard.standings import REPORT_COLUMNS

#: The board's columns in order, and whether each shows before the visitor picks.
BOARD_COLUMNS: tuple[tuple[str, bool], ...] = (
    ("rank", True), ("model", True), ("value", True), ("ci", True), ("setting", True),
    ("params_billion", True), ("open_weights", True),
    *((name, True) for name in REPORT_COLUMNS),
    *((f"{PER_CLASS_PREFIX}{name}", False) for name in CLASSES),
    ("top_confusion", False), ("n_failed", False), ("source", False), ("id", False),
)
DEFAULT_COLUMNS = [key for key, shown in BOARD_COLUMNS if shown]
LANDING_COLUMNS = ["rank", "model", "value", "ci"]
SETTINGS = ("all", "zero-shot", "few-shot", "fine-tuned")
WEIGHTS = ("all", "open", "closed")

RANK_NOTE = (
    "**Rank (95%)** is an interval: the ranks a row could hold on this board at 95% "
    "confidence (1 = best), by the per-row max-t rule over all rows at once; rows whose "
    "intervals overlap cannot be told apart, so their order in the table is not a finding. "
    "**Bold**: the best value of each column.")
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
COMPARE_COLUMNS = ["Metric", "A", "B", "A − B", "95% CI of A − B", "p (Holm)",
                   "Board's verdict"]


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


rank_text = rank_interval  # the name the tests and the lead's landing view know


def rank_choices(task: str) -> list[str]:
    """The metrics a task's board can be ranked by, its primary first (from the task
    registry); none for a task the registry does not know."""
    from eval_harness.tasks import get_task, task_names

    return list(get_task(task).rank_metrics()) if task in task_names() else []


def rank_options(task: str) -> list[tuple[str, str]]:
    """The rank-by selector's choices: readable label shown, metric key sent."""
    return [(label(key, task), key) for key in rank_choices(task)]


def rank_by_for(task: str, rank_by: str | None) -> str | None:
    """``rank_by`` when the task is ranked by it, else the task's primary (a selector
    still showing the previous task's metric while the task changes)."""
    choices = rank_choices(task)
    return rank_by if rank_by in choices else (choices[0] if choices else None)


def column_options() -> list[tuple[str, str]]:
    """The column picker's choices: readable label shown, key sent."""
    return [("Score (the ranked metric)" if key == "value" else label(key), key)
            for key, _ in BOARD_COLUMNS]


def parse_max_params(text: str | float | None) -> float | None:
    """The size filter's text as billions of parameters: empty means no limit; anything
    else must be a positive number (ValueError naming the field and the text)."""
    if text is None or str(text).strip() == "":
        return None
    try:
        value = float(str(text).strip().replace(",", "."))
    except ValueError:
        raise ValueError(f"At most (billions of parameters): {str(text)[:40]!r} is not a "
                         "number; write e.g. 7 or 2.5, or leave it empty.") from None
    if not value > 0:
        raise ValueError("At most (billions of parameters): write a positive number, or "
                         "leave it empty.")
    return value


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


def _keys(found: list[dict[str, Any]], shown: list[str] | None) -> list[str]:
    keys = [key for key, default in BOARD_COLUMNS if (key in shown if shown else default)]
    # Report metrics are empty on the classification task: leave out all-empty columns.
    keys = [k for k in keys if k not in REPORT_COLUMNS or any(r.get(k) is not None
                                                                for r in found)]
    # The ranked metric shows once, as the score (ranked by METEOR: no second "METEOR").
    return [k for k in keys if not (found and k == found[0]["metric"])]


def _header(key: str, found: list[dict[str, Any]]) -> str:
    if key == "value":
        return label(found[0]["metric"], found[0].get("task")) if found else "Score"
    return label(key)


def _cell(row: dict[str, Any], key: str) -> Any:
    """A row's raw value for a column: numbers stay numbers (so the table sorts them as
    numbers); the rank and CI are text."""
    if key == "rank":
        return rank_interval(row.get("rank_low"), row.get("rank_high"))
    if key == "ci":
        return interval(row.get("ci_low"), row.get("ci_high"))
    if key == "source":
        return "published run" if (row.get("provenance") or {}).get("commit") \
            else row.get("submitter")
    return row.get(key)


def _spec(key: str, found: list[dict[str, Any]]):
    """A column's spec; the score column's is its ranked metric's."""
    return column(found[0]["metric"], found[0].get("task")) if key == "value" and found \
        else column(key)


def table(found: list[dict[str, Any]], shown: list[str] | None = None) -> Styler:
    """The rows as the board's table: readable headers, numbers to 3 decimals, CIs and
    ranks as intervals, the best value of each score column in bold (respecting which way
    is better). Headers are there even with no row."""
    keys = _keys(found, shown)
    specs = [_spec(k, found) for k in keys]
    headers = [_header(k, found) for k in keys]
    data = pd.DataFrame([[_cell(r, k) for k in keys] for r in found], columns=headers)
    styler = data.style.format({h: (lambda v, spec=spec: formatted(spec, v))
                                for h, spec in zip(headers, specs, strict=True)})
    for header, spec in zip(headers, specs, strict=True):
        top = best(list(data[header]), spec.higher_is_better if spec.kind == "score"
                   else None)
        if top is not None:
            styler = styler.apply(lambda s, top=top: ["font-weight: bold" if v == top else ""
                                                      for v in s], subset=[header])
    return styler.hide(axis="index")


def shown_cells(styler: Styler) -> tuple[list[str], list[list[str]], list[list[bool]]]:
    """What the page shows of a table: headers, the cells' text, and which are bold."""
    import gradio as gr

    out = gr.Dataframe().postprocess(styler)
    meta = out.metadata or {}
    text = meta.get("display_value") or [[str(v) for v in r] for r in out.data]
    styles = meta.get("styling") or [["" for _ in r] for r in out.data]
    return (list(out.headers), [[str(v) for v in r] for r in text],
            [["bold" in (s or "") for s in r] for r in styles])


def legend(found: list[dict[str, Any]], shown: list[str] | None = None) -> str:
    """One line per metric column the table shows: its name, what it measures, and which
    way is better (from the column spec)."""
    keys = [k for k in _keys(found, shown) if k == "value" or column(k).kind == "score"]
    task = found[0].get("task") if found else None
    lines = []
    for key in keys:
        spec = column(found[0]["metric"], task) if key == "value" and found else column(key)
        if key == "value" and not found:
            continue
        better = {True: "higher is better", False: "lower is better"}.get(
            spec.higher_is_better, "")
        ranked = " — the board is ranked by this" if key == "value" else ""
        lines.append(f"- **{spec.label}**{ranked}: {spec.definition} ({better})")
    return "\n".join(lines)


def landing_table(sessions: sessionmaker[Session], board: str = "code-test-600",
                  task: str = "code_cls", limit: int = 10) -> Styler:
    """The Home tab's short board: rank, model, score and CI of the first ``limit`` rows."""
    return table(rows(sessions, board, task)[:limit], LANDING_COLUMNS)


def rank_chart(found: list[dict[str, Any]]) -> Any:
    """The rank-interval chart of the rows the table shows (None when none is ranked)."""
    if not any(r.get("rank_low") is not None for r in found):
        return None
    return charts.rank_intervals(found, metric_label=_header("value", found))


def choices(found: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(f"{r['model']} (#{r['id']})", r["id"]) for r in found]


# ------------------------------------------------------------------ a row in detail

#: Provenance keys as the detail view names them, in this order; others follow as given.
PROVENANCE_LABELS = {"source": "Source", "commit": "Commit", "folder": "Folder",
                     "scored_by": "Scored by", "data": "Data", "dataset": "Data",
                     "fingerprint": "Dataset fingerprint", "git_commit": "Harness commit",
                     "status": "Run status"}


def _provenance_value(key: str, value: Any) -> str:
    text = str(value)
    if key in ("commit", "git_commit", "fingerprint") and len(text) > 12:
        return f"`{plain(text[:12])}…`"  # enough to find it; the CLI's `show` has it whole
    if key == "source" and text.startswith(("http://", "https://")):
        return linked(text)
    return plain(text)


def provenance_lines(info: dict[str, Any]) -> list[str]:
    """The row's provenance as labelled lines (who, what, where from, how scored)."""
    weights = {True: "open weights", False: "closed weights"}.get(info.get("open_weights"),
                                                                  "weights unknown")
    size = (f"{info['params_billion']:g} B parameters" if info.get("params_billion")
            else "size unknown")
    lines = [f"- **Board**: {plain(info['board'])}",
             f"- **Setting**: {info.get('setting') or 'not given'} · {size} · {weights}",
             f"- **Submitted by**: {plain(info['submitter'])}"
             + (f" · {linked(info['link'])}" if info.get("link") else "")]
    provenance = dict(info.get("provenance") or {})
    ordered = [k for k in PROVENANCE_LABELS if k in provenance] + \
        [k for k in provenance if k not in PROVENANCE_LABELS]
    seen: set[str] = set()
    for key in ordered:
        name = PROVENANCE_LABELS.get(key, key.replace("_", " ").capitalize())
        if name in seen:  # "data" and "dataset" both name the data
            name = f"{name} ({key})"
        seen.add(name)
        lines.append(f"- **{name}**: {_provenance_value(key, provenance[key])}")
    lines.append(f"- **Scorer**: harness {plain(info.get('harness_version') or '?')}, "
                 f"label map {plain(info.get('label_map') or '?')}")
    return lines


def detail_text(info: dict[str, Any]) -> str:
    return "\n".join([
        f"### {plain(info['model'])}", "", *provenance_lines(info), "",
        "**Reproduce on your machine**", "", f"```\n{info['reproduce']}\n```", "",
        "<details><summary>For the operator of this server</summary>\n",
        f"```\n{info['operator']}\n```", "</details>"])


TASK_NAMES = {"code_cls": "Classification (task 1)", "code_report": "Report (task 2)",
              "code_multilabel": "Every class shown (multi-label)"}


def _per_class_chart(classes: list[dict[str, Any]], task: str) -> Any:
    if not any(c.get("f1") is not None for c in classes):
        return None
    title = {"code_report": "Report (task 2): F1 per class of the labeler's reading "
                            "(reports against references)",
             "code_multilabel": "Multi-label: F1 per class"}.get(
        task, "Classification (task 1): F1 per class (95% CI)")
    return charts.per_class_bars([c for c in classes if c.get("f1") is not None], title)


def _confusion_chart(matrix: dict[str, Any] | None, task: str) -> Any:
    if not matrix or not any(any(r) for r in matrix["counts"]):
        return None
    if task == "code_report":
        return charts.confusion_heatmap(
            matrix, "Report (task 2): reference class × classes the report affirms",
            xaxis_title="affirmed in the report (labeler)")
    return charts.confusion_heatmap(matrix, "Classification (task 1): confusion matrix")


def _yes_no(value: Any) -> str:
    return "—" if value is None else "yes" if value else "no"


def _listed(items: list[str] | None) -> str:
    return ", ".join(items or []) or "none"


def sample_frame(samples: list[dict[str, Any]], task: str) -> pd.DataFrame:
    """The per-sample viewer of one task (never a reference): the answer as read and
    whether it was right (classification), the per-report metrics and clinical reading
    (report), the class set and exact match (multi-label)."""
    if task == "code_report":
        keys = ("bleu_sentence_mean", "rougeL", "meteor")
        columns = ["Checkup", *(label(k) for k in keys), "Six-class reading right",
                   "Findings matched", "Findings added", "Diagnosis read from", "Status"]
        records = [[s["id"], *(number((s.get("metrics") or {}).get(k)) for k in keys),
                    _yes_no((s.get("metrics") or {}).get("primary_class_accuracy")),
                    _listed(s.get("diagnosis", {}).get("findings", {}).get("tp")),
                    _listed(s.get("diagnosis", {}).get("findings", {}).get("fp")),
                    s.get("diagnosis", {}).get("source") or "—", s.get("status")]
                   for s in samples]
    elif task == "code_cls":
        columns = ["Checkup", "Answer read as", "Right", "Status"]
        records = [[s["id"], s.get("extracted") or "no class", _yes_no(s.get("correct")),
                    s.get("status")] for s in samples]
    else:
        columns = ["Checkup", "Classes answered", "Exact match", "Status"]
        records = [[s["id"], _listed(s.get("extracted")) if isinstance(
            s.get("extracted"), list) else s.get("extracted") or "none",
                    _yes_no(s.get("correct")), s.get("status")] for s in samples]
    return pd.DataFrame(records, columns=columns)


EMPTY_SAMPLES = sample_frame([], "code_cls")


def detail(sessions: sessionmaker[Session], row_id: int | None, board: str,
           task: str = "code_cls") -> tuple[str, Any, Any, pd.DataFrame]:
    """Markdown (provenance, reproduce commands), the task's per-class chart and heat map
    and its per-sample viewer, for one row (never a reference)."""
    if not row_id:
        return "Pick a row to see its details.", None, None, sample_frame([], task)
    with sessions() as session:
        info = views.submission_detail(session, int(row_id))
        if info is None:
            return f"No row {row_id}.", None, None, sample_frame([], task)
        if task not in info["tasks"]:
            return (detail_text(info) + f"\n\n*This row has no {task} results.*", None, None,
                    sample_frame([], task))
        classes = views.per_class(session, int(row_id), task)
        matrix = (views.confusion(session, int(row_id), task)
                  if task in ("code_cls", "code_report") else None)
        samples = views.own_samples(session, int(row_id), task)
    return (detail_text(info), _per_class_chart(classes, task),
            _confusion_chart(matrix, task), sample_frame(samples, task))


# ------------------------------------------------------------------ two rows compared

def _signed(value: float | None) -> str:
    if value is None:
        return "—"
    return "0.000" if abs(value) < 0.0005 else f"{value:+.3f}"  # never "-0.000"


def _p(value: float | None) -> str:
    return "—" if value is None else "<0.001" if value < 0.001 else f"{value:.3f}"


def comparison_rows(found: list[dict[str, Any]], task: str) -> pd.DataFrame:
    """``views.compare`` rows as the page shows them: the task's ranked metrics first by
    their readable names, numbers to 3 decimals, the CI of the difference as
    "-0.002 to +0.033", the board's verdict in words; a "Note" column only when some
    metric has one (a metric a run could not compute)."""
    order = {m: i for i, m in enumerate(rank_choices(task))}
    found = sorted(found, key=lambda r: order.get(r["metric"], len(order)))
    records = [{
        "Metric": label(r["metric"], task), "A": number(r.get("a")), "B": number(r.get("b")),
        "A − B": _signed(r.get("delta")),
        "95% CI of A − B": (f"{_signed(r['ci'][0])} to {_signed(r['ci'][1])}"
                            if r.get("ci") else "—"),
        "p (Holm)": _p(r.get("p_holm")),
        "Board's verdict": VERDICTS.get(r.get("board_verdict"), "—"),
        "Note": r.get("skipped") or ""} for r in found]
    notes = any(r["Note"] for r in records)
    return pd.DataFrame(records, columns=COMPARE_COLUMNS + (["Note"] if notes else []))


def comparison(sessions: sessionmaker[Session], a: int | None, b: int | None, task: str
               ) -> pd.DataFrame:
    if not a or not b or a == b:
        return pd.DataFrame({"Note": ["Pick two different rows."]})
    with sessions() as session:
        try:
            found = views.compare(session, int(a), int(b), task)
        except LookupError as error:
            return pd.DataFrame({"Note": [str(error)]})
    return comparison_rows(found, task)


# ------------------------------------------------------------------ the CSV download

def csv_text(found: list[dict[str, Any]]) -> str:
    """The rows on screen as CSV with the spec's readable headers ("Macro-F1", "95% CI
    low"), numbers at full precision. The ranked metric is the score column, named by its
    label; scripts wanting machine keys use ``python -m leaderboard export``."""
    if not found:
        return views.to_csv([], header=label)
    metric, task = found[0]["metric"], found[0].get("task")
    # The score is the ranked metric: its own column would repeat it; rank_upper_bound is
    # rank_low under its old name.
    dropped = {metric, "rank_upper_bound", "provenance"}
    slim = [{("score" if k == "value" else k): v for k, v in r.items() if k not in dropped}
            for r in found]

    def header(key: str) -> str:
        return label(metric, task) if key == "score" else label(key, task)

    return views.to_csv(slim, header=header)


_EXPORTS = Path(tempfile.gettempdir()) / "codebench-exports"


def csv_download(found: list[dict[str, Any]], board: str, task: str) -> str:
    """A file holding the rows on screen, named by board, task, ranked metric and content:
    the same rows give the same file (a refresh every few seconds writes nothing new)."""
    text = csv_text(found)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    metric = found[0]["metric"] if found else "rows"
    path = _EXPORTS / digest / f"{board}-{task}-{metric}.csv"
    if not path.is_file():  # sessions refreshing the same rows at once each write whole
        write_atomically(path, [text.encode("utf-8")])
    return str(path)


# ------------------------------------------------------------------ one answer in full

def sample_ids(sessions: sessionmaker[Session], row_id: int | None, task: str) -> list[str]:
    if not row_id:
        return []
    with sessions() as session:
        return [s["id"] for s in views.own_samples(session, int(row_id), task)]


def _published(sessions: sessionmaker[Session], row_id: int) -> bool:
    with sessions() as session:
        info = views.submission_detail(session, row_id)
    return bool(info and info["kind"] == "seed" and (info["provenance"] or {}).get("commit"))


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
        return f"No {task} answer for checkup {plain(sample_id)}.", []
    if task == "code_cls":
        verdict = "right" if sample.get("correct") else "wrong"
        summary = (f"Answer read as **{sample.get('extracted') or 'no class'}**: {verdict} "
                   f"({sample.get('status')}).")
    elif task == "code_report":
        findings = sample.get("diagnosis", {}).get("findings", {})
        right = (sample.get("metrics") or {}).get("primary_class_accuracy")
        summary = (f"Six-class reading {'right' if right else 'wrong'}; findings shared with "
                   f"the reference: {_listed(findings.get('tp'))}; findings it added: "
                   f"{_listed(findings.get('fp'))}.")
    else:
        summary = (f"Classes answered: {_listed(sample.get('extracted'))}; exact match: "
                   f"{_yes_no(sample.get('correct'))}.")
    if text is None:
        why = ("The published runs are kept here as scores only; their answer texts are in "
               "the pocket-dentist repository named under Source." if
               _published(sessions, int(row_id)) else
               "This row's answer texts were not kept on this server.")
        return f"{summary}\n\n*{why}*", []
    return summary, highlighted(text)
