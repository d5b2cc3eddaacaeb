"""The results document (one per model × benchmark run) and its per-sample sibling.

A typed schema in the spirit of lm-evaluation-harness: provenance (harness version,
git commit, library versions, dataset fingerprint, label-map version, prompt hash,
model description) next to per-task metrics with CIs, signatures and definitions.
Per-sample records carry hashes of the target, never the held-out text itself.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from eval_harness import __version__

# v2: canonical fingerprints (eval_harness.fingerprint), status and failure accounting.
SCHEMA = "codebench.results/v2"
LIBRARIES = ("numpy", "scikit-learn", "scipy", "sacrebleu", "rouge-score", "nltk",
             "sentence-transformers", "torch", "transformers", "peft")


@dataclass
class DatasetInfo:
    name: str  # "COde" for the real release, "COde-synthetic" for ours, "peer-run:<path>"
    split: str
    size: int
    fingerprint: str  # eval_harness.fingerprint.dataset_fingerprint
    label_map: str | None
    reports_fingerprint: str | None = None  # the reference reports' own hash


@dataclass
class TaskResult:
    task: str
    primary_metric: str
    n: int
    n_failed: int
    n_unparseable: int
    metrics: dict[str, dict[str, Any]]  # view "all": failures count as wrong (primary)
    answered: dict[str, dict[str, Any]]  # view "answered": only samples with an answer
    tables: dict[str, Any] = field(default_factory=dict)  # per-class, confusion matrix
    notes: list[str] = field(default_factory=list)


@dataclass
class ResultsDocument:
    dataset: DatasetInfo
    model: dict[str, Any]
    tasks: dict[str, TaskResult]
    bootstrap: dict[str, Any]
    prompt_hash: str | None = None
    # What actually answered, from per-sample backend metadata (served model names and
    # system fingerprints with counts, retries, token usage); None for offline scoring.
    serving: dict[str, Any] | None = None
    # "ok", or "degraded" when a task's share of failed answers passed the threshold;
    # `failures` then says the rates and the commonest errors.
    status: str = "ok"
    failures: dict[str, Any] | None = None
    schema: str = SCHEMA
    harness_version: str = __version__
    git_commit: str = field(default_factory=lambda: git_commit())
    libraries: dict[str, str] = field(default_factory=lambda: library_versions())
    created_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResultsDocument:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document (schema {data.get('schema')!r}; "
                             "score the predictions again with this harness)")
        fields = dict(data)
        fields["dataset"] = DatasetInfo(**data["dataset"])
        fields["tasks"] = {k: TaskResult(**v) for k, v in data["tasks"].items()}
        return cls(**fields)


def sha256_text(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def git_commit() -> str:
    """The harness's commit (with "+dirty" when the tree has changes), or "unknown"."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_results(document: ResultsDocument, samples: list[dict[str, Any]],
                  out_dir: Path | str) -> tuple[Path, Path]:
    """Write ``results.json`` and ``samples.jsonl`` atomically (never half-written)."""
    from eval_harness.jsonl import write_atomically, write_json_lines

    out_dir = Path(out_dir)
    # Samples first: a results.json on disk always has its samples beside it.
    samples_path = write_json_lines(out_dir / "samples.jsonl", samples)
    results_path = write_atomically(out_dir / "results.json", [
        json.dumps(document.to_dict(), indent=2, ensure_ascii=False) + "\n"])
    return results_path, samples_path


def read_results(path: Path | str) -> tuple[ResultsDocument, list[dict[str, Any]]]:
    """A results document and its per-sample records (from the sibling samples.jsonl)."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    from eval_harness.errors import DataError

    try:
        document = ResultsDocument.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise DataError.single(str(path), "results file does not exist") from None
    except (json.JSONDecodeError, ValueError, TypeError, KeyError) as err:
        raise DataError.single(str(path), f"not a results document ({err})") from None
    samples_path = path.with_name("samples.jsonl")
    if not samples_path.is_file():
        raise DataError.single(str(samples_path), "per-sample records are missing",
                               fix="keep samples.jsonl beside results.json")
    from eval_harness.jsonl import read_json_lines

    return document, [obj for _, obj in read_json_lines(samples_path)]
