"""The About tab: dataset, licence, tasks, one card per metric (its name, what it
measures, which way is better, how it matches the published numbers: from the column
spec), the ranking rule, how to run and scale, and every metric's exact definition and
signature (read from a results document the harness wrote) in a collapsed block."""

from __future__ import annotations

import html

from leaderboard.columns import column
from leaderboard.seeds import read_seed
from leaderboard.standings import __doc__ as RANKING_RULE

INTRO = """\
## COde-Bench

**COde** (Lv, Haq et al., *A benchmark multimodal oro-dental dataset for large
vision-language models*, arXiv 2511.04948): 8,775 dental checkups from 4,800 patients —
intraoral photographs, radiographs and bilingual clinical records. Licence: CC BY 4.0,
under the dataset's usage agreement (research use; no attempt to identify patients).

**Boards.** `code-test-600` is the real COde test split (600 checkups, 100 per class), seeded
with 42 published runs scored here from their predictions. `synthetic-demo` is this
space's synthetic benchmark in the COde layout (cartoon images): what the live demo and the
model queue run on, since the real images cannot reach this server.

**Tasks.** The paper's two: **classification (task 1, `code_cls`)**, which of the six
anomaly classes a checkup shows, ranked by Macro-F1; and the **diagnostic report (task 2,
`code_report`)**, the nine-section report, ranked by BLEU (sentence mean) and also by its
clinical content (six-class accuracy of the report, fine-grained diagnosis F1, ICD-10 F1).
Besides them, `code_multilabel`: every class a checkup shows (Micro-F1). The board can be
ranked by any of a task's headline metrics; each row's rank is a 95% interval, and rows
whose intervals overlap cannot be told apart.

**Run it yourself.** `python -m eval_harness run --model hf --model-args checkpoint=NAME
--data DIR --output OUT`, then `python -m leaderboard submit OUT/predictions.jsonl ...`.
Scale out with `accelerate launch -m eval_harness run ...` (data parallel) or any
OpenAI-compatible server (vLLM) through `--model openai`; the board runs any number of
workers against one PostgreSQL database (`python -m leaderboard worker`).

**Cite.** Lv, Haq et al., arXiv 2511.04948 (2025).
"""

TASK_TITLES = {"code_cls": "Classification (task 1, code_cls)",
               "code_report": "Diagnostic report (task 2, code_report)",
               "code_multilabel": "Every class shown (code_multilabel)"}
_GRID = ("display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));"
         "gap:12px;margin:8px 0 20px")
_CARD = ("border:1px solid var(--border-color-primary);border-radius:8px;padding:10px 12px;"
         "font-size:14px;line-height:1.45")


def _document_metrics() -> dict[str, dict[str, dict]]:
    """task -> metric -> its entry (definition, signature) in a results document the
    harness wrote (the committed seed's first run)."""
    document = read_seed()["runs"][0]["document"]
    return {task: result["metrics"] for task, result in document["tasks"].items()}


def task_metrics() -> dict[str, list[str]]:
    """Every task's metrics, the ones a board ranks by first (primary at the head)."""
    from eval_harness.tasks import get_task, task_names

    documented = _document_metrics()
    out = {}
    for task in task_names():
        ranked = list(get_task(task).rank_metrics())
        out[task] = ranked + [m for m in documented.get(task, {}) if m not in ranked]
    return out


def metric_card(task: str, key: str, role: str) -> str:
    """One metric as a card: name and key, what it measures, which way is better, how it
    matches the published numbers, and its role on the board."""
    spec = column(key, task)
    better = {True: "Higher is better.", False: "Lower is better."}.get(
        spec.higher_is_better, "")
    parts = [f"<strong>{html.escape(spec.label)}</strong> "
             f"<code>{html.escape(key)}</code>",
             f"<div><em>{html.escape(role)}</em></div>" if role else "",
             f"<p style='margin:6px 0'>{html.escape(spec.definition)} {better}</p>",
             f"<p style='margin:0'><strong>Published numbers:</strong> "
             f"{html.escape(spec.published)}</p>" if spec.published else ""]
    return f"<div style='{_CARD}'>{''.join(parts)}</div>"


def metric_cards() -> str:
    """Per task, a grid of cards: one per metric."""
    from eval_harness.tasks import get_task

    sections = []
    for task, keys in task_metrics().items():
        ranked = get_task(task).rank_metrics()
        cards = [metric_card(task, key, "ranks the board by default" if key == ranked[0]
                             else "a rank-by choice" if key in ranked else "")
                 for key in keys]
        title = html.escape(TASK_TITLES.get(task, task))
        sections.append(f"<h4>{title}</h4><div style='{_GRID}'>{''.join(cards)}</div>")
    return "\n".join(sections)


def signatures() -> str:
    """Every metric's exact definition and signature, as the harness wrote them, in one
    collapsed block (long signatures wrap instead of squeezing a table)."""
    items = []
    for task, metrics in _document_metrics().items():
        for name, entry in metrics.items():
            items.append(
                f"<li><code>{html.escape(task)}</code> · <code>{html.escape(name)}</code>: "
                f"{html.escape(entry.get('definition') or '')}<br>"
                f"<code style='word-break:break-all'>"
                f"{html.escape(entry.get('signature') or '—')}</code></li>")
    return ("<details><summary>Exact definitions and signatures (library, version, "
            "settings) of every metric</summary>\n<ul>" + "".join(items) + "</ul></details>")


def about_markdown() -> str:
    rule = "\n".join(RANKING_RULE.split("\n\n", 1)[1].splitlines())
    return (f"{INTRO}\n### Ranking rule\n\n{rule}\n\n### Metrics\n\n{metric_cards()}\n\n"
            f"{signatures()}\n")
