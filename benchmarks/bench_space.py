"""The space's speed: demo latency, the board table at 10,000 rows, cold start, and board
reads while the demo is busy. Medians of --repeats, all in one run.

Run: .venv/bin/python -m benchmarks.bench_space [--repeats 5]

(a) Demo latency per checkup with the tiny-demo model, warm (one untimed answer first):
    the class (score mode), the first streamed piece of the report and the whole report
    (goals: class <= 2 s, first report token <= 1 s), and the first report token as a
    visitor gets it through stream_demo (images staged, the class pass, the first piece).
(b) The leaderboard tab's table (the DataFrame the page renders) from 10,000 ranked rows.
(c) Cold start: `python app.py` with empty folders (data generated, board seeded) until
    /gradio_api/info answers (goal <= 15 s).
(d) Board reads through the app's API while a demo request is running, against the same
    reads with the demo idle: the ratio of their medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path


def demo_latency(repeats: int, data: Path) -> tuple[float, float, float, float]:
    """Warm medians over ``repeats`` test checkups: the class pass, the report's first
    streamed piece and the whole report on the backend, and the first report token as a
    visitor gets it (stream_demo: staging the images, the class pass, the first piece)."""
    from eval_harness.api import load_split
    from eval_harness.tasks.prompts import PromptOptions, build_request
    from space.demo import DemoModel, stream_demo

    model = DemoModel("tiny-demo")
    backend = model.backend()  # loaded once, as after the first request
    checkups = load_split(data, "test", "en").checkups[:repeats + 1]
    options = PromptOptions(max_images=8)
    backend.generate([build_request(checkups[0], "code_cls", options)])  # warm-up, untimed
    cls, first, whole, seen = [], [], [], []
    for checkup in checkups[1:]:
        start = time.perf_counter()
        backend.generate([build_request(checkup, "code_cls", options)])
        cls.append(time.perf_counter() - start)
        start = time.perf_counter()
        for n, _ in enumerate(backend.stream(build_request(checkup, "code_report", options))):
            if n == 0:
                first.append(time.perf_counter() - start)
        whole.append(time.perf_counter() - start)
        photos = [str(p) for p in checkup.photograph_paths]
        start = time.perf_counter()
        for answer in stream_demo(model, photos, [], None, None, "pain"):
            if answer["report"] and len(seen) < len(cls):  # read to the end: the report's
                seen.append(time.perf_counter() - start)  # thread finishes with it
    return tuple(statistics.median(x) for x in (cls, first, whole, seen))


def table_time(rows: int, repeats: int, folder: Path) -> float:
    from benchmarks.bench_leaderboard import ranked_view
    from leaderboard.store.database import open_store
    from space import board

    ranked_view(rows, 1, folder)  # builds the 10,000-row store
    sessions = open_store(f"sqlite:///{folder / 'board.sqlite'}")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        board.table(board.rows(sessions, "big", "code_cls"))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def start_app(home: Path) -> tuple[object, str, float]:
    import os
    import subprocess
    import sys
    import urllib.request

    from tests.space.running import ROOT, free_port

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False",
           "GRADIO_TEMP_DIR": str(home / "gradio"),
           "CODEBENCH_LEADERBOARD_DIR": str(home / "leaderboard"),
           "CODEBENCH_DATA_DIR": str(home / "data")}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port),
                                "--no-worker"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            with urllib.request.urlopen(f"{url}/gradio_api/info", timeout=2):
                return process, url, time.perf_counter() - start
        except OSError:
            time.sleep(0.1)


def reads_while_busy(url: str, data: Path, repeats: int) -> tuple[float, float]:
    from gradio_client import Client, handle_file

    from eval_harness.api import load_split

    client = Client(url, verbose=False)
    args = ("code-test-600", "code_cls", "all", "all", None, ["model", "value"])

    def read() -> float:
        start = time.perf_counter()
        client.predict(*args, api_name="/board_rows")
        return time.perf_counter() - start

    idle = statistics.median(read() for _ in range(repeats))
    checkup = load_split(data, "test", "en").checkups[0]
    images = [handle_file(str(p)) for p in checkup.photograph_paths]
    busy = threading.Event()

    def demo() -> None:
        busy.set()
        for _ in range(3):
            Client(url, verbose=False).predict(images, [], "30", "", "pain",
                                               api_name="/home_predict")
        busy.clear()

    worker = threading.Thread(target=demo)
    worker.start()
    busy.wait()
    time.sleep(1.0)  # the model is loading or answering now
    loaded = [read() for _ in range(repeats)]
    worker.join()
    return idle, statistics.median(loaded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        process, url, cold = start_app(home)
        try:
            print(f"(c) cold start to a served page: {cold:.1f} s (goal <= 15)")
            cls, first, report, seen = demo_latency(args.repeats, home / "data")
            print(f"(a) demo per checkup, tiny-demo, warm, median of {args.repeats}: class "
                  f"{cls:.2f} s (goal <= 2); report: first token {first:.2f} s (goal <= 1), "
                  f"whole {report:.2f} s; first report token as a visitor gets it (images "
                  f"staged, class, first token) {seen:.2f} s")
            idle, busy = reads_while_busy(url, home / "data", args.repeats)
            print(f"(d) board reads through the API: {idle * 1000:.0f} ms idle, "
                  f"{busy * 1000:.0f} ms while the demo runs (ratio {busy / idle:.2f})")
        finally:
            process.terminate()
        table = table_time(10_000, args.repeats, home)
        print(f"(b) the board table from 10,000 rows: {table * 1000:.0f} ms")


if __name__ == "__main__":
    main()
