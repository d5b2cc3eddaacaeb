"""Every ``CODEBENCH_*`` environment variable, read in one place.

Library code asks ``Settings.from_env()`` (or the helpers below) instead of reading
``os.environ`` itself, and never writes the environment. Settings are read afresh on
each call (a few dictionary lookups), so a test's ``monkeypatch.setenv`` or a caller's
``Settings.from_env({...})`` takes effect without any process-wide state.

The README's "Settings" table lists the same variables; keep both in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CACHE = "CODEBENCH_CACHE"
DATA_DIR = "CODEBENCH_DATA_DIR"
DB_URL = "CODEBENCH_DB_URL"
OPENAI_BASE_URL = "CODEBENCH_OPENAI_BASE_URL"
CHECKPOINT = "CODEBENCH_CHECKPOINT"
PEER_RUNS = "CODEBENCH_PEER_RUNS"
CHECKPOINTS = "CODEBENCH_CHECKPOINTS"
LEADERBOARD_DIR = "CODEBENCH_LEADERBOARD_DIR"
CODE_DIR = "CODEBENCH_CODE_DIR"
COMPARE_MODEL = "CODEBENCH_COMPARE_MODEL"
SUBMISSIONS_PER_DAY = "CODEBENCH_SUBMISSIONS_PER_DAY"
ALLOWED_ENDPOINTS = "CODEBENCH_ALLOWED_ENDPOINTS"
MODEL_ROOTS = "CODEBENCH_MODEL_ROOTS"
JOB_TIMEOUT_S = "CODEBENCH_JOB_TIMEOUT_S"
JOB_STALL_S = "CODEBENCH_JOB_STALL_S"
JOB_MEMORY_MB = "CODEBENCH_JOB_MEMORY_MB"

#: name -> (default shown to people, what it does); the README table mirrors this.
VARIABLES: dict[str, tuple[str, str]] = {
    CACHE: ("~/.cache/codebench",
            "cache folder: response cache, MiniLM embeddings, file hashes, WordNet copy"),
    DATA_DIR: ("build/demo/data", "dataset folder the Gradio app shows"),
    DB_URL: ("unset (SQLite in the leaderboard folder)",
             "leaderboard database URL, e.g. postgresql+psycopg://host/db"),
    CODE_DIR: ("unset", "the real COde folder: lets code-test-600 take submissions keyed by "
                        "checkup id (else position ids 00000-00599 only)"),
    COMPARE_MODEL: ("gpt-4o", "the model the space's demo asks beside its own where "
                              "OPENAI_API_KEY is set"),
    LEADERBOARD_DIR: ("build/leaderboard",
                      "leaderboard folder: its SQLite database when no database URL is set"),
    OPENAI_BASE_URL: ("unset (api.openai.com)",
                      "base URL of the `openai` backend when `base_url=` is not given"),
    CHECKPOINT: ("unset", "model checkpoint for the live demo (reserved; nothing reads it yet)"),
    PEER_RUNS: ("<repo>/../shared/data/peer-runs/pocket-dentist-code",
                "peer-run folder for `scripts/labeler_agreement.py` and "
                "`scripts/clinical_accuracy.py`"),
    SUBMISSIONS_PER_DAY: ("5", "submissions a submitter (by name, and by client address) may "
                               "make in 24 hours"),
    JOB_TIMEOUT_S: ("3600", "seconds a queued job may run before it fails with 'timeout' "
                            "(a board's own limit wins)"),
    JOB_STALL_S: ("600", "seconds a queued job may go without a new answer or progress "
                         "event before it fails with 'stalled'"),
    JOB_MEMORY_MB: ("80% of this machine's memory", "address-space limit of a job's process "
                                                    "(0: none); past it the job fails with "
                                                    "'out of memory'"),
    CHECKPOINTS: ("<repo>/checkpoints",
                  "folder of `registry.json`: the named checkpoints `checkpoint=NAME` resolves"),
    ALLOWED_ENDPOINTS: ("unset (none)",
                        "comma-separated hosts a submitted model's `base_url=` may name, as "
                        "`host[:port]` (no port: 80/443; `:*` any) or `*.domain[:port]`; the "
                        "operator's own endpoint is always allowed"),
    MODEL_ROOTS: ("the checkpoint registry's folder (<repo>/checkpoints)",
                  "folders (separated by `:`, `;` on Windows) under which a submitted model's "
                  "`model=`/`adapter=` folders must lie, symlinks resolved"),
}

DEFAULT_CACHE = Path("~/.cache/codebench")
DEFAULT_DATA_DIR = Path("build/demo/data")
DEFAULT_LEADERBOARD_DIR = Path("build/leaderboard")
DEFAULT_CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"


def _text(environ: Mapping[str, str], name: str) -> str | None:
    """The variable's value, stripped; unset and empty both mean "not set"."""
    value = environ.get(name, "").strip()
    return value or None


def _path(environ: Mapping[str, str], name: str) -> Path | None:
    value = _text(environ, name)
    return Path(value).expanduser() if value else None


def _positive_int(environ: Mapping[str, str], name: str) -> int | None:
    value = _text(environ, name)
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        from eval_harness.errors import UsageError

        raise UsageError(f"{name}={value!r}: expected a positive whole number")
    return int(value)


def _whole(environ: Mapping[str, str], name: str) -> int | None:
    """A whole number >= 0 (0 switches the limit off), or None when unset."""
    value = _text(environ, name)
    if value is None:
        return None
    if not value.isdigit():
        from eval_harness.errors import UsageError

        raise UsageError(f"{name}={value!r}: expected a whole number (0 for no limit)")
    return int(value)


def _list(environ: Mapping[str, str], name: str, separator: str) -> tuple[str, ...]:
    """The variable's non-empty items, stripped (unset: none)."""
    return tuple(item.strip() for item in environ.get(name, "").split(separator)
                 if item.strip())


@dataclass(frozen=True)
class Settings:
    """A snapshot of the ``CODEBENCH_*`` variables (``None``: not set, no default)."""

    cache_dir: Path
    data_dir: Path
    db_url: str | None = None
    openai_base_url: str | None = None
    checkpoint: str | None = None
    peer_runs: Path | None = None
    checkpoints: Path | None = None
    leaderboard_dir: Path = DEFAULT_LEADERBOARD_DIR
    code_dir: Path | None = None
    compare_model: str = "gpt-4o"
    submissions_per_day: int = 5
    job_timeout_s: int = 3600
    job_stall_s: int = 600
    job_memory_mb: int | None = None  # None: 80% of physical memory; 0: no limit
    #: host patterns a submitted ``base_url`` may name (lower-cased; empty: none)
    allowed_endpoints: tuple[str, ...] = ()
    #: folders a submitted model's folders must lie under (empty: the registry's folder)
    model_roots: tuple[Path, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            cache_dir=_path(env, CACHE) or DEFAULT_CACHE.expanduser(),
            data_dir=_path(env, DATA_DIR) or DEFAULT_DATA_DIR,
            db_url=_text(env, DB_URL),
            openai_base_url=_text(env, OPENAI_BASE_URL),
            checkpoint=_text(env, CHECKPOINT),
            peer_runs=_path(env, PEER_RUNS),
            checkpoints=_path(env, CHECKPOINTS),
            leaderboard_dir=_path(env, LEADERBOARD_DIR) or DEFAULT_LEADERBOARD_DIR,
            code_dir=_path(env, CODE_DIR),
            compare_model=_text(env, COMPARE_MODEL) or "gpt-4o",
            submissions_per_day=_positive_int(env, SUBMISSIONS_PER_DAY) or 5,
            job_timeout_s=_positive_int(env, JOB_TIMEOUT_S) or 3600,
            job_stall_s=_positive_int(env, JOB_STALL_S) or 600,
            job_memory_mb=_whole(env, JOB_MEMORY_MB),
            allowed_endpoints=tuple(p.lower() for p in _list(env, ALLOWED_ENDPOINTS, ",")),
            model_roots=tuple(Path(p).expanduser()
                              for p in _list(env, MODEL_ROOTS, os.pathsep)),
        )

    def allowed_model_roots(self) -> tuple[Path, ...]:
        """Where a submitted model's folders may lie: ``CODEBENCH_MODEL_ROOTS``, else the
        checkpoint registry's folder (``CODEBENCH_CHECKPOINTS``, else <repo>/checkpoints)."""
        return self.model_roots or (self.checkpoints or DEFAULT_CHECKPOINTS,)


def peer_runs_dir() -> Path:
    """``$CODEBENCH_PEER_RUNS``, else ``../shared/data/peer-runs/pocket-dentist-code``."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "peer-runs"
    return Settings.from_env().peer_runs or shared / "pocket-dentist-code"


def cache_dir() -> Path:
    """``$CODEBENCH_CACHE`` or ``~/.cache/codebench`` (not created here)."""
    return Settings.from_env().cache_dir
