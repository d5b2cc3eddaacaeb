"""Secrets, privacy and leakage (issue #14, item 5), against the running space.

* Uploaded patient images leave the disk with their request, served or refused.
* The OpenAI key never reaches a page, an API message, the log, the database or a file,
  though the endpoint quotes it back in its errors; and a submitted endpoint never gets it.
* Held-out references, the database, the repository and the system are never served,
  whatever the route or the traversal.
* A model submission never runs remote code: refused at the form, and refused again by the
  worker for a row written straight into the database.

One app per module (with a fake OpenAI server as its configured endpoint); the tests that
need it are ``slow``. The redaction helper and the worker's re-check run in-process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fake_openai_server import FakeOpenAIServer, Fault
from tests.space.conftest import ROOT, RunningSpace, launch_space, space_env

SECRET = f"sk-codebench-{secrets.token_hex(16)}"
MIDDLE = SECRET.removeprefix("sk-codebench-")[8:24]  # found even if a prefix were cut off
COMPARE = "gpt-fake-compare"  # the demo's comparison model (answered by the fake)
LEAKY = "gpt-leaky"  # a submitted model the fake refuses, quoting the key back
DB_NAME = "leaderboard.sqlite"


# -- the running app ---------------------------------------------------------------------

@dataclass
class App:
    space: RunningSpace
    home: Path
    fake: FakeOpenAIServer  # the operator's endpoint (CODEBENCH_OPENAI_BASE_URL)
    stranger: FakeOpenAIServer  # a submitter's own endpoint
    leak: dict[str, bool]  # {"on": True}: the comparison model's answers quote the key
    received: list[str] = field(default_factory=list)  # every message the client got

    @property
    def db(self) -> Path:
        return self.space.leaderboard_dir / DB_NAME

    def client(self):
        from gradio_client import Client

        return Client(self.space.url, verbose=False)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    home = tmp_path_factory.mktemp("secrets")
    (home / "tmp").mkdir()
    leak = {"on": False}
    quoting = Fault(401, message="Incorrect API key provided", echo_authorization=True)

    def script(_index: int, body: dict) -> Fault | None:
        model = body.get("model")
        return quoting if model == LEAKY or (model == COMPARE and leak["on"]) else None

    with FakeOpenAIServer(script=script) as fake, FakeOpenAIServer() as stranger:
        # The stranger's host is on the operator's allow-list (else its spec is refused);
        # the tests' own folders are allowed model locations (else refused before their
        # remote code or pickle weights are even looked at).
        stranger_host = urllib.parse.urlsplit(stranger.base_url).netloc
        roots = os.pathsep.join([str(ROOT / "checkpoints"),
                                 str(tmp_path_factory.getbasetemp())])
        env = space_env(home, OPENAI_API_KEY=SECRET, CODEBENCH_OPENAI_BASE_URL=fake.base_url,
                        CODEBENCH_COMPARE_MODEL=COMPARE, TMPDIR=str(home / "tmp"),
                        CODEBENCH_CACHE=str(home / "cache"),
                        CODEBENCH_SUBMISSIONS_PER_DAY="100",
                        CODEBENCH_ALLOWED_ENDPOINTS=stranger_host,
                        CODEBENCH_MODEL_ROOTS=roots)
        with launch_space(home, env=env) as space:
            yield App(space, home, fake, stranger, leak)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _noise_png(path: Path) -> Path:
    """An image no other file shares (random pixels): its hash finds any copy."""
    from PIL import Image

    Image.frombytes("RGB", (48, 40), os.urandom(48 * 40 * 3)).save(path)
    return path


def _files(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*")
            if p.is_file()]


def _demo(app: App, photo: Path) -> object:
    """/home_predict with one photograph; the outcome (or the error) is recorded."""
    from gradio_client import handle_file

    try:
        outcome = app.client().predict([handle_file(str(photo))], [], 40, "Female", "pain",
                                       api_name="/home_predict")
    except Exception as error:  # the app's refusal, as the client received it
        app.received.append(f"{type(error).__name__}: {error}")
        return error
    app.received.append(json.dumps(outcome, default=str))
    return outcome


# -- 1. uploaded images leave the disk -------------------------------------------------------

def _assert_no_copy(app: App, upload: Path) -> None:
    digest = _sha(upload)
    temp = app.home / "tmp"
    copies = [p for p in _files(app.space.gradio_dir, temp) if _sha(p) == digest]
    staging = [p for p in temp.rglob("codebench-demo-*")] if temp.exists() else []
    assert not copies, f"the upload is still on disk: {copies}"
    assert not staging, f"a demo staging folder remains: {staging}"


def _cache_folders(app: App) -> set[Path]:
    return set(app.space.gradio_dir.iterdir()) if app.space.gradio_dir.exists() else set()


@pytest.mark.slow
def test_uploaded_images_are_gone_after_a_served_and_a_refused_request(
        app: App, tmp_path: Path) -> None:
    """Catches: the Gradio cache copy kept after the request (forget_uploads not run, or
    not on a refusal), the demo's staging folder not removed."""
    photo = _noise_png(tmp_path / "patient-photo.png")
    before = _cache_folders(app)
    served = _demo(app, photo)
    assert isinstance(served, tuple | list), served  # the demo answered
    assert _cache_folders(app) - before, "the upload never reached Gradio's cache"
    _assert_no_copy(app, photo)

    fake_png = tmp_path / "not-an-image.png"
    fake_png.write_text(f"patient notes, not pixels {secrets.token_hex(8)}\n")
    before = _cache_folders(app)
    refused = _demo(app, fake_png)
    assert isinstance(refused, Exception) and "not-an-image.png" in str(refused), refused
    assert _cache_folders(app) - before, "the upload never reached Gradio's cache"
    _assert_no_copy(app, fake_png)


@pytest.mark.slow
def test_an_upload_gradio_refuses_by_its_type_is_gone_too(app: App, tmp_path: Path) -> None:
    """Catches: an upload refused by Gradio itself (its extension) left in the cache."""
    notes = tmp_path / "patient-notes.txt"
    notes.write_text(f"patient notes {secrets.token_hex(8)}\n")
    refused = _demo(app, notes)
    assert isinstance(refused, Exception), refused
    _assert_no_copy(app, notes)


# -- 2. the OpenAI key never leaks ---------------------------------------------------------

def _submit(app: App, name: str, spec: dict | str) -> str:
    message, queue = app.client().predict(
        "synthetic-demo", name, "secrets-test", "", None, "", "", None,
        spec if isinstance(spec, str) else json.dumps(spec), api_name="/submit")
    app.received.append(json.dumps([message, queue], default=str))
    return message


def _queued_id(message: str) -> int:
    found = re.search(r"submission \*\*#(\d+)\*\*", message)
    assert found, message
    return int(found.group(1))


def _statuses(db: Path, ids: list[int]) -> dict[int, tuple[str, str | None]]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            f"SELECT id, status, failure_log FROM submissions WHERE id IN "
            f"({','.join('?' * len(ids))})", ids).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def _wait_done(db: Path, ids: list[int], timeout: float = 150) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = _statuses(db, ids)
        if all(found.get(i, ("",))[0] in ("finished", "failed") for i in ids):
            return found
        assert time.monotonic() < deadline, f"the worker did not finish: {found}"
        time.sleep(1.0)


def _page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode("utf-8", "replace")


def _leaks(text: str) -> bool:
    return SECRET in text or MIDDLE in text


@pytest.mark.slow
def test_the_openai_key_never_reaches_pages_messages_logs_database_or_files(
        app: App, tmp_path: Path) -> None:
    """Catches: an endpoint's error quoting the key shown to the user (demo) or stored as
    a failure log (worker); the key in describe()/results; the worker sending the
    operator's key to an endpoint a submitter chose."""
    photo = _noise_png(tmp_path / "photo.png")
    answered = _demo(app, photo)
    # Both models: each a class, the line on whether its two answers agree, and a report.
    assert isinstance(answered, tuple | list) and len(answered) == 6, answered
    app.leak["on"] = True
    try:
        refused = _demo(app, photo)
    finally:
        app.leak["on"] = False
    assert isinstance(refused, Exception) and "failed" in str(refused), refused
    assert "[REDACTED]" in str(refused)  # the quoted key was there, and was taken out

    run = {"backend": "openai", "tasks": ["code_cls"]}
    ids = {name: _queued_id(_submit(app, name, {**run, "model_args": {
        "base_url": base_url, "model": model, "max_retries": 0}}))
        for name, base_url, model in (
            ("fake-run", app.fake.base_url, "gpt-fake-run"),
            ("leaky-run", app.fake.base_url, LEAKY),
            ("stranger-run", app.stranger.base_url, "gpt-stranger"))}
    done = _wait_done(app.db, list(ids.values()))
    assert done[ids["fake-run"]][0] == "finished", done
    assert done[ids["stranger-run"]][0] == "finished", done
    status, log = done[ids["leaky-run"]]
    assert status == "failed" and "Incorrect API key" in (log or ""), done

    # The test's own premises: the key did go to the operator's endpoint (and came back
    # in its errors), so the checks below are not vacuous; the stranger never got it.
    sent = {r.body.get("model"): r.headers.get("authorization") for r in app.fake.requests}
    assert sent[LEAKY] == sent[COMPARE] == f"Bearer {SECRET}"
    stranger_keys = {r.headers.get("authorization") for r in app.stranger.requests}
    assert stranger_keys == {"Bearer EMPTY"}, "a submitted endpoint received a key"

    with sqlite3.connect(app.db) as connection:
        dump = "\n".join(connection.iterdump())
    assert "gpt-fake-run" in dump  # the dump holds the runs (not vacuous)
    pages = {route: _page(app.space.url + route)
             for route in ("/", "/config", "/gradio_api/info")}
    assert not _leaks(dump), "the key is in the database"
    for route, html in pages.items():
        assert not _leaks(html), f"the key is in {route}"
    for message in app.received:
        assert not _leaks(message), f"the client received the key: {message[:300]}"
    scanned = [*_files(app.home / "leaderboard", app.space.gradio_dir, app.home / "tmp",
                       app.home / "cache"), app.space.log]
    assert app.space.log in scanned and any(p.suffix == ".sqlite" for p in scanned)
    for path in scanned:
        raw = path.read_bytes()
        assert SECRET.encode() not in raw and MIDDLE.encode() not in raw, path


# -- 3. nothing outside the app's folders is served ------------------------------------------

TARGETS = {  # name -> how to find the path on a running app
    "references": lambda app: app.space.data_dir / "complete_dataset.csv",
    "database": lambda app: app.db,
    "passwd": lambda app: Path("/etc/passwd"),
    "app.py": lambda app: ROOT / "app.py",
    "seeds": lambda app: sorted((ROOT / "leaderboard" / "seeds").glob("*.json.gz"))[0],
    "weights": lambda app: ROOT / "checkpoints" / "tiny-demo" / "model.safetensors",
}
#: tests/space/test_server.py already asks the three plain routes for these.
PLAIN_COVERED = {"references", "database", "seeds"}


def _routes(app: App, name: str, path: Path) -> list[str]:
    quoted = urllib.parse.quote(str(path).lstrip("/"), safe="")
    up = "..%2f" * 16
    dotted = "%2e%2e%2f" * 16
    cache = app.space.gradio_dir  # the one folder Gradio serves: climb out of it
    routes = [f"/gradio_api/file={cache}/{up}{quoted}",
              f"/gradio_api/file={cache}/{dotted}{quoted}",
              f"/file={cache}/{up}{quoted}",
              f"/gradio_api/file={up}{quoted}",
              f"/gradio_api/file=%2f{quoted}",
              f"/static/{up}{quoted}",
              f"/assets/{up}{quoted}"]
    if path.is_relative_to(ROOT):  # relative to the app's working directory
        relative = path.relative_to(ROOT)
        routes += [f"/gradio_api/file={relative}", f"/file={relative}"]
    if name not in PLAIN_COVERED:
        routes += [f"/gradio_api/file={path}", f"/file={path}", f"/gradio_api/file=/{path}"]
    return routes


def _status(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(4096)
    except urllib.error.HTTPError as error:
        return error.code, b""


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TARGETS))
def test_held_out_and_outside_files_are_refused_on_every_route(app: App, name: str) -> None:
    """Catches: a blocked folder missing from blocked_paths, the repository (Gradio's
    working directory) or the temp dir served, a traversal out of the upload cache."""
    path = TARGETS[name](app)
    assert path.is_file(), path
    served = {}
    for route in _routes(app, name, path):
        status, body = _status(app.space.url + route)
        if status not in (403, 404):
            served[route] = (status, body[:80])
    assert not served, f"{path} answered: {served}"


@pytest.mark.slow
def test_the_file_route_does_serve_the_upload_cache(app: App) -> None:
    """The control for the refusals above: the same route answers 200 for a file in
    Gradio's upload cache, so their 403/404 is a refusal, not a malformed URL."""
    import uuid

    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="control.txt"\r\nContent-Type: text/plain\r\n\r\n').encode() + \
        b"control" + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        app.space.url + "/gradio_api/upload", data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        [cached] = json.loads(response.read())
    try:
        assert Path(cached).is_relative_to(app.space.gradio_dir)
        assert _status(f"{app.space.url}/gradio_api/file={cached}") == (200, b"control")
    finally:
        Path(cached).unlink()


# -- 4. remote code is never run --------------------------------------------------------------

EVIL = '''from pathlib import Path
Path(__file__).with_name("EXECUTED").write_text("remote code ran")
from transformers import Qwen2_5_VLConfig as EvilConfig  # noqa: E402,F401
from transformers import Qwen2_5_VLForConditionalGeneration as EvilModel  # noqa: E402,F401
'''


def _remote_code_folder(root: Path) -> Path:
    """The shipped tiny-demo (loadable as it is) whose config maps its classes to a module
    of the folder that writes EXECUTED when imported."""
    folder = root / "remote"
    shutil.copytree(ROOT / "checkpoints" / "tiny-demo", folder,
                    ignore=shutil.ignore_patterns("eval", "*.md", "training_log.jsonl"))
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig",
                          "AutoModelForImageTextToText": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "evil.py").write_text(EVIL)
    return folder


def _pickle_folder(root: Path) -> Path:
    folder = root / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl"}))
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")  # pickle of 1
    return folder


def _unsafe_specs(root: Path) -> dict[str, tuple[dict, str]]:
    """name -> (spec, what its refusal names)."""
    remote = _remote_code_folder(root)
    tiny = str(ROOT / "checkpoints" / "tiny-demo")
    return {
        "trust_remote_code": ({"backend": "hf", "model_args": {
            "model": tiny, "trust_remote_code": True}}, "trust_remote_code is refused"),
        "top-level trust_remote_code": ({"backend": "hf", "model_args": {"model": tiny},
                                         "trust_remote_code": True},
                                        "trust_remote_code is refused"),
        "auto_map": ({"backend": "hf", "model_args": {"model": str(remote)}}, "auto_map"),
        "pickle": ({"backend": "hf", "model_args": {"model": str(_pickle_folder(root))}},
                   "pickle weights are refused"),
    }


def _count(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT count(*) FROM submissions").fetchone()[0]


@pytest.mark.slow
def test_the_submit_api_refuses_remote_code_and_stores_nothing(app: App,
                                                               tmp_path: Path) -> None:
    """Catches: a check_spec that lets trust_remote_code (in model_args or beside them),
    an auto_map config or pickle weights through to the queue."""
    before = _count(app.db)
    for name, (spec, reason) in _unsafe_specs(tmp_path).items():
        message = _submit(app, f"unsafe-{name}", spec)
        assert message.startswith("**Refused:**") and reason in message, (name, message)
    assert _count(app.db) == before
    assert not (tmp_path / "remote" / "EXECUTED").exists()


@pytest.fixture
def store(tmp_path: Path, synth_dir: Path, monkeypatch: pytest.MonkeyPatch):
    from leaderboard.boards import board_row, references_for
    from leaderboard.store.database import open_store

    monkeypatch.setenv("CODEBENCH_DATA_DIR", str(synth_dir))
    monkeypatch.setenv("CODEBENCH_CACHE", str(tmp_path / "cache"))
    # The remote-code and pickle folders are allowed locations: refused for what they hold.
    monkeypatch.setenv("CODEBENCH_MODEL_ROOTS", str(tmp_path))
    sessions = open_store(f"sqlite:///{tmp_path / 'board' / DB_NAME}")
    with sessions.begin() as session:
        session.add(board_row("synthetic-demo", references_for("synthetic-demo")))
    return sessions


@pytest.mark.parametrize("name", ["trust_remote_code", "top-level trust_remote_code",
                                  "auto_map", "pickle"])
def test_the_worker_refuses_remote_code_written_straight_into_the_database(
        store, tmp_path: Path, name: str) -> None:
    """Defence in depth. Catches: evaluate() running a stored spec without checking it
    again (the auto_map folder is the loadable tiny-demo: unchecked, it would finish)."""
    from eval_harness.tasks.base import ScoreOptions
    from leaderboard.store.schema import Event, Submission
    from leaderboard.worker import work_once

    spec, reason = _unsafe_specs(tmp_path)[name]
    spec = {**spec, "tasks": ["code_cls"]}
    with store.begin() as session:
        job = Submission(board_id="synthetic-demo", kind="model", model_name=name,
                         submitter="intruder", content_hash=secrets.token_hex(32),
                         payload=spec, events=[Event(status="pending", detail="inserted")])
        session.add(job)
        session.flush()
        job_id = job.id
    outcome = work_once(store, tmp_path, options=ScoreOptions(embeddings=False, resamples=20))
    assert outcome == "failed"
    with store() as session:
        stored = session.get(Submission, job_id)
        assert stored.status == "failed" and reason in (stored.failure_log or ""), (
            stored.failure_category, stored.failure_log)
    assert not (tmp_path / "remote" / "EXECUTED").exists()


# -- the redaction itself -------------------------------------------------------------------

def test_redact_replaces_secret_environment_values_and_credential_shapes() -> None:
    """Catches: a redaction that misses a secret-named variable, a key shape or URL
    credentials, or that mangles ordinary text (short values, task names)."""
    from eval_harness.redact import REDACTED, redact

    env = {"MY_SERVICE_TOKEN": "tok-1234567890", "DB_PASSWORD": "hunter2-hunter2",
           "SOME_KEY": "short", "PATH": "/usr/bin:/bin", "HOME_SECRET_FILE": "   "}
    text = ("token tok-1234567890; pw hunter2-hunter2; flag short; sk-proj-abcDEF12345678; "
            "Authorization: Bearer abc.def-ghi_jkl; postgresql://user:pa55word@db/x; "
            "task-code_cls on /usr/bin")
    out = redact(text, environ=env)
    for secret in ("tok-1234567890", "hunter2-hunter2", "sk-proj-abcDEF12345678",
                   "abc.def-ghi_jkl", "pa55word"):
        assert secret not in out, (secret, out)
    assert "Bearer " + REDACTED in out and "postgresql://" + REDACTED + "@db/x" in out
    assert "flag short" in out and "task-code_cls on /usr/bin" in out
    assert redact("no secrets here", ["given-secret"], environ={}) == "no secrets here"
    assert redact("a given-secret", ["given-secret"], environ={}) == f"a {REDACTED}"


def test_a_failure_log_is_redacted_before_it_is_stored(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    """Catches: queue.fail storing a crash's text (shown on the queue page) with the
    worker's key in it."""
    from leaderboard import queue
    from leaderboard.store.schema import Submission

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    job = Submission(board_id="synthetic-demo", kind="model", events=[])
    queue.fail(None, job, "crash", f"Traceback ...\nAuthenticationError: bad key {SECRET}")
    assert job.status == "failed" and "[REDACTED]" in job.failure_log
    assert not _leaks(job.failure_log) and not _leaks(job.events[-1].detail)


@pytest.mark.parametrize(("spec", "reason"), [
    ({"backend": "openai", "model_args": {"base_url": "https://me:pw-123456@api.example/v1",
                                          "model": "m"}}, "secrets are never part"),
    ({"backend": "openai", "model_args": {"base_url": "https://api.example/v1?key=abc",
                                          "model": "m"}}, "secrets are never part"),
    ({"backend": "openai", "model_args": {"base_url": "https://api.example/v1", "model": "m",
                                          "api_key_env": "OPENAI_API_KEY"}},
     "secrets are never part"),
    ({"backend": "hf", "model_args": {"checkpoint": "tiny-demo"}, "Trust_Remote_Code": 1},
     "trust_remote_code is refused"),
    ({"backend": "hf", "model_args": {"checkpoint": "tiny-demo"}, "loader": "custom"},
     "unknown spec fields: loader"),
])
def test_a_spec_carrying_credentials_or_extra_fields_is_refused(spec: dict, reason: str
                                                                 ) -> None:
    """Catches: a submitter's credentials stored with the spec (and shown on pages), a
    spec choosing which of the worker's variables is sent as the key, fields beside the
    spec that check_spec would silently drop."""
    from leaderboard.model_specs import SpecError, check_spec

    with pytest.raises(SpecError, match=re.escape(reason)):
        check_spec(spec, "synthetic-demo")
