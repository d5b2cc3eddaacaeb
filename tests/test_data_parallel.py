"""`accelerate launch` with 2 CPU processes gives the results of a 1-process run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from eval_harness.data.load import load_checkups

ARGS = ["run", "--model", "random", "--seed", "5", "--no-embeddings", "--resamples", "50",
        "--quiet", "--no-cache"]


def _free_port() -> int:
    # torchrun's default 29500 collides with any other run on this machine (another
    # checkout's test suite, a real job): ask the OS for a free one instead.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_processes_equal_one(synth_dir: Path, tmp_path: Path) -> None:
    accelerate = Path(sys.executable).with_name("accelerate")
    if not accelerate.is_file():
        pytest.skip("accelerate's launcher is not installed (pip install accelerate)")
    env = {**os.environ, "CODEBENCH_CACHE": str(tmp_path / "cache")}
    single = [sys.executable, "-m", "eval_harness", *ARGS, "--data", str(synth_dir),
              "--output", str(tmp_path / "one")]
    # --multi_gpu selects accelerate's torchrun launcher; without CUDA the processes
    # join a gloo group on the CPU.
    double = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              "--main_process_port", str(_free_port()),
              "-m", "eval_harness", *ARGS, "--data", str(synth_dir),
              "--output", str(tmp_path / "two")]
    for command in (single, double):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        # The head holds a rank's own error ("terminate called ..."), the tail the
        # launcher's summary.
        assert done.returncode == 0, done.stderr[:1500] + "\n...\n" + done.stderr[-1500:]
    # Each process answered its own half: the main process's share is printed. A shard()
    # that did nothing would give it every request (and the gather a duplicate of each).
    n_test = sum(1 for c in load_checkups(synth_dir, split="test"))
    assert f"{2 * ((n_test + 1) // 2)} requests on the main process (2 in all)" in done.stdout
    one = json.loads((tmp_path / "one" / "results.json").read_text())
    two = json.loads((tmp_path / "two" / "results.json").read_text())
    assert one["tasks"] == two["tasks"]
    assert ((tmp_path / "one" / "samples.jsonl").read_text()
            == (tmp_path / "two" / "samples.jsonl").read_text())
