"""One settings module for every CODEBENCH_* variable; library code never writes the
process environment or its module globals."""

from __future__ import annotations

import ast
import os
import re
import sys
import types
from pathlib import Path

import pytest

from eval_harness import settings
from eval_harness.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "eval_harness"
# Still reads CODEBENCH_CACHE itself until its owner switches it to settings.cache_dir().
PENDING: set[str] = set()


def _sources(*roots: Path) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        files += [root] if root.is_file() else sorted(root.rglob("*.py"))
    return [f for f in files if f.is_file()]


def test_defaults_and_overrides() -> None:
    empty = Settings.from_env({})
    assert empty.cache_dir == Path.home() / ".cache" / "codebench"
    assert empty.data_dir == Path("build/demo/data")
    assert (empty.db_url, empty.openai_base_url, empty.checkpoint, empty.peer_runs) == \
        (None, None, None, None)
    custom = Settings.from_env({
        "CODEBENCH_CACHE": "~/elsewhere", "CODEBENCH_DATA_DIR": "/data/code",
        "CODEBENCH_DB_URL": "sqlite:///r.db", "CODEBENCH_OPENAI_BASE_URL": "http://h:1/v1",
        "CODEBENCH_CHECKPOINT": "Qwen/Qwen2.5-VL-3B-Instruct", "CODEBENCH_PEER_RUNS": "/p"})
    assert custom.cache_dir == Path.home() / "elsewhere"  # ~ expanded
    assert custom.data_dir == Path("/data/code") and custom.peer_runs == Path("/p")
    assert custom.db_url == "sqlite:///r.db" and custom.openai_base_url == "http://h:1/v1"
    assert custom.checkpoint == "Qwen/Qwen2.5-VL-3B-Instruct"
    # Set but empty (e.g. `CODEBENCH_CACHE= cmd`) means unset, not "the current folder".
    assert Settings.from_env({"CODEBENCH_CACHE": " "}).cache_dir == empty.cache_dir


def test_read_afresh_so_monkeypatch_works(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setenv("CODEBENCH_CACHE", str(tmp_path))
    assert settings.cache_dir() == tmp_path
    from eval_harness.metrics.embeddings import default_cache_path

    assert default_cache_path().parent == tmp_path / "embeddings"


def test_every_codebench_variable_is_a_setting_and_read_only_there() -> None:
    pattern = re.compile(r"CODEBENCH_[A-Z0-9_]+")
    readers = re.compile(r"(environ(\.get)?\s*[\[(]|getenv\()\s*['\"]CODEBENCH_")
    found: set[str] = set()
    stray: list[str] = []
    for path in _sources(LIBRARY, ROOT / "app.py", ROOT / "scripts", ROOT / "leaderboard",
                         ROOT / "space"):
        text = path.read_text(encoding="utf-8")
        found |= set(pattern.findall(text))
        name = path.relative_to(ROOT).as_posix()
        if path.parent == LIBRARY and path.name == "settings.py":
            continue
        if name.startswith(("eval_harness/", "leaderboard/", "space/")) \
                and readers.search(text) and name not in PENDING:
            stray.append(name)
    assert found <= set(settings.VARIABLES), found - set(settings.VARIABLES)
    assert not stray, f"read CODEBENCH_* through eval_harness.settings instead: {stray}"


def test_readme_settings_table_lists_every_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `(CODEBENCH_[A-Z0-9_]+)` \|", section, re.MULTILINE))
    assert rows == set(settings.VARIABLES)


def _writes_process_state(tree: ast.AST) -> list[str]:
    """os.environ / os.putenv writes and any globals() call, found in a module's AST."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "globals":
            found.append(f"globals() at line {node.lineno}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = ast.unparse(node.func)
            if target in ("os.putenv", "os.unsetenv") or (
                    target.startswith("os.environ.") and node.func.attr in
                    ("update", "setdefault", "pop", "popitem", "clear", "__setitem__")):
                found.append(f"{target}() at line {node.lineno}")
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                if isinstance(t, ast.Subscript) and ast.unparse(t.value) == "os.environ":
                    found.append(f"os.environ[...] written at line {node.lineno}")
    return found


def test_library_never_writes_environment_or_globals() -> None:
    offences = {}
    for path in _sources(LIBRARY):
        found = _writes_process_state(ast.parse(path.read_text(encoding="utf-8")))
        if found:
            offences[path.relative_to(ROOT).as_posix()] = found
    assert not offences
    # The checker itself sees what it must.
    assert _writes_process_state(ast.parse("import os\nos.environ['X'] = '1'\n"
                                           "os.environ.update(Y='1')\nglobals()['z'] = 1"))


def test_embedder_loads_offline_without_touching_the_environment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from eval_harness.metrics.embeddings import MiniLMEmbedder

    calls = []

    class FakeSentenceTransformer:
        def __init__(self, folder, **kwargs):
            calls.append((folder, kwargs, dict(os.environ)))

    fake = types.ModuleType("sentence_transformers")
    fake.SentenceTransformer = FakeSentenceTransformer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sentence_transformers", fake)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    before = dict(os.environ)
    MiniLMEmbedder(tmp_path / "model", use_cache=False)._load()
    [(folder, kwargs, during)] = calls
    assert folder == str(tmp_path / "model") and kwargs["local_files_only"] is True
    assert during == before == dict(os.environ)  # nothing set, even while loading
