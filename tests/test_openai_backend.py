"""OpenAIBackend against the local fake server: success, retries, faults, concurrency, secrets."""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import pytest
from PIL import Image

from eval_harness.models.base import Request
from eval_harness.models.openai_backend import (
    BASE_URL_ENV,
    LOCAL_DUMMY_KEY,
    OpenAIBackend,
    _host_only,
    _retry_after,
)
from tests.fake_openai_server import (
    FINGERPRINT,
    SERVED_MODEL,
    FakeOpenAIServer,
    Fault,
    echo_class,
    first_n,
    when_text,
)

KEY_ENV = "CODEBENCH_TEST_OPENAI_KEY"
SECRET = "sk-test-DO-NOT-LEAK-1234567890"
FAST = {"backoff_base": 0.01, "backoff_max": 0.05, "timeout": 2.0}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.delenv(BASE_URL_ENV, raising=False)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("img")
    paths = {"photo": folder / "photo.png", "xray": folder / "xray.png",
             "broken": folder / "broken.jpg"}
    Image.new("RGBA", (400, 300), (200, 40, 40, 128)).save(paths["photo"])  # RGBA -> RGB
    Image.new("L", (120, 80), 90).save(paths["xray"])  # grayscale radiograph, small
    paths["broken"].write_bytes(b"\xff\xd8\xff not really a jpeg")
    return paths


def req(text: str = "Which class?", images: tuple[Path, ...] = (), sample_id: str = "c1",
        system: str | None = None, max_pixels: int = 512 * 28 * 28) -> Request:
    return Request(sample_id=sample_id, task="code_cls", system=system, text=text,
                   images=images, max_new_tokens=32, max_pixels=max_pixels)


def backend(server: FakeOpenAIServer, **kwargs: object) -> OpenAIBackend:
    options = {**FAST, **kwargs}
    return OpenAIBackend("gpt-test", base_url=server.base_url, api_key_env=KEY_ENV,
                         **options)  # type: ignore[arg-type]


def decode_data_url(url: str, image_format: str = "png") -> Image.Image:
    prefix = f"data:image/{image_format};base64,"
    assert url.startswith(prefix)
    return Image.open(io.BytesIO(base64.b64decode(url[len(prefix):])))


# -- success path -------------------------------------------------------------------------

def test_success_with_images_system_and_meta(images: dict[str, Path]) -> None:
    with FakeOpenAIServer(expected_key=SECRET) as server:
        request = req("Is it caries?", (images["photo"], images["xray"]), system="Be brief.",
                      max_pixels=100 * 100)
        [response] = backend(server, seed=7).generate([request])

    assert not response.failed, response.error
    assert response.text == "echo: Is it caries?"
    assert response.meta["served_model"] == SERVED_MODEL
    assert response.meta["system_fingerprint"] == FINGERPRINT
    assert response.meta["retries"] == 0
    assert response.meta["usage"]["total_tokens"] > 0

    [received] = server.requests
    assert received.headers["authorization"] == f"Bearer {SECRET}"  # key taken from env
    body = received.body
    assert body["model"] == "gpt-test"
    assert body["max_tokens"] == 32 and body["temperature"] == 0.0 and body["seed"] == 7
    system, user = body["messages"]
    assert system == {"role": "system", "content": "Be brief."}
    parts = user["content"]
    assert [p["type"] for p in parts] == ["image_url", "image_url", "text"]
    assert parts[2]["text"] == "Is it caries?"
    photo = decode_data_url(parts[0]["image_url"]["url"])
    xray = decode_data_url(parts[1]["image_url"]["url"])
    assert photo.format == "PNG" and photo.mode == "RGB" and xray.mode == "RGB"
    assert photo.width * photo.height <= 100 * 100  # downscaled to the request's bound
    assert abs(photo.width / photo.height - 4 / 3) < 0.05  # aspect ratio kept
    assert xray.size == (120, 80)  # small images are never upscaled


def test_no_system_message_and_backend_max_pixels_wins(images: dict[str, Path]) -> None:
    with FakeOpenAIServer() as server:
        backend(server, max_pixels=50 * 50).generate([req(images=(images["photo"],))])
    [message] = server.requests[0].body["messages"]
    assert message["role"] == "user"
    photo = decode_data_url(message["content"][0]["image_url"]["url"])
    assert photo.width * photo.height <= 50 * 50
    assert "seed" not in server.requests[0].body


def test_order_preserved_and_empty_batch() -> None:
    classes = [f"class{i:02d}" for i in range(12)]
    with FakeOpenAIServer(answer=echo_class(classes), latency=0.01) as server:
        model = backend(server, concurrency=4)
        batch = [req(f"look for {c}", sample_id=c) for c in classes]
        responses = model.generate(batch)
        assert model.generate([]) == []
    assert [r.text for r in responses] == classes


# -- retries and faults --------------------------------------------------------------------

def test_429_then_success_counts_retries() -> None:
    with FakeOpenAIServer(script=first_n(2, Fault(429, retry_after="0"))) as server:
        [response] = backend(server).generate([req()])
    assert not response.failed
    assert response.meta["retries"] == 2
    assert len(server.requests) == 3


def test_retry_after_is_honoured_and_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backend waits what Retry-After asks (0.3 s, not its own 0.01 s backoff), and
    never longer than backoff_max (3600 s asked, 0.05 s waited). The waits are recorded,
    not timed: a loaded machine sleeps longer than asked."""
    from eval_harness.models import openai_backend

    waits: list[float] = []
    monkeypatch.setattr(openai_backend.time, "sleep", waits.append)
    with FakeOpenAIServer(script=first_n(1, Fault(429, retry_after="0.3"))) as server:
        [response] = backend(server, backoff_max=1.0).generate([req()])
    assert response.meta["retries"] == 1 and waits == [pytest.approx(0.3)]
    waits.clear()
    with FakeOpenAIServer(script=first_n(1, Fault(429, retry_after="3600"))) as server:
        [response] = backend(server, backoff_max=0.05).generate([req()])
    assert not response.failed and waits == [pytest.approx(0.05)]


def test_500_beyond_max_retries_fails_only_that_sample() -> None:
    with FakeOpenAIServer(script=when_text("BAD", Fault(500))) as server:
        batch = [req(f"ok {i}", sample_id=f"c{i}") for i in range(3)]
        batch.insert(1, req("BAD one", sample_id="bad"))
        responses = backend(server, max_retries=2).generate(batch)

    bad = responses[1]
    assert bad.failed and bad.text is None
    assert "HTTP 500" in (bad.error or "") and "after 2 retries" in (bad.error or "")
    assert bad.meta["retries"] == 2
    assert sum("BAD" in json.dumps(r.body) for r in server.requests) == 3  # 1 + 2 retries
    others = [r for i, r in enumerate(responses) if i != 1]
    assert all(not r.failed and r.meta["retries"] == 0 for r in others)
    assert [r.text for r in others] == ["echo: ok 0", "echo: ok 1", "echo: ok 2"]


def test_stall_times_out_then_retry_succeeds() -> None:
    script = when_text("SLOW", Fault(stall=True), times=1)
    with FakeOpenAIServer(script=script, stall_s=3.0) as server:
        [response] = backend(server, timeout=0.3).generate([req("SLOW please")])
    assert not response.failed, response.error
    assert response.meta["retries"] == 1
    assert len(server.requests) == 2


def test_stall_every_time_fails_with_timeout_reason() -> None:
    with FakeOpenAIServer(script=when_text("SLOW", Fault(stall=True)), stall_s=3.0) as server:
        [response] = backend(server, timeout=0.2, max_retries=1).generate([req("SLOW")])
    # Failed with a timeout, not after the 3 s stall (which would have answered): the
    # 0.2 s timeout is what ended both attempts.
    assert response.failed
    assert response.error is not None and "timeout" in response.error
    assert response.meta["retries"] == 1
    assert len(server.requests) == 2


def test_400_is_not_retried() -> None:
    with FakeOpenAIServer(script=first_n(99, Fault(400, message="bad image"))) as server:
        [response] = backend(server).generate([req()])
    assert response.failed and response.meta["retries"] == 0
    assert response.error == "HTTP 400: bad image"
    assert len(server.requests) == 1


def test_connection_refused_is_retried_then_fails() -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url
    # The server is stopped now: nothing listens on that port.
    model = OpenAIBackend("gpt-test", base_url=url, api_key_env=KEY_ENV, max_retries=2, **FAST)
    [response] = model.generate([req()])
    assert response.failed and response.meta["retries"] == 2
    assert "connection error" in (response.error or "")


def test_unreadable_image_fails_the_sample_without_a_request(images: dict[str, Path]) -> None:
    with FakeOpenAIServer() as server:
        responses = backend(server).generate([req(images=(images["broken"],), sample_id="x"),
                                              req(sample_id="y")])
    assert responses[0].failed and "unreadable image" in (responses[0].error or "")
    assert not responses[1].failed
    assert len(server.requests) == 1


# -- concurrency ---------------------------------------------------------------------------

def test_concurrency_bound_respected_and_used() -> None:
    # Requests in flight at once, counted by the server: concurrency shown without timing
    # (a timed bound fails on a busy machine); a generous timeout for the same reason.
    with FakeOpenAIServer(latency=0.1) as server:
        model = backend(server, concurrency=8, timeout=30.0)
        responses = model.generate([req(f"q{i}", sample_id=f"c{i}") for i in range(16)])
    assert all(not r.failed for r in responses)
    assert 2 <= server.max_in_flight <= 8


def test_generate_keeps_order_and_an_abandoned_stream_sends_no_more() -> None:
    batch = [req(f"q{i}", sample_id=f"c{i}") for i in range(40)]
    with FakeOpenAIServer(latency=0.05) as server:
        model = backend(server, concurrency=4)
        assert [r.text for r in model.generate(batch[:8])] == [f"echo: q{i}" for i in range(8)]
        sent = len(server.requests)
        stream = model.generate_unordered(batch)
        index, first = next(stream)
        assert first.text == f"echo: q{index}"
        stream.close()  # the consumer was interrupted: queued requests are cancelled
        time.sleep(0.1)
    assert len(server.requests) - sent <= 4 + 4  # at most two waves, never all 40


def test_concurrency_one_is_serial() -> None:
    with FakeOpenAIServer(latency=0.02) as server:
        backend(server, concurrency=1).generate([req(f"q{i}") for i in range(5)])
    assert server.max_in_flight == 1


# -- secrets and configuration ---------------------------------------------------------------

def test_key_never_in_describe_repr_or_error() -> None:
    leaky = Fault(401, message=f"Incorrect API key provided: {SECRET}")
    with FakeOpenAIServer(script=first_n(99, leaky)) as server:
        model = backend(server)
        [response] = model.generate([req()])
    description = model.describe()
    assert SECRET not in json.dumps(description)
    assert SECRET not in repr(model)
    assert response.failed and SECRET not in (response.error or "")
    assert "[REDACTED]" in (response.error or "")
    assert response.meta["retries"] == 0  # 401 is not retried
    assert description["backend"] == "openai" and description["name"] == "gpt-test"
    assert description["base_url"] == server.base_url.removesuffix("/v1")
    assert description["decoding"] == {"temperature": 0.0, "max_tokens": "per task",
                                       "seed": None, "max_pixels": "per task",
                                       "image_format": "png"}
    assert description["concurrency"] == 8


def test_a_key_quoted_back_is_redacted_whatever_its_name_or_shape(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's own key is redacted even when neither its variable's name nor its
    shape looks secret (the env scan and the sk-/Bearer patterns would both miss it)."""
    plain = "plain-credential-0f3a9c"
    monkeypatch.setenv("CODEBENCH_TEST_OPENAI_CRED", plain)
    quoted = Fault(401, message=f"no such credential {plain}.")
    echoed = Fault(403, message="denied", echo_authorization=True)
    with FakeOpenAIServer(script=lambda i, _b: quoted if i == 1 else echoed) as server:
        model = OpenAIBackend("gpt-test", base_url=server.base_url,
                              api_key_env="CODEBENCH_TEST_OPENAI_CRED", concurrency=1, **FAST)
        first, second = model.generate([req(sample_id="a"), req(sample_id="b")])
    assert server.requests[0].headers["authorization"] == f"Bearer {plain}"
    for response in (first, second):
        assert response.failed and plain not in (response.error or "")
        assert "[REDACTED]" in (response.error or "")


def test_an_empty_key_variable_sends_no_key() -> None:
    """``api_key_env=""``: only the dummy, though OPENAI-style keys are set (the worker
    runs a submitter's endpoint so)."""
    with FakeOpenAIServer() as server:
        [response] = OpenAIBackend("gpt-test", base_url=server.base_url, api_key_env="",
                                   **FAST).generate([req()])
    assert not response.failed
    assert server.requests[0].headers["authorization"] == f"Bearer {LOCAL_DUMMY_KEY}"


def test_missing_key_for_remote_server_names_the_env_var(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(ValueError, match=KEY_ENV):
        OpenAIBackend("gpt-test", base_url="https://api.example.com/v1", api_key_env=KEY_ENV)
    with pytest.raises(ValueError, match=KEY_ENV):
        OpenAIBackend("gpt-test", api_key_env=KEY_ENV)  # default: api.openai.com


def test_missing_key_for_local_server_sends_dummy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    with FakeOpenAIServer() as server:
        monkeypatch.setenv(BASE_URL_ENV, server.base_url)  # base URL from the environment
        model = OpenAIBackend("gpt-test", api_key_env=KEY_ENV, **FAST)
        [response] = model.generate([req()])
    assert not response.failed
    assert server.requests[0].headers["authorization"] == f"Bearer {LOCAL_DUMMY_KEY}"


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        OpenAIBackend("m", base_url="http://127.0.0.1:1/v1", concurrency=0)


# -- helpers ------------------------------------------------------------------------------

def test_retry_after_parsing() -> None:
    assert _retry_after({"retry-after": "2"}) == 2.0
    assert _retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert _retry_after({}) is None
    assert _retry_after({"retry-after": "soon"}) is None
    assert _retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) < 0  # past date


def test_jpeg_on_request_and_bad_format_refused(images: dict[str, Path]) -> None:
    """PNG by default (lossless: the pixels hf sees); JPEG only when asked, and the
    choice is in describe(), so the two never share cached answers."""
    with FakeOpenAIServer() as server:
        jpeg = backend(server, image_format="jpeg")
        jpeg.generate([req(images=(images["photo"],), max_pixels=100 * 100)])
        png = backend(server)
    photo = decode_data_url(server.requests[0].body["messages"][0]["content"][0]
                            ["image_url"]["url"], "jpeg")
    assert photo.format == "JPEG" and photo.width * photo.height <= 100 * 100
    assert jpeg.describe()["decoding"]["image_format"] == "jpeg"
    assert png.describe()["decoding"]["image_format"] == "png"
    with pytest.raises(ValueError, match="image_format"):
        OpenAIBackend("gpt-test", base_url="http://127.0.0.1:9", image_format="webp")


def test_host_only() -> None:
    assert _host_only("https://user:pw@api.example.com:8443/v1?x=1") == \
        "https://api.example.com:8443"


# --------------------------------------------------------------------------- backends that end


def test_a_never_answering_endpoint_fails_at_the_deadline() -> None:
    from eval_harness.models.openai_backend import OpenAIBackend
    from tests.silent_server import silent_endpoint

    with silent_endpoint() as url:
        backend = OpenAIBackend(model="m", base_url=url, api_key_env="", timeout=300,
                                max_retries=0, concurrency=2, deadline=1.5)
        answers = backend.generate([req(sample_id=f"s{i}") for i in range(5)])
    assert [a.failed for a in answers] == [True] * 5
    assert all("deadline passed" in a.error for a in answers)


def test_a_process_with_requests_in_flight_still_exits() -> None:
    """Threads blocked on a silent server (5 min read timeout) must not hold the process
    at exit: they are daemons, and none takes a new request once the caller stops."""
    import subprocess
    import sys

    from tests.silent_server import silent_endpoint

    script = (
        "import sys\n"
        "from eval_harness.models.base import Request\n"
        "from eval_harness.models.openai_backend import OpenAIBackend\n"
        "b = OpenAIBackend(model='m', base_url=sys.argv[1], api_key_env='', timeout=300,\n"
        "                  max_retries=0, concurrency=4, deadline=1)\n"
        "r = [Request(sample_id=f's{i}', task='code_cls', system=None, text='hi',\n"
        "             images=(), max_new_tokens=4) for i in range(8)]\n"
        "print(sum(a.failed for a in b.generate(r)))\n")
    with silent_endpoint() as url:
        done = subprocess.run([sys.executable, "-c", script, url], capture_output=True,
                              text=True, timeout=120,
                              cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "8"
