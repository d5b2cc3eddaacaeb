"""Model submissions: a spec the worker runs through the harness on a board's checkups.

A spec is ``{"backend": "hf" | "openai", "model_args": {...}, "tasks": [...]}`` with the
harness's own ``--model-args`` (``checkpoint=NAME`` from the registry, ``model=`` a local
folder or cached hub id, ``adapter=`` a LoRA folder; ``base_url=``/``model=`` for an
OpenAI-compatible endpoint). Checked before it is stored, and again by the worker before
it runs (a row written straight into the database gets no further): weights must be
safetensors, remote code is never run (``trust_remote_code`` is refused, and so is a
folder whose configs' ``auto_map`` points at code), and a secret in the spec is refused.
The worker's ``OPENAI_API_KEY`` is sent only to the endpoint its operator configured
(``CODEBENCH_OPENAI_BASE_URL``, else api.openai.com); any other ``base_url`` a submitter
names gets no key, so a submission cannot collect it.
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
    """Any config of the folder (model, tokenizer, processor) mapping classes to code."""
    for config in sorted(folder.glob("*.json")):
        try:
            content = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # not a config; loading it would fail on its own
        # peft writes "auto_mapping": null for ordinary adapters: only a mapping counts.
        if isinstance(content, dict) and (content.get("auto_map") or
                                          content.get("auto_mapping")):
            raise SpecError(f"{folder}: its {config.name} maps classes to code in the "
                            "repository (auto_map); remote code is never run")


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
            _refuse_remote_code(adapter)
    except (DataError, UsageError) as error:
        raise SpecError(str(error).splitlines()[0]) from None


def check_spec(spec: Any, board: str) -> dict[str, Any]:
    """The spec, normalised, or SpecError naming what is wrong."""
    from eval_harness.tasks import task_names

    if not isinstance(spec, dict):
        raise SpecError("a model spec is a JSON object")
    if any(str(k).lower() == "trust_remote_code" for k in spec):
        raise SpecError("trust_remote_code is refused: submitted models never run remote code")
    extra = sorted(set(map(str, spec)) - {"backend", "model_args", "tasks"})
    if extra:
        raise SpecError(f"unknown spec fields: {', '.join(extra)} (a spec has backend, "
                        "model_args and tasks)")
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
        from urllib.parse import parse_qs

        from eval_harness.redact import SECRET_NAME

        if url.username or url.password or any(map(SECRET_NAME.search, parse_qs(url.query))):
            raise SpecError("secrets are never part of a submission: base_url takes no "
                            "user:password@ and no key in its query")
    return {"backend": backend, "model_args": args, "tasks": tasks}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlparse(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def operator_endpoint() -> str:
    """The endpoint the worker's ``OPENAI_API_KEY`` belongs to."""
    from eval_harness.settings import Settings

    return Settings.from_env().openai_base_url or "https://api.openai.com/v1"


def evaluate(spec: dict[str, Any], board: str, options):
    """Run a stored spec on the board's test checkups through the harness, after checking
    it again (UsageError, a stored failure, when it is refused now)."""
    from eval_harness import api
    from eval_harness.models.registry import create_model
    from eval_harness.settings import Settings

    try:
        spec = check_spec(spec, board)
    except SpecError as error:
        raise UsageError(f"the stored model spec is refused: {error}") from None
    args = dict(spec["model_args"])
    if spec["backend"] == "openai" and _origin(args["base_url"]) != _origin(
            operator_endpoint()):
        args["api_key_env"] = ""  # the operator's key never goes to a submitter's server
    split = api.load_split(Settings.from_env().data_dir, "test", "en")
    train = [c for c in split.everything if c.split == "train"]
    backend = create_model(spec["backend"], args, train, 0)
    return api.evaluate_model(backend, split.checkups, spec["tasks"], options,
                              dataset_name=split.references.name)
