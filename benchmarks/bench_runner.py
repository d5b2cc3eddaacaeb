"""Runner benchmarks, each a ratio measured in one run (these machines are noisy).

Run: .venv/bin/python -m benchmarks.bench_runner [--checkups 48]

(a) runner with the hf backend vs a bare loop calling generate on the same batches
    (harness overhead ratio = bare / runner, best of --repeats each; target >= 0.9);
(b) batch 8 vs batch 1 throughput of the runner (hf backend);
(c) openai backend through the runner (as `run` uses it), concurrency 16, local server
    with 200 ms latency, 600 requests (300 checkups x 2 tasks):
    wall time / (n x latency / concurrency) (target <= 1.3);
(d) a repeated completed run (response cache) vs the first (target < 0.05).
The model is the tiny Qwen2.5-VL built from a config; data are synthetic.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkups", type=int, default=48)
    parser.add_argument("--requests", type=int, default=600, help="for (c); even")
    parser.add_argument("--repeats", type=int, default=5, help="for (a) and (b)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="codebench-runner-"))
    os.environ["CODEBENCH_CACHE"] = str(tmp / "cache")

    from eval_harness.data.load import load_checkups
    from eval_harness.data.synth import generate
    from eval_harness.models.hf import HFBackend
    from eval_harness.models.openai_backend import OpenAIBackend
    from eval_harness.models.tiny_qwen import build_tiny_qwen
    from eval_harness.runner import ResponseCache, run_model
    from eval_harness.tasks.prompts import PromptOptions, build_request
    from tests.fake_openai_server import FakeOpenAIServer

    generate(tmp / "data", max(args.checkups, args.requests // 2), seed=0)
    everything = load_checkups(tmp / "data")
    checkups = everything[:args.checkups]
    backend = HFBackend(str(build_tiny_qwen(tmp / "tiny")))
    prompt = PromptOptions(max_images=2)
    tasks = ["code_cls"]

    def runner(batch: int, cache=None):
        return lambda: run_model(checkups, tasks, backend, prompt=prompt, batch_size=batch,
                                 cache=cache, progress=False)

    requests = [build_request(c, "code_cls", prompt) for c in checkups]

    def bare() -> None:
        for start in range(0, len(requests), 8):
            backend.generate(requests[start:start + 8])

    bare(), runner(8)()  # warm up both paths
    # Alternate the two and keep each one's best (as timeit does): a half-second run on
    # a shared 2-core machine is easily hit by a neighbour; the minimum is the cost.
    pairs = [(_timed(bare), _timed(runner(8))) for _ in range(args.repeats)]
    t_bare, t_runner = min(b for b, _ in pairs), min(r for _, r in pairs)
    print(f"(a) harness overhead: bare/runner = {t_bare / t_runner:.3f} (target >= 0.9; "
          f"bare {t_bare:.2f} s, runner {t_runner:.2f} s, {len(requests)} requests)")
    t1 = min(_timed(runner(1)) for _ in range(args.repeats))
    print(f"(b) batch 8 vs batch 1 throughput: {t1 / t_runner:.2f}x "
          f"(batch 1 {t1:.2f} s, batch 8 {t_runner:.2f} s)")

    latency, concurrency = 0.2, 16
    with FakeOpenAIServer(answer=lambda body: "Pulpitis", latency=latency) as server:
        os.environ.setdefault("OPENAI_API_KEY", "local-benchmark")
        api = OpenAIBackend("fake", base_url=server.base_url, concurrency=concurrency)
        wall = _timed(lambda: run_model(everything[:args.requests // 2],
                                        ["code_cls", "code_report"], api, prompt=prompt,
                                        progress=False))
    ideal = args.requests * latency / concurrency
    print(f"(c) openai, concurrency {concurrency}, {args.requests} requests at "
          f"{latency * 1000:.0f} ms: wall {wall:.2f} s / ideal {ideal:.2f} s = "
          f"{wall / ideal:.2f} (target <= 1.3)")

    cache = ResponseCache(tmp / "responses.sqlite")
    first, repeat = _timed(runner(8, cache)), _timed(runner(8, cache))
    print(f"(d) repeated completed run / first = {repeat / first:.3f} (target < 0.05; "
          f"first {first:.2f} s, repeat {repeat:.3f} s)")


if __name__ == "__main__":
    main()
