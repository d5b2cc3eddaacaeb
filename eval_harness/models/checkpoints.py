"""Named checkpoints: ``checkpoints/registry.json`` maps a name to weights and a recipe.

``run --model hf --model-args checkpoint=NAME`` and the app resolve names here. An entry is
a full model folder (``model``) or a LoRA adapter folder on a base (``adapter`` + ``base``);
folders are relative to the registry's folder. A name whose weights are absent is an error
that prints the command that trains them (the 3B/7B adapters need a GPU and the real COde
data, so they are not shipped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval_harness.errors import DataError, UsageError

REGISTRY = "registry.json"
DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "checkpoints"


@dataclass(frozen=True)
class Checkpoint:
    name: str
    model: str  # a local folder, or the base hub id / folder of an adapter
    adapter: str | None  # LoRA adapter folder, when the entry is one
    entry: dict[str, Any]

    @property
    def model_args(self) -> dict[str, str]:
        """Backend settings the weights were trained with (e.g. the tiny demo's image
        budget); explicit --model-args override them."""
        return {k: str(v) for k, v in self.entry.get("model_args", {}).items()}


def registry_folder() -> Path:
    from eval_harness.settings import Settings

    return Settings.from_env().checkpoints or DEFAULT_FOLDER


def load_registry(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    folder = folder or registry_folder()
    path = folder / REGISTRY
    if not path.is_file():
        raise DataError.single(str(path), "no checkpoint registry here",
                               fix="set CODEBENCH_CHECKPOINTS to the folder of registry.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError.single(str(path), f"not JSON: {err.msg}", line=err.lineno) from None
    entries = data.get("checkpoints")
    if not isinstance(entries, dict):
        raise DataError.single(str(path), 'needs a "checkpoints" object of name -> entry')
    for name, entry in entries.items():
        if not isinstance(entry, dict) or ("model" in entry) == ("adapter" in entry):
            raise DataError.single(str(path), f"checkpoint {name!r} needs exactly one of "
                                   '"model" (a folder) and "adapter" (with "base")')
        if "adapter" in entry and not entry.get("base"):
            raise DataError.single(str(path), f"checkpoint {name!r}: an adapter needs its "
                                   '"base"')
    return entries


def resolve_checkpoint(name: str, folder: Path | None = None) -> Checkpoint:
    folder = folder or registry_folder()
    entries = load_registry(folder)
    if name not in entries:
        raise UsageError(f"unknown checkpoint {name!r}; the registry ({folder / REGISTRY}) "
                         f"has: {', '.join(sorted(entries))}")
    entry = entries[name]
    local = folder / (entry.get("model") or entry["adapter"])
    weights = ("model.safetensors", "model.safetensors.index.json") if "model" in entry \
        else ("adapter_model.safetensors",)
    if not any((local / w).is_file() for w in weights):
        raise DataError.single(
            str(local), f"checkpoint {name!r} has no weights here (they are not shipped)",
            fix=f"train them with: {entry.get('command', 'see checkpoints/README.md')}")
    if "model" in entry:
        return Checkpoint(name, str(local), None, entry)
    return Checkpoint(name, str(entry["base"]), str(local), entry)
