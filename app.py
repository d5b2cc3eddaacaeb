"""COde-Bench Gradio space: `python app.py [--port 7860] [--checkpoint tiny-demo] ...`.

Serves the leaderboard beside the live demo, with the embedded defaults: the SQLite board
(seeded with the published runs on first start), the synthetic demo benchmark (generated
on first start if absent), the tiny-demo checkpoint (loaded on first demo use) and one
embedded queue worker. Every default has a flag and a CODEBENCH_* setting. Held-out data
is never served: Gradio may serve only its own upload cache, and the data, leaderboard,
peer-run and COde folders are blocked outright.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence
from pathlib import Path


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from eval_harness.settings import Settings

    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description="COde-Bench: leaderboard and live demo")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--checkpoint", default=settings.checkpoint or "tiny-demo",
                        help="registry name or model folder for the demo "
                             "($CODEBENCH_CHECKPOINT)")
    parser.add_argument("--adapter", default=None, help="a LoRA adapter folder for the "
                        "demo's checkpoint")
    parser.add_argument("--endpoint", default=None,
                        help="an OpenAI-compatible server (e.g. vLLM running the fine-tuned "
                             "Qwen2.5-VL) serving --checkpoint as its model name")
    parser.add_argument("--db", default=None, help="database URL ($CODEBENCH_DB_URL, else "
                        "SQLite in $CODEBENCH_LEADERBOARD_DIR)")
    parser.add_argument("--data-dir", type=Path, default=settings.data_dir,
                        help="synthetic benchmark folder ($CODEBENCH_DATA_DIR)")
    parser.add_argument("--no-worker", action="store_true",
                        help="do not run a queue worker inside the app")
    parser.add_argument("--no-embeddings", action="store_true",
                        help="the embedded worker skips MiniLM cosine")
    return parser.parse_args(argv)


def blocked_paths(data_dir: Path) -> list[str]:
    """Folders whose files must never be served, whatever a request asks for."""
    from eval_harness.settings import Settings, peer_runs_dir

    settings = Settings.from_env()
    folders = [data_dir, settings.leaderboard_dir, peer_runs_dir(), settings.code_dir,
               Path(__file__).resolve().parent / "leaderboard",
               Path(__file__).resolve().parent / "checkpoints"]
    return [str(Path(f).resolve()) for f in folders if f is not None]


def prepare(args: argparse.Namespace):
    """Data, store and seeds, then the page (the model loads on first demo use)."""
    from eval_harness.data.synth import generate
    from eval_harness.settings import Settings
    from leaderboard.seeds import DEMO_CHECKUPS, DEMO_SEED, ensure_seeded
    from leaderboard.store.database import open_store
    from space.context import Space
    from space.demo import DemoModel, comparison_model
    from space.layout import build

    if not (args.data_dir / "complete_dataset.csv").is_file():
        generate(args.data_dir, DEMO_CHECKUPS, seed=DEMO_SEED)
    sessions = open_store(args.db)
    ensure_seeded(sessions, data_dir=args.data_dir)
    space = Space(sessions=sessions, folder=Settings.from_env().leaderboard_dir,
                  data_dir=args.data_dir,
                  model=DemoModel(args.checkpoint, args.adapter, args.endpoint),
                  second=comparison_model())
    return space, build(space)


def start_worker(space, embeddings: bool) -> threading.Event:
    """One queue worker in a thread (more run with `python -m leaderboard worker`)."""
    from eval_harness.tasks.base import ScoreOptions
    from leaderboard.worker import work

    stop = threading.Event()
    threading.Thread(target=work, args=(space.sessions, space.folder), daemon=True,
                     kwargs={"stop": stop, "options": ScoreOptions(embeddings=embeddings)},
                     name="codebench-worker").start()
    return stop


def main(argv: Sequence[str] | None = None) -> None:
    from space.style import CSS, HEAD, theme

    args = parse(argv)
    space, page = prepare(args)
    if not args.no_worker:
        start_worker(space, embeddings=not args.no_embeddings)
    # show_error=False: an unexpected exception shows as "Error", never its text (which
    # could name files or settings); every expected failure is a gr.Error in plain words.
    # The queue is bounded: a burst past max_size is told the queue is full.
    page.queue(default_concurrency_limit=4, max_size=256).launch(
        server_name=args.host, server_port=args.port, css=CSS, head=HEAD, theme=theme(),
        show_error=False,
        allowed_paths=[], blocked_paths=blocked_paths(args.data_dir), max_file_size="20mb")


if __name__ == "__main__":
    main()
