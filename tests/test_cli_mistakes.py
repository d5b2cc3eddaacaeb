"""Issue 22: the mistakes a new user made on a fresh clone, each run through the CLI as a
subprocess. Each must end in one line naming the fix (exit 2 for usage, 1 for data),
never a traceback that calls itself a bug, and never a silent half answer."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: object, python: tuple[str, ...] = (sys.executable,),
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*python, "-m", "eval_harness", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)


def _one_line(done: subprocess.CompletedProcess, code: int, *fixes: str) -> str:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    for fix in fixes:
        assert fix in done.stderr, done.stderr
    return done.stderr


def _keys(backend: type) -> list[str]:
    return [name for name in inspect.signature(backend).parameters]


def test_hf_without_model_args_says_which_key_and_lists_them(tmp_path: Path) -> None:
    """Was: TypeError "HFBackend.__init__() missing ... 'model'", exit 70. The data path
    does not exist: the mistake is told before any data (let alone weights) loads."""
    from eval_harness.models.hf import HFBackend

    line = _one_line(_cli("run", "--model", "hf", "--data", tmp_path / "no-data",
                          "--output", tmp_path / "o"),
                     2, "--model hf needs --model-args model=... or checkpoint=...")
    for key in _keys(HFBackend):  # the keys come from the backend, not a copied list
        assert key in line


def test_model_args_typo_names_the_key_meant(synth_dir: Path, tmp_path: Path) -> None:
    """Was: "unexpected keyword argument 'checkpint'", the keys the backend takes unsaid."""
    line = _one_line(_cli("run", "--model", "hf", "--model-args", "checkpint=tiny-demo",
                          "--data", synth_dir, "--output", tmp_path / "o"),
                     2, "unknown --model-args key 'checkpint' (did you mean checkpoint?)")
    assert "its keys: model, adapter" in line


def test_openai_without_a_model_says_so(synth_dir: Path, tmp_path: Path) -> None:
    """Was: TypeError "OpenAIBackend.__init__() missing ... 'model'", exit 70."""
    from eval_harness.models.openai_backend import OpenAIBackend

    line = _one_line(_cli("run", "--model", "openai", "--data", synth_dir,
                          "--output", tmp_path / "o"),
                     2, "--model openai needs --model-args model=...")
    assert all(key in line for key in _keys(OpenAIBackend))


def test_openai_without_its_key_names_the_variable(synth_dir: Path, tmp_path: Path) -> None:
    """Was: 20 lines of traceback ending in a clear ValueError, exit 70. No request is
    made: the key is missing before the client exists."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "CODEBENCH_OPENAI_BASE_URL")}
    _one_line(_cli("run", "--model", "openai", "--model-args", "model=gpt-4o", "--data",
                   synth_dir, "--output", tmp_path / "o", "--limit", "1", "--no-cache",
                   env=env),
              2, "environment variable OPENAI_API_KEY is not set: export OPENAI_API_KEY=")


@pytest.mark.parametrize("command", [("run", "--model", "majority", "--data"),
                                     ("data", "info")])
def test_the_table_given_for_the_folder_names_the_folder(command: tuple[str, ...],
                                                         synth_dir: Path,
                                                         tmp_path: Path) -> None:
    """Was: "no such dataset (fix: check the path)" of a file that exists."""
    table = synth_dir / "complete_dataset.csv"
    extra = ("--output", tmp_path / "o") if command[0] == "run" else ()
    flag = "--data" if command[0] == "run" else "PATH"
    _one_line(_cli(*command, table, *extra), 2,
              f"point {flag} at the folder that holds complete_dataset.csv",
              f"here {synth_dir}")


def test_a_missing_peer_run_says_where_the_published_ones_are(tmp_path: Path) -> None:
    """Was: "file does not exist", with no word of ../shared, absent from a user's clone."""
    _one_line(_cli("score", "--peer-run", tmp_path / "sft" / "Qwen2.5-VL-7B",
                   "--output", tmp_path / "o"),
              1, "no such peer-run folder",
              "the published runs live in ../shared/data/peer-runs on the project's "
              "machines and CI")


def test_compare_says_which_tasks_it_compared_and_left_out(synth_dir: Path,
                                                         tmp_path: Path) -> None:
    """Was: runs of different task sets compared on the shared task without a word."""
    from eval_harness import api
    from eval_harness.tasks.base import ScoreOptions

    split = api.load_split(synth_dir, "test", "en")
    options = ScoreOptions(resamples=20, embeddings=False)
    for name, tasks in (("a", ["code_cls"]), ("b", ["code_cls", "code_report"])):
        api.evaluate_on(split, "majority", {}, tasks, options, cache=None).write(tmp_path / name)
    done = _cli("compare", tmp_path / "a", tmp_path / "b", "--resamples", "20")
    assert done.returncode == 0, done.stderr
    assert ("compared code_cls, the task(s) both runs have; left out code_report "
            "(only in B)") in done.stdout


def test_a_python_without_the_dependencies_names_the_venv(tmp_path: Path) -> None:
    """Was: a ModuleNotFoundError traceback and "This is a bug in eval_harness". `-S`
    leaves out every site-packages folder: the interpreter a user gets outside the venv
    (python3 with no numpy), here failing while the subcommands' parsers are built."""
    done = _cli("run", "--model", "majority", "--data", tmp_path, "--output", tmp_path / "o",
                python=(sys.executable, "-S"))
    _one_line(done, 2, "has no module 'numpy', which COde-Bench needs",
              "run .venv/bin/python -m eval_harness ...",
              "`make demo` / `pip install -r requirements.txt` first")
    assert "This is a bug" not in done.stderr
