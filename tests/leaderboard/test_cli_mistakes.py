"""Issue 22 on `python -m leaderboard`: a Python without the dependencies is told which
venv to use in one line (not a traceback calling itself a bug), and `show` prints no
Python None."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The interpreter a user meets outside the venv, for one package: the import of
# sqlalchemy fails as it would where it is not installed, then the module runs as
# `python -m leaderboard list` would.
_WITHOUT_SQLALCHEMY = """
import runpy, sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "sqlalchemy":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
sys.argv = ["leaderboard", *sys.argv[1:]]
runpy.run_module("leaderboard", run_name="__main__", alter_sys=True)
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CODEBENCH_DB_URL"}
    return {**env, "CODEBENCH_LEADERBOARD_DIR": str(tmp_path / "board")}


def test_a_python_without_sqlalchemy_names_the_venv(tmp_path: Path) -> None:
    """Was: ModuleNotFoundError: sqlalchemy and "This is a bug in eval_harness", exit 70."""
    done = subprocess.run([sys.executable, "-c", _WITHOUT_SQLALCHEMY, "list"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "bug" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "has no module 'sqlalchemy'" in done.stderr
    assert "run .venv/bin/python -m leaderboard ..." in done.stderr
    assert "`make demo` / `pip install -r requirements.txt` first" in done.stderr


def test_show_prints_a_dash_for_what_a_row_lacks(tmp_path: Path) -> None:
    """Was: "base_model: None", "prompt_hash: None" (a published run has neither). The
    command seeds its fresh database first, as on a new clone."""
    url = f"sqlite:///{tmp_path / 'board.sqlite'}"
    done = subprocess.run([sys.executable, "-m", "leaderboard", "--db", url, "show", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert not re.search(r"\bNone\b", done.stdout), done.stdout
    assert re.search(r"^\s+base_model: —$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^\s+tasks: code_cls, code_report$", done.stdout, re.MULTILINE)
