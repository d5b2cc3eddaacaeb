"""Model submissions: a spec the worker runs through the harness on a board's checkups.

A spec is ``{"backend": "hf" | "openai", "model_args": {...}, "tasks": [...]}`` with the
harness's own ``--model-args`` (``checkpoint=NAME`` from the registry, ``model=`` a folder
or cached hub id, ``adapter=`` a LoRA folder or cached hub id; ``base_url=``/``model=`` for
an OpenAI-compatible endpoint). Checked before it is stored, and again by the worker before
it runs (a row written straight into the database gets no further):

* Folders: only under the operator's roots (``CODEBENCH_MODEL_ROOTS``, else the checkpoint
  registry's folder), symlinks resolved; a hub id only from this server's hub cache. Every
  other folder or name is refused with one sentence (``FOLDER_REFUSAL``) whatever exists
  there, so a submission cannot probe the disk.
* Endpoints: http(s) only, to the operator's own endpoint (``CODEBENCH_OPENAI_BASE_URL``,
  else api.openai.com) or a host on ``CODEBENCH_ALLOWED_ENDPOINTS``, compared by parsed,
  normalised host (lower-case, IDNA) and port; an IP address spelled any way not literally
  listed (decimal, octal, hex, IPv6) is refused. The backend follows no redirects.
* Weights must be safetensors, remote code is never run (``trust_remote_code`` is refused,
  and so is a folder whose configs' ``auto_map`` points at code), and a secret in the spec
  is refused.

The worker's ``OPENAI_API_KEY`` is sent only to the operator's endpoint; any other
``base_url`` gets no key, so a submission cannot collect it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from eval_harness.errors import DataError, UsageError
from eval_harness.settings import ALLOWED_ENDPOINTS, CHECKPOINTS, MODEL_ROOTS

BACKENDS = ("hf", "openai")
HF_ARGS = {"checkpoint", "model", "adapter", "merge", "dtype", "max_pixels", "cls_mode"}
OPENAI_ARGS = {"base_url", "model", "concurrency", "max_retries", "timeout", "temperature",
               "max_pixels", "seed"}
DEFAULT_TASKS = ("code_cls", "code_report")
#: Boards whose checkups (images included) this server can run a model on.
RUNNABLE_BOARDS = ("synthetic-demo",)


#: Every refusal of a folder (outside the roots, absent, unreadable, a symlink out): one
#: sentence, whatever is there, so a submission cannot probe the server's disk.
FOLDER_REFUSAL = ("not an allowed model location (an operator allows folders with "
                  f"{MODEL_ROOTS})")
ENDPOINT_REFUSAL = ("base_url is not an allowed endpoint (an operator allows endpoints with "
                    f"{ALLOWED_ENDPOINTS})")
SCHEME_REFUSAL = "an openai spec needs base_url=http(s)://... and model=NAME"
DEFAULT_PORTS = {"http": 80, "https": 443}
# A hub id as the hf backend tells one from a folder (eval_harness.models.hf._local_dir).
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
# A host name after IDNA: letters, digits, '-', '_' in dot-separated labels.
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
# The last label of an IPv4 spelling (decimal, octal or hex): no top-level domain is numeric.
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
# Nothing a parser may drop or read differently (urllib strips tabs, treats '\' as text).
_UNSAFE_URL = re.compile(r"[\s\x00-\x1f\x7f\\]")


class SpecError(Exception):
    """Why a model spec is refused (one plain sentence)."""


# -- endpoints ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Origin:
    """A URL's scheme, normalised host (lower-case, IDNA, no trailing dot; an IPv6 literal
    without brackets) and port (the scheme's default when absent)."""

    scheme: str
    host: str
    port: int
    literal: bool  # an IP address spelled some way (decimal, octal, hex, IPv6)


def _normal_host(host: str) -> tuple[str, bool] | None:
    """(normalised host, is an IP literal), or None when it cannot be a host."""
    if ":" in host:  # only an IPv6 literal holds a colon (urlsplit took the brackets off)
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
        return host.lower(), True
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    host = host.removesuffix(".")
    if not _HOST_NAME.fullmatch(host):
        return None
    return host, bool(_NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]))


def origin(url: str) -> Origin | None:
    """The URL's origin, or None for anything but a plain http(s) URL with a host."""
    if not isinstance(url, str) or _UNSAFE_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a malformed port or IPv6 literal
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or port == 0:
        return None
    host = _normal_host(parts.hostname)
    if host is None:
        return None
    return Origin(scheme, host[0], port or DEFAULT_PORTS[scheme], host[1])


def _same_in_httpx(url: str, seen: Origin) -> bool:
    """Whether the HTTP client the backend uses reads the same host and port (no parser
    differential between this check and the request)."""
    import httpx

    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii").lower().removesuffix(".")
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return False
    return (parsed.scheme, host, parsed.port or DEFAULT_PORTS.get(parsed.scheme)) == (
        seen.scheme, seen.host, seen.port)


def _allowed_by(pattern: str, seen: Origin) -> bool:
    """Whether one CODEBENCH_ALLOWED_ENDPOINTS entry (``host[:port]``, ``*.domain[:port]``,
    ``[v6]:port``, optionally with a scheme; no port: the scheme's default; ``:*``: any
    port) allows ``seen``. An IP literal is allowed only when spelled as in the entry."""
    text = pattern.strip().lower()
    scheme = None
    if "://" in text:
        scheme, text = text.split("://", 1)
    any_port = text.endswith(":*")
    text = text.removesuffix(":*")
    wildcard = text.startswith("*.")
    text = text.removeprefix("*.")
    try:
        parts = urlsplit(f"//{text}")
        port = parts.port
    except ValueError:
        return False
    if not parts.hostname or parts.path or parts.query or parts.username or port == 0:
        return False
    host = _normal_host(parts.hostname)
    if host is None or (wildcard and host[1]) or (scheme and scheme != seen.scheme):
        return False
    if not any_port and seen.port != (port or DEFAULT_PORTS[seen.scheme]):
        return False
    if seen.literal or host[1]:
        return not wildcard and seen.host == host[0]
    if wildcard:
        return seen.host.endswith("." + host[0])
    return seen.host == host[0]


def operator_endpoint() -> str:
    """The endpoint the worker's ``OPENAI_API_KEY`` belongs to."""
    from eval_harness.settings import Settings

    return Settings.from_env().openai_base_url or "https://api.openai.com/v1"


def is_operator_endpoint(url: str) -> bool:
    """Whether ``url`` has the origin of the operator's endpoint (which gets the key)."""
    seen, own = origin(url), origin(operator_endpoint())
    return seen is not None and seen == own


def check_endpoint(url: str) -> None:
    """SpecError unless ``url`` is the operator's endpoint or a host the operator allows
    (``CODEBENCH_ALLOWED_ENDPOINTS``); a submitter's credentials in it are refused too."""
    from eval_harness.redact import SECRET_NAME
    from eval_harness.settings import Settings

    seen = origin(url)
    if seen is None:
        raise SpecError(SCHEME_REFUSAL)
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None or any(
            map(SECRET_NAME.search, parse_qs(parts.query))):
        raise SpecError("secrets are never part of a submission: base_url takes no "
                        "user:password@ and no key in its query")
    if not _same_in_httpx(url, seen):
        raise SpecError(ENDPOINT_REFUSAL)
    if is_operator_endpoint(url):
        return
    if not any(_allowed_by(p, seen) for p in Settings.from_env().allowed_endpoints):
        raise SpecError(ENDPOINT_REFUSAL)


# -- folders -------------------------------------------------------------------------------

def _inside_roots(path: Path) -> Path:
    """The folder ``path`` names, resolved (symlinks followed), when it lies under one of
    the operator's roots; FOLDER_REFUSAL otherwise, whatever is (or is not) there."""
    from eval_harness.settings import Settings

    try:
        resolved = path.resolve()
        roots = [root.resolve() for root in Settings.from_env().allowed_model_roots()]
        inside = any(resolved.is_relative_to(root) for root in roots)
        exists = inside and resolved.is_dir()
    except (OSError, RuntimeError, ValueError):  # a loop, a NUL byte, a name too long
        raise SpecError(FOLDER_REFUSAL) from None
    if not inside:
        raise SpecError(FOLDER_REFUSAL)
    if not exists:
        raise SpecError("no such folder in the allowed model locations")
    return resolved


def _cached_hub(repo_id: str, patterns: tuple[str, ...]) -> Path:
    """A hub repo's snapshot in this server's hub cache (never downloaded here)."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, allow_patterns=list(patterns),
                                      local_files_only=True))
    except Exception:  # not cached, not a valid repo id, no hub client: all alike
        raise SpecError(FOLDER_REFUSAL) from None


def model_location(value: str, patterns: tuple[str, ...]) -> Path:
    """The local folder a ``model=``/``adapter=`` value loads from, read as the hf backend
    reads it (a folder when one is there, else a hub id): a folder under the operator's
    roots, or a hub id in the hub cache. Every other value is FOLDER_REFUSAL."""
    if not value.strip():
        raise SpecError(FOLDER_REFUSAL)
    try:
        path = Path(value).expanduser()
        local = path.is_dir()
    except (OSError, RuntimeError, ValueError):
        raise SpecError(FOLDER_REFUSAL) from None
    if local or not _HUB_ID.fullmatch(value):
        return _inside_roots(path)
    return _cached_hub(value, patterns)


def _refuse_remote_code(folder: Path, what: str) -> None:
    """Any config of the folder (model, tokenizer, processor) mapping classes to code."""
    for config in sorted(folder.glob("*.json")):
        try:
            content = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # not a config; loading it would fail on its own
        # peft writes "auto_mapping": null for ordinary adapters: only a mapping counts.
        if isinstance(content, dict) and (content.get("auto_map") or
                                          content.get("auto_mapping")):
            raise SpecError(f"{what}: its {config.name} maps classes to code in the "
                            "repository (auto_map); remote code is never run")


def _check_model(value: str) -> None:
    from eval_harness.models.hf import MODEL_PATTERNS

    folder = model_location(value, MODEL_PATTERNS)
    if not any(folder.glob("*.safetensors")):
        raise SpecError("the model folder has no .safetensors weights; pickle weights are "
                        "refused")
    _refuse_remote_code(folder, "the model folder")


def _check_adapter(value: str) -> None:
    from eval_harness.models.hf import ADAPTER_FILES, ADAPTER_WEIGHTS

    folder = model_location(value, ADAPTER_FILES)
    if not (folder / ADAPTER_WEIGHTS).is_file():
        raise SpecError(f"the adapter has no {ADAPTER_WEIGHTS} (pickle adapters are refused)")
    _refuse_remote_code(folder, "the adapter")


def _check_hf(args: dict[str, str]) -> None:
    from eval_harness.models.checkpoints import load_registry, resolve_checkpoint

    if ("checkpoint" in args) == ("model" in args):
        raise SpecError("an hf spec names either checkpoint=NAME or model=FOLDER_OR_HUB_ID")
    if "checkpoint" not in args:
        _check_model(args["model"])
        if "adapter" in args:
            _check_adapter(args["adapter"])
        return
    if "adapter" in args:
        raise SpecError("checkpoint=NAME names the weights; drop adapter=")
    name = args["checkpoint"]
    try:
        names = sorted(load_registry())
    except DataError:
        raise SpecError("this server has no checkpoint registry (an operator points "
                        f"{CHECKPOINTS} at the folder of registry.json)") from None
    if name not in names:
        raise SpecError(f"unknown checkpoint {name!r}; the registry has: {', '.join(names)}")
    try:
        checkpoint = resolve_checkpoint(name)
    except (DataError, UsageError):
        raise SpecError(f"checkpoint {name!r} has no weights on this server (they are not "
                        "shipped)") from None
    # The registry's folders are checked like a submitter's: under the roots.
    _check_model(checkpoint.model)
    if checkpoint.adapter:
        _check_adapter(checkpoint.adapter)


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
        if "model" not in args:
            raise SpecError(SCHEME_REFUSAL)
        check_endpoint(args.get("base_url", ""))
    return {"backend": backend, "model_args": args, "tasks": tasks}


def evaluate(spec: dict[str, Any], board: str, options):
    """Run a stored spec on the board's test checkups through the harness's one evaluation
    path (``api.evaluate_on``: the run command's response cache and prompt options), after
    checking it again (UsageError, a stored failure, when it is refused now)."""
    from eval_harness import api
    from eval_harness.settings import Settings

    try:
        spec = check_spec(spec, board)
    except SpecError as error:
        raise UsageError(f"the stored model spec is refused: {error}") from None
    args = dict(spec["model_args"])
    if spec["backend"] == "openai" and not is_operator_endpoint(args["base_url"]):
        args["api_key_env"] = ""  # the operator's key never goes to a submitter's server
    split = api.load_split(Settings.from_env().data_dir, "test", "en")
    return api.evaluate_on(split, spec["backend"], args, spec["tasks"], options)
