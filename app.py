"""COde-Bench Gradio space (entry point: `python app.py`).

At this stage the app shows the dataset a deployment points at (the synthetic
COde-format benchmark by default); the leaderboard and the live model demo are
added by later issues. It never computes metrics and never reads held-out labels
beyond their counts.
"""

from __future__ import annotations

from pathlib import Path


def data_dir() -> Path:
    from eval_harness.settings import Settings

    return Settings.from_env().data_dir


def dataset_markdown(folder: Path) -> str:
    from eval_harness.data.load import load_checkups
    from eval_harness.data.summary import format_summary, summarize
    from eval_harness.errors import DataError

    try:
        summary = summarize(load_checkups(folder))
    except DataError as err:
        return f"**Dataset at `{folder}` cannot be read:**\n\n```\n{err}\n```"
    return f"Dataset: `{folder}`\n\n```\n{format_summary(summary)}\n```"


def build_app():
    import gradio as gr

    with gr.Blocks(title="COde-Bench") as demo:
        gr.Markdown("# COde-Bench\nOro-dental vision-language benchmark (COde). "
                    "**Data shown: synthetic COde-format checkups unless "
                    "`CODEBENCH_DATA_DIR` points at the real release.**")
        summary = gr.Markdown()
        refresh = gr.Button("Refresh")
        refresh.click(lambda: dataset_markdown(data_dir()), outputs=summary)
        demo.load(lambda: dataset_markdown(data_dir()), outputs=summary)
    return demo


if __name__ == "__main__":
    build_app().launch()
