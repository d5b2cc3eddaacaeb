"""The About tab: dataset, licence, tasks, every metric's definition and signature (read
from a results document the harness wrote), the ranking rule, how to run and scale."""

from __future__ import annotations

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

**Tasks.** `code_cls`: which of the six anomaly classes a checkup shows (macro-F1).
`code_report`: the nine-section diagnostic report (sentence BLEU as primary; ROUGE,
METEOR, MiniLM cosine, and clinical accuracy: the six-class reading of the report,
fine-grained diagnosis F1 and ICD-10 agreement). `code_multilabel`: every class a checkup
shows (micro-F1 as primary). The board can be ranked by any of a task's headline metrics;
each row's rank is a 95% interval, and rows whose intervals overlap cannot be told apart.

**Run it yourself.** `python -m eval_harness run --model hf --model-args checkpoint=NAME
--data DIR --output OUT`, then `python -m leaderboard submit OUT/predictions.jsonl ...`.
Scale out with `accelerate launch -m eval_harness run ...` (data parallel) or any
OpenAI-compatible server (vLLM) through `--model openai`; the board runs any number of
workers against one PostgreSQL database (`python -m leaderboard worker`).

**Cite.** Lv, Haq et al., arXiv 2511.04948 (2025).
"""


def metric_table() -> str:
    """Every metric of every task with its definition and signature, from the harness's
    own results document (the committed seed), so the page and the numbers agree."""
    document = read_seed()["runs"][0]["document"]
    lines = ["| task | metric | definition | signature |", "|---|---|---|---|"]
    for task, result in document["tasks"].items():
        for name, entry in result["metrics"].items():
            definition = (entry.get("definition") or "").replace("|", "/")
            signature = (entry.get("signature") or "—").replace("|", "/")
            lines.append(f"| {task} | `{name}` | {definition} | `{signature}` |")
    return "\n".join(lines)


def about_markdown() -> str:
    rule = "\n".join(RANKING_RULE.split("\n\n", 1)[1].splitlines())
    return f"{INTRO}\n### Ranking rule\n\n{rule}\n\n### Metrics\n\n{metric_table()}\n"
