"""Where a submitted model may live, and the one path every model run takes.

* Endpoints: a submitted ``base_url`` is the operator's own endpoint or a host on
  ``CODEBENCH_ALLOWED_ENDPOINTS``, by parsed, normalised host and port; every other
  address (loopback and metadata addresses spelled any way, other schemes, credentials)
  is refused at submission and again by the worker; a redirect leads the worker nowhere.
* Folders: only under ``CODEBENCH_MODEL_ROOTS`` (symlinks resolved), and every refusal
  reads the same whatever is there, so a submission cannot probe the server's disk.
* One evaluation path: the run command, the worker and the synthetic board's seeding all
  go through ``api.evaluate_on`` (the response cache, the dataset named as loaded).

Fast and offline: loopback servers only, started and stopped here.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from eval_harness.errors import UsageError
from eval_harness.tasks.base import ScoreOptions
from leaderboard.model_specs import (
    ENDPOINT_REFUSAL,
    FOLDER_REFUSAL,
    SCHEME_REFUSAL,
    SpecError,
    check_spec,
    evaluate,
)
from leaderboard.store.database import open_store
from leaderboard.store.schema import Submission
from leaderboard.submissions import Rejected, submit_model
from tests.fake_openai_server import FakeOpenAIServer
from tests.leaderboard.test_submissions import META

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "checkpoints" / "tiny-demo"
BOARD = "synthetic-demo"
FAST = ScoreOptions(embeddings=False, resamples=20)
KEY = "sk-operator-key-0123456789abcdef"
OPERATOR = "http://127.0.0.1:8080/v1"  # the operator's endpoint in the endpoint tests
ALLOWED = "vllm.internal:8000,*.example.org"
SECRETS = "secrets are never part of a submission"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, synth_dir: Path, tmp_path: Path
        ) -> pytest.MonkeyPatch:
    """A clean operator configuration: synthetic data, a private response cache, no
    endpoint allowed but the operator's, the default model roots."""
    monkeypatch.setenv("CODEBENCH_DATA_DIR", str(synth_dir))
    monkeypatch.setenv("CODEBENCH_CACHE", str(tmp_path / "cache"))
    for name in ("CODEBENCH_OPENAI_BASE_URL", "CODEBENCH_ALLOWED_ENDPOINTS",
                 "CODEBENCH_MODEL_ROOTS", "CODEBENCH_CHECKPOINTS", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def sessions(env: pytest.MonkeyPatch, sqlite_url: str):
    return open_store(sqlite_url)


def _stored(sessions) -> int:
    with sessions() as session:
        return session.query(Submission).count()


def _refused_twice(sessions, spec: dict) -> str:
    """The refusal at submission (nothing stored) and by the worker for the same spec
    written straight into the database: the same reason; returns it."""
    with pytest.raises(Rejected) as submitted:
        submit_model(sessions, BOARD, spec, META)
    assert _stored(sessions) == 0
    with pytest.raises(UsageError) as worker:
        evaluate({**spec, "tasks": ["code_cls"]}, BOARD, FAST)
    reason = str(submitted.value).removeprefix("model: ")
    assert str(worker.value) == f"the stored model spec is refused: {reason}"
    return reason


def _openai(base_url: str, **extra: str) -> dict:
    return {"backend": "openai", "model_args": {"base_url": base_url, "model": "m", **extra}}


# -- endpoints ------------------------------------------------------------------------------

SSRF = {  # base_url -> the refusal it gets
    "http://127.0.0.1:5432": ENDPOINT_REFUSAL,  # the operator's host, another port
    "http://127.0.0.1:8080.evil.net/v1": SCHEME_REFUSAL,  # not a port: no URL at all
    "http://169.254.169.254/latest": ENDPOINT_REFUSAL,
    "file:///etc/passwd": SCHEME_REFUSAL,
    "gopher://vllm.internal:8000/_": SCHEME_REFUSAL,
    "http://2130706433": ENDPOINT_REFUSAL,
    "http://0x7f.0.0.1": ENDPOINT_REFUSAL,
    "http://0177.0.0.1:8080/v1": ENDPOINT_REFUSAL,
    "http://127.1:8080/v1": ENDPOINT_REFUSAL,
    "http://[::1]:8000": ENDPOINT_REFUSAL,
    "http://[::ffff:127.0.0.1]": ENDPOINT_REFUSAL,
    "http://[::ffff:127.0.0.1]:8080/v1": ENDPOINT_REFUSAL,
    "http://user:pw@host": SECRETS,
    "http://vllm.internal:8000@evil.net/v1": SECRETS,
    "http://evil.net#@vllm.internal:8000": ENDPOINT_REFUSAL,
    "http://evil.net\\@vllm.internal:8000": SCHEME_REFUSAL,
    "http://vllm.internal:8000\t.evil.net": SCHEME_REFUSAL,
    "http://not-listed.example.com/v1": ENDPOINT_REFUSAL,
    "http://vllm.internal:8001/v1": ENDPOINT_REFUSAL,  # a listed host, another port
    "http://vllm.internal/v1": ENDPOINT_REFUSAL,  # no port: 80, not the listed 8000
    "https://example.org/v1": ENDPOINT_REFUSAL,  # *.example.org is its subdomains only
    "https://example.org.evil.net/v1": ENDPOINT_REFUSAL,
    "https://evil-example.org/v1": ENDPOINT_REFUSAL,
}


@pytest.mark.parametrize("base_url", list(SSRF))
def test_an_endpoint_off_the_allow_list_is_refused_at_submission_and_by_the_worker(
        sessions, env: pytest.MonkeyPatch, base_url: str) -> None:
    """Catches: a submitted base_url the worker would call though the operator never
    allowed it (loopback, link-local metadata, another port of an allowed host, an IP
    spelled in decimal, octal, hex or IPv6, a parser trick), or a refusal only at the
    form that a row written into the database skips."""
    env.setenv("CODEBENCH_OPENAI_BASE_URL", OPERATOR)
    env.setenv("CODEBENCH_ALLOWED_ENDPOINTS", ALLOWED)
    reason = _refused_twice(sessions, _openai(base_url))
    assert SSRF[base_url] in reason, reason
    if SSRF[base_url] == ENDPOINT_REFUSAL:  # names the setting an operator would change
        assert reason == ENDPOINT_REFUSAL and "CODEBENCH_ALLOWED_ENDPOINTS" in reason


@pytest.mark.parametrize("base_url", [
    OPERATOR, "http://127.0.0.1:8080/v1/other",  # the operator's own endpoint
    "http://vllm.internal:8000/v1", "http://VLLM.Internal.:8000/v1",  # listed, any case
    "https://gpu-1.example.org/v1", "http://a.b.example.org/v1",  # *.example.org
    "https://bücher.example.org/v1",  # IDNA: xn--bcher-kva.example.org
])
def test_the_operators_endpoint_and_listed_hosts_are_taken(sessions, env: pytest.MonkeyPatch,
                                                           base_url: str) -> None:
    """Catches: an allow-list that refuses what its operator listed (case, a trailing
    dot, wildcard subdomains, international names) or the operator's own endpoint."""
    env.setenv("CODEBENCH_OPENAI_BASE_URL", OPERATOR)
    env.setenv("CODEBENCH_ALLOWED_ENDPOINTS", ALLOWED)
    assert not submit_model(sessions, BOARD, _openai(base_url), META).duplicate
    assert _stored(sessions) == 1


def test_no_endpoint_but_the_operators_is_allowed_by_default(sessions) -> None:
    """Catches: a default allow-list that is not empty (a public board would call any
    server a submitter names); the operator's default endpoint is still taken."""
    for base_url in ("http://vllm.internal:8000/v1", "http://127.0.0.1:8080/v1",
                     "http://localhost:8000/v1", "https://example.org/v1"):
        assert _refused_twice(sessions, _openai(base_url)) == ENDPOINT_REFUSAL
    assert not submit_model(sessions, BOARD, _openai("https://api.openai.com/v1"),
                            META).duplicate


def test_an_allowed_ip_is_taken_only_as_spelled_in_the_list(env: pytest.MonkeyPatch) -> None:
    """Catches: an IP-literal entry matched by its value (any spelling of it) or by a
    wildcard; and an IPv6 entry that cannot be listed at all."""
    env.setenv("CODEBENCH_ALLOWED_ENDPOINTS", "127.0.0.1:9000,[::1]:9001,*.0.0.1")
    check_spec(_openai("http://127.0.0.1:9000/v1"), BOARD)
    check_spec(_openai("http://[::1]:9001/v1"), BOARD)
    for other in ("http://2130706433:9000", "http://0x7f.0.0.1:9000", "http://127.1:9000",
                  "http://[::ffff:127.0.0.1]:9000", "http://[0:0::1]:9001",
                  "http://127.0.0.1:9002", "http://10.0.0.1"):
        with pytest.raises(SpecError, match=r"not an allowed endpoint"):
            check_spec(_openai(other), BOARD)


def test_allowed_endpoints_run_in_the_worker_and_only_the_operator_gets_the_key(
        env: pytest.MonkeyPatch) -> None:
    """The control for the refusals: a listed endpoint and the operator's do run, through
    the response cache, labelled with the dataset loaded. Catches: the operator's key sent
    to a submitter's endpoint, a worker that drops the response cache, a worker run
    labelled with another dataset's name."""
    with FakeOpenAIServer() as operator, FakeOpenAIServer() as listed:
        env.setenv("OPENAI_API_KEY", KEY)
        env.setenv("CODEBENCH_OPENAI_BASE_URL", operator.base_url)
        env.setenv("CODEBENCH_ALLOWED_ENDPOINTS", urlsplit(listed.base_url).netloc)
        for server in (operator, listed, listed):  # the listed one twice: from the cache
            spec = {**_openai(server.base_url, max_retries="0"), "tasks": ["code_cls"]}
            scored = evaluate(spec, BOARD, FAST)
            assert not scored.degraded, scored.document.failures
            assert scored.document.dataset.name == "COde-synthetic"
            assert scored.document.model["base_url"] == urlsplit(
                server.base_url)._replace(path="").geturl()
        n = scored.document.dataset.size
        assert len(operator.requests) == len(listed.requests) == n  # the 2nd run: cached
        assert {r.headers.get("authorization") for r in operator.requests} == {
            f"Bearer {KEY}"}
        assert {r.headers.get("authorization") for r in listed.requests} == {"Bearer EMPTY"}


class _Redirector(ThreadingHTTPServer):
    """Answers every request with ``status`` and a Location elsewhere; counts them."""

    def __init__(self, status: int, location: str) -> None:
        self.status, self.location, self.count = status, location, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _redirect(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                server.count += 1
                self.send_response(server.status)
                self.send_header("Location", server.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = _redirect

        super().__init__(("127.0.0.1", 0), Handler)
        self.daemon_threads = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@contextmanager
def _redirecting(status: int, location: str) -> Iterator[_Redirector]:
    server = _Redirector(status, location)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_cannot_lead_the_worker_to_another_server(
        sessions, env: pytest.MonkeyPatch, tmp_path: Path, status: int) -> None:
    """Catches: an openai client that follows redirects (the SDK's default does), so an
    allowed endpoint could send the worker's requests, images included, anywhere."""
    from leaderboard.worker import work_once

    with FakeOpenAIServer() as elsewhere, _redirecting(
            status, elsewhere.base_url + "/chat/completions") as redirector:
        env.setenv("CODEBENCH_ALLOWED_ENDPOINTS", f"127.0.0.1:{redirector.server_address[1]}")
        spec = {**_openai(redirector.base_url, max_retries="0"), "tasks": ["code_cls"]}
        accepted = submit_model(sessions, BOARD, spec, META)
        assert work_once(sessions, tmp_path, options=FAST) == "failed"
        assert redirector.count > 0  # the worker did call the allowed endpoint
        assert elsewhere.requests == [], "a redirect led the worker to another server"
    with sessions() as session:
        job = session.get(Submission, accepted.submission_id)
        assert job.status == "failed", job.status
        assert f"HTTP {status}: redirects are not followed" in (job.failure_log or ""), (
            job.failure_category, job.failure_log)


# -- folders --------------------------------------------------------------------------------

def _model_copy(folder: Path) -> Path:
    """A loadable model folder (the shipped tiny-demo's files)."""
    shutil.copytree(TINY, folder, ignore=shutil.ignore_patterns("eval", "*.md", "*.jsonl"))
    return folder


def _hf(model: str, **extra: str) -> dict:
    return {"backend": "hf", "model_args": {"model": model, **extra}}


def test_every_folder_refusal_reads_the_same_whatever_is_there(
        sessions, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Catches: a folder outside the roots that is loaded; a symlink out of a root taken
    as inside it; a refusal whose words depend on what exists there (no such folder, no
    weights, pickle, remote code) or that echoes the path, so a submission could map the
    server's disk."""
    root = _model_copy(tmp_path / "allowed" / "model").parent
    outside = _model_copy(tmp_path / "outside")  # a loadable model, outside the root
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")
    remote = _model_copy(tmp_path / "remote")
    (remote / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "x.Model"}}))
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "up").symlink_to(ROOT / "checkpoints", target_is_directory=True)
    (root / "loop").symlink_to(root / "loop")
    env.setenv("CODEBENCH_MODEL_ROOTS", str(root))
    env.chdir(root)  # relative climbs start inside the root
    probes = ["/etc", "/root/.ssh", "/proc/1", "/nonexistent", "/etc/passwd", "/",
              "checkpoints/../..", "../", "..", "../outside", "../../../../../../etc",
              "model/../../outside", str(root / ".." / "outside"), str(outside), "~",
              "~root/.ssh", "out", str(root / "out"), "up/tiny-demo", "loop",
              str(pickled), str(remote), str(TINY), f"{root}-evil", "", " ", "a\x00b",
              "x" * 5000, "etc", "acme/uncached-model"]
    reasons = set()
    for probe in probes:
        reasons.add(_refused_twice(sessions, _hf(probe)))
        reasons.add(_refused_twice(sessions, _hf("model", adapter=probe)))
    assert reasons == {FOLDER_REFUSAL}
    assert "/" not in FOLDER_REFUSAL and "CODEBENCH_MODEL_ROOTS" in FOLDER_REFUSAL


def test_folders_inside_the_roots_are_taken_and_keep_their_own_reasons(
        sessions, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The control for the uniform refusal: a folder inside the roots (by absolute path,
    by a relative one, through a symlink that stays inside) is taken; inside the roots a
    folder's own problem is named."""
    root = tmp_path / "root"
    _model_copy(root / "model")
    (root / "alias").symlink_to(root / "model", target_is_directory=True)
    (root / "pickled").mkdir()
    (root / "pickled" / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")
    env.setenv("CODEBENCH_MODEL_ROOTS", os.pathsep.join([str(tmp_path / "elsewhere"),
                                                         str(root)]))
    env.chdir(tmp_path)
    for model in (str(root / "model"), "root/model", str(root / "alias"), "root/alias"):
        check_spec(_hf(model), BOARD)
    assert "pickle weights are refused" in _refused_twice(sessions, _hf(str(root / "pickled")))
    assert "no such folder" in _refused_twice(sessions, _hf(str(root / "missing")))


def test_the_shipped_checkpoint_is_taken_by_name_and_by_folder(sessions,
                                                               env: pytest.MonkeyPatch) -> None:
    """Catches: default roots that miss <repo>/checkpoints, a registry name refused."""
    env.chdir(ROOT)
    for spec in ({"backend": "hf", "model_args": {"checkpoint": "tiny-demo"}},
                 _hf(str(TINY)), _hf("checkpoints/tiny-demo")):
        check_spec(spec, BOARD)
    assert "unknown checkpoint 'nope'" in _refused_twice(sessions, {
        "backend": "hf", "model_args": {"checkpoint": "nope"}})
    assert not submit_model(sessions, BOARD, _hf(str(TINY)), META).duplicate


def test_a_cached_hub_id_is_a_hub_id_and_a_local_look_alike_is_a_folder(
        env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Catches: a cached hub id refused as a path; a value the hf backend would load as a
    local folder (a folder of that name in the working directory) checked as a hub id."""
    import huggingface_hub.constants

    revision = "a" * 40
    repo = tmp_path / "hub" / "models--acme--tiny-vlm"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    _model_copy(repo / "snapshots" / revision)
    env.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    env.chdir(tmp_path)
    check_spec(_hf("acme/tiny-vlm"), BOARD)
    _model_copy(tmp_path / "acme" / "tiny-vlm")  # now a folder of that name is here
    with pytest.raises(SpecError) as caught:
        check_spec(_hf("acme/tiny-vlm"), BOARD)
    assert str(caught.value) == FOLDER_REFUSAL


# -- one evaluation path --------------------------------------------------------------------

@pytest.fixture
def evaluate_on_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every call of ``api.evaluate_on`` (which still runs)."""
    from eval_harness import api

    calls: list[dict] = []
    original = api.evaluate_on

    def recording(split, backend_name, model_args, tasks, *args, **kwargs):
        calls.append({"split": split, "backend": backend_name, "args": dict(model_args),
                      "tasks": list(tasks), **kwargs})
        return original(split, backend_name, model_args, tasks, *args, **kwargs)

    monkeypatch.setattr(api, "evaluate_on", recording)
    return calls


def test_the_run_command_worker_and_seeding_share_one_evaluation_path(
        env: pytest.MonkeyPatch, synth_dir: Path, sqlite_url: str, tmp_path: Path,
        evaluate_on_calls: list[dict]) -> None:
    """Catches: a copy of "load split, create model, evaluate" in the run command, the
    worker or the seeding that drops the response cache, the prompt options or the
    dataset's name (each place must call api.evaluate_on, with the same defaults)."""
    from eval_harness import api
    from eval_harness.cli import main
    from eval_harness.results import read_results
    from leaderboard import seeds

    out = tmp_path / "run"
    assert main(["run", "--model", "majority", "--data", str(synth_dir), "--output",
                 str(out), "--no-embeddings", "--resamples", "20", "--quiet"]) == 0
    assert read_results(out)[0].dataset.name == "COde-synthetic"
    worker = evaluate({"backend": "hf", "model_args": {"checkpoint": "tiny-demo"},
                       "tasks": ["code_cls"]}, BOARD, FAST)
    assert worker.document.dataset.name == "COde-synthetic"
    env.setattr(seeds, "SYNTHETIC_MODELS", seeds.SYNTHETIC_MODELS[:2])  # the baselines
    assert seeds.seed_synthetic(open_store(sqlite_url), synth_dir, FAST) == 2

    assert [c["backend"] for c in evaluate_on_calls] == ["majority", "hf", "majority",
                                                         "random"]
    for call in evaluate_on_calls:
        assert call["split"].references.name == "COde-synthetic"
        assert call.get("cache", api.DEFAULT_CACHE) == api.DEFAULT_CACHE  # the same cache
        assert call.get("prompt", api.DEFAULT_PROMPT) == api.DEFAULT_PROMPT  # and prompts
    assert (tmp_path / "cache" / "responses.sqlite").is_file()
