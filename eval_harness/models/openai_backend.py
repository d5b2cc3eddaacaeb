"""A backend for any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, a fake server).

Design choices, and why:

* The API key is read only from an environment variable (``api_key_env``) and is
  kept only inside the SDK client: never on ``self``, never in ``describe()``, logs,
  ``repr`` or ``Response.error``: error text passes through ``eval_harness.redact``
  (the client's key, secret-looking environment values, ``sk-``/``Bearer`` shapes)
  before it is logged or stored, since servers sometimes quote the key they were sent.
* Missing key: a ``SettingError`` (a ``ValueError``, and a ``UsageError`` so the command
  line says it in one line, exit 2) naming the variable, unless ``base_url`` points at a
  loopback host (127.0.0.1 / localhost / ::1). Local servers (vLLM, the test fake)
  usually do not authenticate, so a dummy key ``"EMPTY"`` is sent there instead.
  ``api_key_env=""`` sends only that dummy, wherever the server is: the leaderboard
  worker runs endpoints chosen by submitters so, and the operator's key never reaches them.
* Redirects are never followed (the SDK's default client follows them): a 3xx fails the
  request at once, so an endpoint cannot send requests, and images, to another address.
* The SDK's own retries are off (``max_retries=0``): we retry ourselves so the
  number of retries per sample can be recorded in ``Response.meta["retries"]``.
* Retried: 429, 5xx, timeouts and connection errors, with exponential backoff and
  jitter; a ``Retry-After`` (or ``retry-after-ms``) header wins over the computed
  delay but is capped at ``backoff_max`` so one server cannot stall a run for hours.
  Any other 4xx is a bug in the request (bad model name, oversized prompt, bad key)
  and retrying cannot fix it, so it fails at once.
* Concurrency: ``concurrency`` daemon threads over the batch. The sync SDK client is
  thread-safe and pools connections; threads keep this simple and also parallelise the
  image encoding. ``generate_unordered`` yields answers as they finish, so the runner
  hands over the whole run at once and caches as answers come. The threads are daemons
  and take no new request once the consumer stops (Ctrl-C, a deadline, an error): a
  request blocked on a server that never answers cannot keep the process from exiting.
* ``timeout`` is the SDK (httpx) timeout: it bounds connect, each read and each
  write of one attempt, not the sum of all retries. ``deadline`` (seconds, default 2 h)
  bounds one whole ``generate_unordered`` call: past it, every request not yet answered
  fails with "deadline passed", and nothing more is sent.
* Images go through ``data.images.model_image``, the same resize as the ``hf``
  backend, and are sent as PNG by default: lossless, so the server decodes exactly the
  pixels ``hf`` would feed its processor for the same request. ``image_format=jpeg``
  (quality 90) sends ~10x fewer bytes at the price of JPEG artefacts; it is recorded
  in ``describe()``, so the two never share cached answers.
"""

from __future__ import annotations

import base64
import email.utils
import io
import logging
import os
import queue
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from eval_harness.data.images import model_image
from eval_harness.errors import DataError, UsageError
from eval_harness.models.base import Request, Response
from eval_harness.redact import redact
from eval_harness.settings import OPENAI_BASE_URL, Settings

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

BASE_URL_ENV = OPENAI_BASE_URL
LOCAL_DUMMY_KEY = "EMPTY"  # what vLLM's docs use for an unauthenticated local server
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_JPEG_QUALITY = 90
IMAGE_FORMATS = ("png", "jpeg")
_MAX_ERROR_CHARS = 200  # Response.error is a short reason, not a server's whole body


class SettingError(UsageError, ValueError):
    """A bad setting or a missing key: the user's to fix, so the command line prints it
    as one line (UsageError, exit 2) instead of a bug's traceback; still a ValueError for
    library callers that catch that."""


class OpenAIBackend:
    """Chat completions over HTTP, one request per sample, images as data URLs."""

    def __init__(self, model: str, base_url: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", concurrency: int = 8,
                 max_retries: int = 5, timeout: float = 60.0, backoff_base: float = 0.5,
                 backoff_max: float = 20.0, temperature: float = 0.0,
                 max_pixels: int | None = None, seed: int | None = None,
                 image_format: str = "png", deadline: float = 7200.0) -> None:
        import openai  # heavy: imported only when this backend is actually used

        if concurrency < 1:
            raise SettingError(f"concurrency must be >= 1, got {concurrency}")
        if max_retries < 0:
            raise SettingError(f"max_retries must be >= 0, got {max_retries}")
        if deadline <= 0:
            raise SettingError(f"deadline must be positive, got {deadline}")
        if image_format not in IMAGE_FORMATS:
            raise SettingError(f"image_format must be one of {IMAGE_FORMATS}, "
                             f"got {image_format!r}")
        self.model = model
        self.base_url = base_url or Settings.from_env().openai_base_url
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout = timeout
        self.deadline = deadline
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.temperature = temperature
        self.max_pixels = max_pixels
        self.seed = seed
        self.image_format = image_format

        key = _api_key_from_env(api_key_env, self.base_url)
        self._openai = openai
        # The SDK's own client follows redirects; this one never does, so an endpoint (a
        # submitter's, allowed by host) cannot send the worker's requests anywhere else.
        self._client = openai.OpenAI(api_key=key, base_url=self.base_url, timeout=timeout,
                                     max_retries=0, http_client=openai.DefaultHttpxClient(
                                         timeout=timeout, follow_redirects=False))
        self._rng = random.Random()  # jitter only; not part of any result
        self._rng_lock = threading.Lock()

    def __repr__(self) -> str:
        # Explicit so that no future attribute (or the client) leaks the key via repr.
        # Host only: a base URL may carry userinfo credentials.
        base_url = _host_only(self.base_url) if self.base_url else None
        return (f"OpenAIBackend(model={self.model!r}, base_url={base_url!r}, "
                f"api_key_env={self.api_key_env!r}, concurrency={self.concurrency})")

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "openai",
            "name": self.model,
            "base_url": _host_only(str(self._client.base_url)),
            "decoding": {"temperature": self.temperature, "max_tokens": "per task",
                         "seed": self.seed, "max_pixels": self.max_pixels or "per task",
                         "image_format": self.image_format},
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
        }

    def generate(self, batch: list[Request]) -> list[Response]:
        out: list[Response | None] = [None] * len(batch)
        for index, response in self.generate_unordered(batch):
            out[index] = response
        return out  # type: ignore[return-value]  # every index was filled

    def generate_unordered(self, batch: list[Request]) -> Iterator[tuple[int, Response]]:
        """(index, response) as each request finishes: the runner caches answers as they
        come, with no wave of workers waiting on the slowest request of a batch."""
        if not batch:
            return
        workers = min(self.concurrency, len(batch))
        todo: queue.SimpleQueue[tuple[int, Request]] = queue.SimpleQueue()
        for pair in enumerate(batch):
            todo.put(pair)
        done: queue.SimpleQueue[tuple[int, Response]] = queue.SimpleQueue()
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    index, request = todo.get_nowait()
                except queue.Empty:
                    return
                done.put((index, self._generate_one(request)))

        for n in range(workers):
            threading.Thread(target=serve, name=f"openai-{n}", daemon=True).start()
        end = time.monotonic() + self.deadline
        answered: set[int] = set()
        try:
            while len(answered) < len(batch):
                try:
                    index, response = done.get(timeout=max(0.0, end - time.monotonic()))
                except queue.Empty:  # the deadline passed: the rest fail, nothing more sent
                    stop.set()
                    reason = f"deadline passed ({self.deadline:g} s for the whole batch)"
                    for index in range(len(batch)):
                        if index not in answered:
                            yield index, Response(text=None, failed=True, error=reason,
                                                  meta={"retries": 0})
                    return
                answered.add(index)
                yield index, response
        finally:
            # Interrupted (Ctrl-C, a killed consumer) or done: no thread takes another
            # request; those in flight end with their own timeout, as daemons.
            stop.set()

    # -- one request ---------------------------------------------------------------

    def _generate_one(self, request: Request) -> Response:
        try:
            messages = self._messages(request)
        except DataError as err:
            return Response(text=None, failed=True, error=self._short(f"image: {err}"),
                            meta={"retries": 0})
        params = self._params(request, messages)
        retries = 0
        while True:
            try:
                completion = self._client.chat.completions.create(**params)
            except self._openai.APIError as err:
                retryable, reason, retry_after = self._classify(err)
                if not retryable or retries >= self.max_retries:
                    if retryable:
                        reason += f" after {retries} retries"
                    log.warning("sample %s failed: %s", request.sample_id, reason)
                    return Response(text=None, failed=True, error=reason,
                                    meta={"retries": retries})
                delay = self._delay(retries, retry_after)
                log.info("sample %s: %s, retry %d in %.2fs", request.sample_id, reason,
                         retries + 1, delay)
                time.sleep(delay)
                retries += 1
                continue
            return self._response(completion, retries)

    def _params(self, request: Request, messages: list[dict[str, Any]]) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model, "messages": messages,
                                  "temperature": self.temperature,
                                  "max_tokens": request.max_new_tokens}
        if self.seed is not None:
            params["seed"] = self.seed
        return params

    def _messages(self, request: Request) -> list[dict[str, Any]]:
        max_pixels = self.max_pixels or request.max_pixels
        content: list[dict[str, Any]] = [
            {"type": "image_url", "image_url": {"url": _data_url(
                path, max_pixels, request.sample_id, self.image_format)}}
            for path in request.images
        ]
        content.append({"type": "text", "text": request.text})
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": content})
        return messages

    def _response(self, completion: Any, retries: int) -> Response:
        choice = completion.choices[0] if completion.choices else None
        text = choice.message.content if choice is not None else None
        meta: dict[str, Any] = {
            "served_model": completion.model,
            "system_fingerprint": getattr(completion, "system_fingerprint", None),
            "retries": retries,
            "usage": completion.usage.model_dump() if completion.usage else None,
            "finish_reason": choice.finish_reason if choice is not None else None,
        }
        if text is None:
            # e.g. a refusal or content filter: nothing to score, so count it failed.
            reason = f"empty response (finish_reason={meta['finish_reason']})"
            return Response(text=None, failed=True, error=reason, meta=meta)
        return Response(text=text, meta=meta)

    # -- errors and retries ----------------------------------------------------------

    def _classify(self, err: Exception) -> tuple[bool, str, float | None]:
        """(retryable?, short redacted reason, Retry-After seconds if the server sent one)."""
        openai = self._openai
        if isinstance(err, openai.APITimeoutError):
            return True, f"timeout ({self.timeout:g}s)", None
        if isinstance(err, openai.APIConnectionError):
            return True, self._short(f"connection error: {err}"), None
        if isinstance(err, openai.APIStatusError):
            status = err.status_code
            if 300 <= status < 400:
                return False, f"HTTP {status}: redirects are not followed (base_url must be " \
                              "the endpoint itself)", None
            retryable = status == 429 or status >= 500
            retry_after = _retry_after(err.response.headers) if retryable else None
            return retryable, self._short(f"HTTP {status}: {_error_message(err)}"), retry_after
        # Other APIError subclasses (e.g. a malformed body) are not transient.
        return False, self._short(f"{type(err).__name__}: {err}"), None

    def _delay(self, retries: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.backoff_max)
        cap = min(self.backoff_max, self.backoff_base * 2 ** retries)
        with self._rng_lock:
            jitter = self._rng.uniform(0.5, 1.0)  # spread retries so workers don't stampede
        return cap * jitter

    def _short(self, text: str) -> str:
        secret = self._client.api_key  # the only copy of the key lives in the client
        text = redact(text, [secret] if secret != LOCAL_DUMMY_KEY else [])
        text = " ".join(text.split())
        return text if len(text) <= _MAX_ERROR_CHARS else text[:_MAX_ERROR_CHARS - 3] + "..."


# -- helpers -----------------------------------------------------------------------------

def _api_key_from_env(env: str, base_url: str | None) -> str:
    if not env:  # asked to send no key (e.g. to an endpoint a submitter chose)
        return LOCAL_DUMMY_KEY
    key = os.environ.get(env, "").strip()
    if key:
        return key
    if base_url and _is_loopback(base_url):
        return LOCAL_DUMMY_KEY
    raise SettingError(f"environment variable {env} is not set: export {env}=<your key> "
                     f"(keys are read only from the environment; a local server on "
                     f"127.0.0.1/localhost needs none)")


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in _LOOPBACK_HOSTS


def _host_only(url: str) -> str:
    """scheme://host[:port]: no path, query or userinfo (which could hold credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def _error_message(err: Any) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(err, "message", "")) or type(err).__name__


def _retry_after(headers: Any) -> float | None:
    """Seconds from retry-after-ms, or Retry-After as seconds or an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


def _data_url(path: Path, max_pixels: int, checkup_id: str, image_format: str) -> str:
    # Each checkup is sent once per task: encode its images once. The key includes the
    # file's mtime and size so an edited image is re-read; errors are never cached.
    stat = path.stat() if path.is_file() else None
    if stat is None:
        return encode_image(path, max_pixels, checkup_id, image_format)
    return _encode_cached(path, stat.st_mtime_ns, stat.st_size, max_pixels, checkup_id,
                          image_format)


@lru_cache(maxsize=512)
def _encode_cached(path: Path, mtime_ns: int, size: int, max_pixels: int,
                   checkup_id: str, image_format: str) -> str:
    return encode_image(path, max_pixels, checkup_id, image_format)


def encode_image(path: Path, max_pixels: int, checkup_id: str, image_format: str = "png") -> str:
    """A data URL of the image the model sees (the shared ``model_image`` resize)."""
    image = model_image(path, max_pixels, checkup_id=checkup_id)
    buffer = io.BytesIO()
    if image_format == "jpeg":
        image.save(buffer, format="JPEG", quality=_JPEG_QUALITY)
    else:
        image.save(buffer, format="PNG")
    return f"data:image/{image_format};base64," + base64.b64encode(buffer.getvalue()).decode(
        "ascii")
