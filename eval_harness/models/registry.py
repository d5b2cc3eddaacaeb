"""Model registry: a name → a factory; backends are imported only when chosen."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
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

    return PredictionsBackend(args["path"])


def _majority(args: dict[str, str], train: list[Checkup], seed: int) -> ModelBackend:
    from eval_harness.models.baselines import MajorityBackend

    return MajorityBackend(train)


def _random(args: dict[str, str], train: list[Checkup], seed: int) -> ModelBackend:
    from eval_harness.models.baselines import RandomBackend

    return RandomBackend(train, seed)


MODELS: dict[str, Callable[[dict[str, str], list[Checkup], int], ModelBackend]] = {
    "hf": _hf, "openai": _openai, "predictions": _predictions,
    "majority": _majority, "random": _random,
}


def _constructor_keys(backend: type) -> tuple[list[str], list[str]]:
    """A backend constructor's keyword names, (required, all) in signature order: read
    from the code so the keys an error lists never drift from what the backend takes."""
    params = [p for p in inspect.signature(backend).parameters.values()
              if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return [p.name for p in params if p.default is p.empty], [p.name for p in params]


def model_arg_keys(name: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """The ``--model-args`` keys of the registry's model ``name`` and what must be given
    (each entry: one of those keys). Imports the backend's module, never its weights."""
    if name == "hf":
        from eval_harness.models.hf import HFBackend

        required, keys = _constructor_keys(HFBackend)
        # checkpoint=NAME (checkpoints/registry.json) stands for model= and adapter=.
        return [*keys, "checkpoint"], [("model", "checkpoint") if k == "model" else (k,)
                                       for k in required]
    if name == "openai":
        from eval_harness.models.openai_backend import OpenAIBackend

        required, keys = _constructor_keys(OpenAIBackend)
    elif name == "predictions":
        from eval_harness.models.file_backend import PredictionsBackend

        required, keys = _constructor_keys(PredictionsBackend)
    else:  # the baselines take the train split and the seed, nothing from the user
        required, keys = [], []
    return keys, [(k,) for k in required]


def check_model_args(name: str, args: Mapping[str, str]) -> None:
    """A key the backend does not take, or one it needs, as one UsageError that lists its
    keys: before any data or weights load (the constructor's TypeError would otherwise
    surface as a crash, or after minutes of loading)."""
    keys, required = model_arg_keys(name)
    unknown = [k for k in args if k not in keys]
    if unknown and not keys:
        raise UsageError(f"--model {name} takes no --model-args (got {', '.join(unknown)})")
    if unknown:
        close = difflib.get_close_matches(unknown[0], keys, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"--model {name}: unknown --model-args key {unknown[0]!r}{hint}; "
                         f"its keys: {', '.join(keys)}")
    for choices in required:
        if not set(choices) & set(args):
            raise UsageError(f"--model {name} needs --model-args "
                             f"{' or '.join(f'{k}=...' for k in choices)} "
                             f"(its keys: {', '.join(keys)})")


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
    check_model_args(name, args)
    try:
        return MODELS[name](args, train, seed)
    except TypeError as err:
        if "unexpected keyword" not in str(err):
            raise  # a bug, not a user error
        raise UsageError(f"--model {name}: bad --model-args ({err})") from None
