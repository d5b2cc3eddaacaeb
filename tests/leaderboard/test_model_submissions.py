"""Model submissions: refused before storing when unsafe or unrunnable; a tiny Qwen2.5-VL
built from a config goes pending -> running -> finished through the worker."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from eval_harness.tasks.base import ScoreOptions
from leaderboard.store.database import open_store
from leaderboard.store.schema import Submission
from leaderboard.submissions import Rejected, submit_model
from leaderboard.worker import work
from tests.leaderboard.test_submissions import META


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from eval_harness.models.tiny_qwen import build_tiny_qwen

    return build_tiny_qwen(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture
def sessions(sqlite_url: str, synth_dir: Path, tiny_model: Path, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CODEBENCH_DATA_DIR", str(synth_dir))
    monkeypatch.setenv("CODEBENCH_CACHE", str(tmp_path / "cache"))
    # The test's folders are where the operator allows models (the default root is
    # <repo>/checkpoints): their refusals here are for what is in them.
    monkeypatch.setenv("CODEBENCH_MODEL_ROOTS", os.pathsep.join(
        [str(tiny_model.parent), str(tmp_path)]))
    return open_store(sqlite_url)


def _refusal(sessions, spec, board: str = "synthetic-demo") -> str:
    with pytest.raises(Rejected) as caught:
        submit_model(sessions, board, spec, META)
    with sessions() as session:
        assert session.query(Submission).count() == 0
    return str(caught.value)


def test_unsafe_or_unrunnable_specs_are_refused(sessions, tiny_model: Path,
                                                tmp_path: Path) -> None:
    hf = {"backend": "hf", "model_args": {"model": str(tiny_model)}}
    assert "remote code" in _refusal(sessions, {**hf, "model_args": {
        "model": str(tiny_model), "trust_remote_code": "true"}})
    assert "secrets are never part" in _refusal(sessions, {"backend": "openai", "model_args": {
        "base_url": "https://api.example/v1", "model": "m", "api_key": "sk-123"}})
    assert "needs base_url=http(s)" in _refusal(sessions, {"backend": "openai", "model_args": {
        "base_url": "file:///etc/passwd", "model": "m"}})
    assert "unknown checkpoint 'nope'" in _refusal(sessions, {"backend": "hf", "model_args": {
        "checkpoint": "nope"}})
    assert "cannot run models on code-test-600" in _refusal(sessions, hf, "code-test-600")
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text("{}")
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04")
    assert "pickle weights are refused" in _refusal(sessions, {"backend": "hf", "model_args": {
        "model": str(pickled)}})
    remote = tmp_path / "remote"
    remote.mkdir()
    (remote / "model.safetensors").write_bytes(b"")
    (remote / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "x.Model"}}))
    assert "auto_map" in _refusal(sessions, {"backend": "hf", "model_args": {
        "model": str(remote)}})


def test_a_tiny_model_runs_through_the_worker(sessions, tiny_model: Path,
                                              tmp_path: Path) -> None:
    spec = {"backend": "hf", "model_args": {"model": str(tiny_model)}, "tasks": ["code_cls"]}
    accepted = submit_model(sessions, "synthetic-demo", spec, META)
    assert submit_model(sessions, "synthetic-demo", spec, META).duplicate
    assert work(sessions, tmp_path, once=True,
                options=ScoreOptions(embeddings=False, resamples=50)) == 1
    with sessions() as session:
        done = session.get(Submission, accepted.submission_id)
        assert (done.status, [e.status for e in done.events]) == (
            "finished", ["pending", "running", "finished"])
        assert done.payload["model_args"] == {"model": str(tiny_model)}
