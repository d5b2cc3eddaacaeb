"""The installed commands (pyproject's [project.scripts], installed by the make targets)
are the two CLIs: `codebench-eval` = `python -m eval_harness`, `codebench-board` =
`python -m leaderboard`."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {"codebench-eval": "python -m eval_harness", "codebench-board": "python -m leaderboard"}


def _scripts() -> dict[str, str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def test_each_script_names_a_cli_main() -> None:
    scripts = _scripts()
    assert set(scripts) == set(EXPECTED)
    for target in scripts.values():
        module, _, name = target.partition(":")
        assert callable(getattr(importlib.import_module(module), name)), target


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_the_installed_command_is_the_module_cli(script: str) -> None:
    installed = Path(sys.executable).parent / script
    if not installed.is_file():
        unavailable(f"{script} is not installed in this venv (make installs it: pip install "
                    "-e .)", "CODEBENCH_REQUIRE_ENTRY_POINTS")
    module = EXPECTED[script].split()[-1]
    by_command = subprocess.run([str(installed), "--help"], capture_output=True, text=True,
                                timeout=120)
    by_module = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
    assert by_command.returncode == by_module.returncode == 0, by_command.stderr
    assert by_command.stdout == by_module.stdout
