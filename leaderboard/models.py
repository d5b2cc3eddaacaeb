"""Model submissions: a spec the worker runs through the harness on a board's checkups.

A spec is ``{"backend": "hf" | "openai", "model_args": {...}, "tasks": [...]}`` with the
harness's own ``--model-args`` (``checkpoint=NAME`` from the registry, ``model=`` a local
folder or cached hub id, ``adapter=`` a LoRA folder; ``base_url=``/``model=`` for an
OpenAI-compatible endpoint). Checked before it is stored: weights must be safetensors,
remote code is never run (``trust_remote_code`` is refused, and so is a config whose
``auto_map`` points at code), and a secret in the spec is refused: the endpoint's key
comes from the worker's environment, so it never reaches the database or a page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from eval_harness.errors import DataError, UsageError

BACKENDS = ("hf", "openai")
HF_ARGS = {"checkpoint", "model", "adapter", "merge", "dtype", "max_pixels", "cls_mode"}
OPENAI_ARGS = {"base_url", "model", "concurrency", "max_retries", "timeout", "temperature",
               "max_pixels", "seed"}
DEFAULT_TASKS = ("code_cls", "code_report")
#: Boards whose checkups (images included) this server can run a model on.
RUNNABLE_BOARDS = ("synthetic-demo",)


class SpecError(Exception):
    """Why a model spec is refused (one plain sentence)."""


def _refuse_remote_code(folder: Path) -> None:
    config = folder / "config.json"
    if config.is_file() and "auto_map" in json.loads(config.read_text(encoding="utf-8")):
        raise SpecError(f"{folder}: its config.json maps classes to code in the repository "
                        "(auto_map); remote code is never run")


def _check_hf(args: dict[str, str]) -> None:
    from eval_harness.models.checkpoints import resolve_checkpoint
    from eval_harness.models.hf import resolve_model_folder

    if ("checkpoint" in args) == ("model" in args):
        raise SpecError("an hf spec names either checkpoint=NAME or model=FOLDER_OR_HUB_ID")
    try:
        if "checkpoint" in args:
            checkpoint = resolve_checkpoint(args["checkpoint"])
            folder, _ = resolve_model_folder(checkpoint.model)
        else:
            folder, _ = resolve_model_folder(args["model"])
        _refuse_remote_code(folder)
        if "adapter" in args:
            adapter = Path(args["adapter"])
            if not (adapter / "adapter_model.safetensors").is_file():
                raise SpecError(f"adapter {adapter}: no adapter_model.safetensors (pickle "
                                "adapters are refused)")
    except (DataError, UsageError) as error:
        raise SpecError(str(error).splitlines()[0]) from None


def check_spec(spec: Any, board: str) -> dict[str, Any]:
    """The spec, normalised, or SpecError naming what is wrong."""
    from eval_harness.tasks import task_names

    if not isinstance(spec, dict):
        raise SpecError("a model spec is a JSON object")
    backend, args = spec.get("backend"), spec.get("model_args") or {}
    if backend not in BACKENDS:
        raise SpecError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    if not isinstance(args, dict) or not all(isinstance(k, str) and isinstance(v, str | int |
                                                                               float)
                                             for k, v in args.items()):
        raise SpecError("model_args maps names to plain values")
    lowered = {k.lower() for k in args}
    if "trust_remote_code" in lowered:
        raise SpecError("trust_remote_code is refused: submitted models never run remote code")
    if any("key" in k or "token" in k or "secret" in k for k in lowered):
        raise SpecError("secrets are never part of a submission: the worker's environment "
                        "holds the endpoint's key")
    allowed = HF_ARGS if backend == "hf" else OPENAI_ARGS
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise SpecError(f"unknown model_args for {backend}: {', '.join(unknown)}")
    tasks = list(spec.get("tasks") or DEFAULT_TASKS)
    if not tasks or any(t not in task_names() for t in tasks):
        raise SpecError(f"tasks must be among {', '.join(task_names())}")
    if board not in RUNNABLE_BOARDS:
        raise SpecError(f"this server cannot run models on {board} (its images are not "
                        f"here); boards that take models: {', '.join(RUNNABLE_BOARDS)}")
    args = {k: str(v) for k, v in args.items()}
    if backend == "hf":
        _check_hf(args)
    else:
        url = urlparse(args.get("base_url", ""))
        if url.scheme not in ("http", "https") or not url.netloc or "model" not in args:
            raise SpecError("an openai spec needs base_url=http(s)://... and model=NAME")
    return {"backend": backend, "model_args": args, "tasks": tasks}


def evaluate(spec: dict[str, Any], board: str, options):
    """Run a checked spec on the board's test checkups through the harness."""
    from eval_harness import api
    from eval_harness.models.registry import create_model
    from eval_harness.settings import Settings

    split = api.load_split(Settings.from_env().data_dir, "test", "en")
    train = [c for c in split.everything if c.split == "train"]
    backend = create_model(spec["backend"], dict(spec["model_args"]), train, 0)
    return api.evaluate_model(backend, split.checkups, spec["tasks"], options)
