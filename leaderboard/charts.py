"""Plotly figures of the views (the app puts them in ``gr.Plot``): per-class F1 with CI
whiskers, a classification metric against a report metric, score against size, and the
board's rank intervals."""

from __future__ import annotations

from typing import Any


def per_class_bars(rows: list[dict[str, Any]], title: str = "Per-class F1 (95% CI)"):
    import plotly.graph_objects as go

    f1 = [r["f1"] for r in rows]
    has_ci = all(r.get("f1_ci_low") is not None for r in rows)
    error = (dict(type="data", symmetric=False,
                  array=[r["f1_ci_high"] - r["f1"] for r in rows],
                  arrayminus=[r["f1"] - r["f1_ci_low"] for r in rows]) if has_ci else None)
    figure = go.Figure(go.Bar(x=[r["class"] for r in rows], y=f1, error_y=error))
    figure.update_layout(title=title, yaxis={"range": [0, 1], "title": "F1"})
    return figure


def scatter(cls_rows: list[dict[str, Any]], report_rows: list[dict[str, Any]],
            report_metric: str = "bleu_sentence_mean"):
    """Each model's classification primary metric against a report metric."""
    import plotly.graph_objects as go

    report = {r["id"]: r for r in report_rows}
    pairs = [(r, report[r["id"]]) for r in cls_rows if r["id"] in report]
    value = (lambda r: r["value"]) if report_metric == report_rows[0]["metric"] \
        else (lambda r: r.get(report_metric))
    figure = go.Figure(go.Scatter(x=[c["value"] for c, _ in pairs],
                                  y=[value(r) for _, r in pairs], mode="markers",
                                  text=[c["model"] for c, _ in pairs]))
    figure.update_layout(xaxis_title=cls_rows[0]["metric"] if cls_rows else "",
                         yaxis_title=report_metric)
    return figure


def by_size(rows: list[dict[str, Any]]):
    """Primary metric against parameter count (rows without a known size are left out)."""
    import plotly.graph_objects as go

    sized = [r for r in rows if r.get("params_billion")]
    figure = go.Figure(go.Scatter(
        x=[r["params_billion"] for r in sized], y=[r["value"] for r in sized],
        mode="markers", text=[r["model"] for r in sized],
        error_y=dict(type="data", symmetric=False,
                     array=[r["ci_high"] - r["value"] for r in sized],
                     arrayminus=[r["value"] - r["ci_low"] for r in sized])))
    figure.update_layout(xaxis={"type": "log", "title": "parameters (billions)"},
                         yaxis_title=rows[0]["metric"] if rows else "")
    return figure


def confusion_heatmap(matrix: dict[str, Any], title: str = "Confusion matrix",
                      xaxis_title: str = "answered"):
    import plotly.graph_objects as go

    figure = go.Figure(go.Heatmap(z=matrix["counts"], x=matrix["columns"], y=matrix["rows"],
                                  colorscale="Blues", text=matrix["counts"],
                                  texttemplate="%{text}"))
    figure.update_layout(title=title, xaxis_title=xaxis_title, yaxis_title="reference",
                         yaxis={"autorange": "reversed"})
    return figure


#: Each bar reaches this far past its two end ranks, so a one-rank interval still shows.
RANK_PAD = 0.4


def rank_label(row: dict[str, Any]) -> str:
    """A row's name on the chart's axis: the model and its row id (names can repeat)."""
    return f"{row['model']} (#{row['id']})"


def rank_intervals(rows: list[dict[str, Any]], limit: int | None = 60,
                   metric_label: str | None = None):
    """One horizontal bar per ranked row, from its rank_low to its rank_high (95% rank
    interval, 1 = best), rows in the order given (the table's) with the first at the top.
    Rows without an interval are left out; past ``limit`` rows the rest are left out and
    the title says so. ``metric_label`` names the metric in the title (default: its key)."""
    import plotly.graph_objects as go

    ranked = [r for r in rows if r.get("rank_low") is not None
              and r.get("rank_high") is not None]
    shown = ranked[:limit] if limit else ranked
    labels = [rank_label(r) for r in shown]
    figure = go.Figure(go.Bar(
        y=labels, orientation="h",
        base=[r["rank_low"] - RANK_PAD for r in shown],
        x=[r["rank_high"] - r["rank_low"] + 2 * RANK_PAD for r in shown],
        customdata=[[r["rank_low"], r["rank_high"], r.get("value")] for r in shown],
        hovertemplate="%{y}<br>rank %{customdata[0]}–%{customdata[1]}"
                      "<br>value %{customdata[2]:.3f}<extra></extra>"))
    metric = metric_label or (rows[0]["metric"] if rows else "")
    title = f"Rank by {metric}: 95% rank interval per row (1 = best)"
    if len(shown) < len(ranked):
        title += f", first {len(shown)} of {len(ranked)} rows"
    top = max((r["rank_high"] for r in shown), default=1)
    figure.update_layout(
        title=title, height=max(260, 22 * len(shown) + 120), bargap=0.35, showlegend=False,
        xaxis={"title": "rank", "range": [0.5, top + 0.5], "dtick": 1 if top <= 30 else None,
               "side": "top"},
        yaxis={"categoryorder": "array", "categoryarray": labels, "autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 80, "b": 20})
    return figure
