"""Model registry: a name → a factory; backends are imported only when chosen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eval_harness.data.checkup import Checkup
from eval_harness.errors import UsageError
from eval_harness.models.base import ModelBackend


def _hf(args: dict[str, str], train: list[Checkup], seed: int) -> ModelBackend:
    from eval_harness.models.hf import HFBackend

    args = dict(args)
    if "checkpoint" in args:  # a registry name: checkpoints/registry.json
        from eval_harness.models.checkpoints import resolve_checkpoint

        clash = {"model", "adapter"} & set(args)
        if clash:
            raise UsageError(f"--model-args checkpoint= names the weights; drop "
                             f"{', '.join(sorted(clash))}=")
        checkpoint = resolve_checkpoint(args.pop("checkpoint"))
        args = {**checkpoint.model_args, **args, "model": checkpoint.model}
        if checkpoint.adapter:
            args["adapter"] = checkpoint.adapter
    return HFBackend(**_typed(args, {"merge": bool, "max_pixels": int}))


def _openai(args: dict[str, str], train: list[Checkup], seed: int) -> ModelBackend:
    from eval_harness.models.openai_backend import OpenAIBackend

    return OpenAIBackend(**_typed(args, {"concurrency": int, "max_retries": int,
                                         "timeout": float, "temperature": float,
                                         "max_pixels": int, "seed": int}))


def _predictions(args: dict[str, str], train: list[Checkup], seed: int) -> ModelBackend:
    from eval_harness.models.file_backend import PredictionsBackend

    if set(args) != {"path"}:
        raise UsageError("--model predictions needs --model-args path=FILE.jsonl")
    return PredictionsBackend(args["path"])


def _majority(args: dict[str, str], train: list[Checkup], seed: int) -> ModelBackend:
    from eval_harness.models.baselines import MajorityBackend

    _no_args("majority", args)
    return MajorityBackend(train)


def _random(args: dict[str, str], train: list[Checkup], seed: int) -> ModelBackend:
    from eval_harness.models.baselines import RandomBackend

    _no_args("random", args)
    return RandomBackend(train, seed)


MODELS: dict[str, Callable[[dict[str, str], list[Checkup], int], ModelBackend]] = {
    "hf": _hf, "openai": _openai, "predictions": _predictions,
    "majority": _majority, "random": _random,
}


def _no_args(name: str, args: dict[str, str]) -> None:
    if args:
        raise UsageError(f"--model {name} takes no --model-args (got {', '.join(args)})")


def _typed(args: dict[str, str], types: dict[str, type]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in args.items():
        kind = types.get(key, str)
        try:
            out[key] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
        except ValueError:
            raise UsageError(f"--model-args {key}={value!r} is not a {kind.__name__}") from None
    return out


def parse_model_args(text: str | None) -> dict[str, str]:
    """"k=v,k2=v2" → dict; a malformed pair is a one-line error."""
    out: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--model-args entry {pair!r} is not key=value")
        out[key.strip()] = value.strip()
    return out


def create_model(name: str, args: dict[str, str], train: list[Checkup],
                 seed: int) -> ModelBackend:
    if name not in MODELS:
        raise UsageError(f"unknown model {name!r}; use one of: {', '.join(MODELS)}")
    try:
        return MODELS[name](args, train, seed)
    except TypeError as err:
        if "unexpected keyword" not in str(err):
            raise  # a bug, not a user error
        raise UsageError(f"--model {name}: bad --model-args ({err})") from None
