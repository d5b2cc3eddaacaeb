"""A fake OpenAI chat-completions server on 127.0.0.1, with scripted faults, for tests.

    with FakeOpenAIServer(latency=0.1, script=first_n(2, Fault(429, retry_after="0"))) as srv:
        backend = OpenAIBackend("m", base_url=srv.base_url)
        ...
        srv.requests       # what arrived (headers, parsed JSON body, arrival index)
        srv.max_in_flight  # peak number of requests being handled at once

A ``script`` is called once per arriving request with (1-based arrival index, JSON
body) and returns a ``Fault`` to inject or None to answer normally. ``first_n``,
``when_text`` and ``when_model`` build the common ones; faults keyed on the prompt text
or the model name stay deterministic under concurrency, where arrival order is not.
``Fault(echo_authorization=True)`` quotes the key the client sent back in the error.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SERVED_MODEL = "fake-vlm-2026-01-01"
FINGERPRINT = "fp_fake0001"


@dataclass(frozen=True)
class Fault:
    """What to do instead of answering: an HTTP error status, or a stall."""

    status: int = 500
    retry_after: str | None = None  # Retry-After header value, if any
    stall: bool = False  # sleep `stall_s` before answering (longer than the client timeout)
    message: str = "injected fault"
    # Quote the request's Authorization header back in the error body, as real servers
    # sometimes do ("Incorrect API key provided: ..."): redaction tests need a leaky server.
    echo_authorization: bool = False


@dataclass(frozen=True)
class Received:
    index: int  # 1-based arrival order
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any]


Script = Callable[[int, dict[str, Any]], Fault | None]
Answer = Callable[[dict[str, Any]], str]


def first_n(n: int, fault: Fault) -> Script:
    """The first n requests to arrive get `fault`."""
    return lambda index, _body: fault if index <= n else None


def when_text(needle: str, fault: Fault, times: int | None = None) -> Script:
    """Requests whose user text contains `needle` get `fault` (the first `times` of them)."""
    lock = threading.Lock()
    seen = [0]

    def script(_index: int, body: dict[str, Any]) -> Fault | None:
        if needle not in user_text(body):
            return None
        with lock:
            seen[0] += 1
            hit = times is None or seen[0] <= times
        return fault if hit else None

    return script


def when_model(model: str, fault: Fault) -> Script:
    """Requests naming ``model`` get ``fault``."""
    return lambda _index, body: fault if body.get("model") == model else None


def combine(*scripts: Script) -> Script:
    """The first script that returns a fault wins."""
    def script(index: int, body: dict[str, Any]) -> Fault | None:
        for one in scripts:
            fault = one(index, body)
            if fault is not None:
                return fault
        return None

    return script


def user_text(body: dict[str, Any]) -> str:
    """The text parts of the last user message."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    if not users:
        return ""
    content = users[-1].get("content")
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content or [] if p.get("type") == "text")


def echo_text(body: dict[str, Any]) -> str:
    return f"echo: {user_text(body)}"


def echo_class(classes: list[str], default: str = "unknown") -> Answer:
    """Answer with the first class name found in the prompt (a perfect 'model')."""
    def answer(body: dict[str, Any]) -> str:
        text = user_text(body)
        return next((c for c in classes if c in text), default)

    return answer


class FakeOpenAIServer:
    def __init__(self, *, script: Script | None = None, answer: Answer = echo_text,
                 latency: float = 0.0, stall_s: float = 2.0, expected_key: str | None = None,
                 served_model: str = SERVED_MODEL, fingerprint: str = FINGERPRINT,
                 hold_until_in_flight: int = 0, hold_s: float = 10.0) -> None:
        self.script = script
        self.answer = answer
        self.latency = latency
        self.stall_s = stall_s
        self.expected_key = expected_key  # if set, other keys get 401
        self.served_model = served_model
        self.fingerprint = fingerprint
        self.requests: list[Received] = []
        self.max_in_flight = 0
        # Answers wait until this many requests were in flight at once (or hold_s passed):
        # a client that overlaps its requests releases them at once, one that does not
        # shows max_in_flight below it, however busy the machine.
        self.hold_until_in_flight, self.hold_s = hold_until_in_flight, hold_s
        self._in_flight = 0
        self._count = 0
        self._lock = threading.Lock()
        self._crowd = threading.Condition(self._lock)
        self._stop = threading.Event()  # wakes stalled handlers on shutdown
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)  # port 0: a free port
        self._httpd.daemon_threads = True  # a stalled handler must not block stop()
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- called from handler threads --------------------------------------------------

    def _arrive(self, received_path: str, headers: dict[str, str],
                body: dict[str, Any]) -> tuple[int, Fault | None]:
        with self._lock:
            self._count += 1
            index = self._count
            self.requests.append(Received(index, received_path, headers, body))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            self._crowd.notify_all()
        fault = self.script(index, body) if self.script else None
        return index, fault

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _completion(self, index: int, body: dict[str, Any]) -> dict[str, Any]:
        text = self.answer(body)
        prompt_tokens = len(json.dumps(body.get("messages", []))) // 4
        completion_tokens = max(1, len(text.split()))
        return {
            "id": f"chatcmpl-fake{index}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.served_model,
            "system_fingerprint": self.fingerprint,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer  # set on the per-server subclass
    protocol_version = "HTTP/1.1"  # keep-alive, like a real server

    def setup(self) -> None:
        super().setup()
        # Like uvicorn and vLLM: without TCP_NODELAY, the headers and the body go out as
        # two small writes and Nagle's algorithm meets the client's delayed ACK, adding
        # ~40 ms to every response on a keep-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self._send(400, {"error": {"message": "body is not JSON", "type": "invalid"}})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake = self.fake
        index, fault = fake._arrive(self.path, headers, body)
        try:
            self._handle(fake, index, body, headers, fault)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): expected in stall tests
        finally:
            fake._leave()

    def _handle(self, fake: FakeOpenAIServer, index: int, body: dict[str, Any],
                headers: dict[str, str], fault: Fault | None) -> None:
        if fake.expected_key is not None and \
                headers.get("authorization") != f"Bearer {fake.expected_key}":
            self._send(401, {"error": {"message": "Incorrect API key provided",
                                       "type": "invalid_request_error"}})
            return
        if fault is not None and fault.stall:
            if fake._stop.wait(fake.stall_s):
                return  # shutting down
        elif fault is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            message = fault.message
            if fault.echo_authorization:
                message += f" (you sent: {headers.get('authorization', 'no Authorization')})"
            self._send(fault.status, {"error": {"message": message, "type": "fault",
                                                "code": fault.status}}, extra)
            return
        if fake.hold_until_in_flight:
            with fake._crowd:
                fake._crowd.wait_for(
                    lambda: fake.max_in_flight >= fake.hold_until_in_flight, fake.hold_s)
        if fake.latency and fake._stop.wait(fake.latency):
            return
        self._send(200, fake._completion(index, body))

    def _send(self, status: int, payload: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
