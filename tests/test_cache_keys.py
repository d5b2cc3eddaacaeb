"""The response cache never serves stale answers: local models are keyed by content.

A checkpoint rebuilt in place (same folder, same file sizes, new weights) must miss
the cache; an unchanged one must hit it without its weights being read again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval_harness import hashing
from eval_harness.hashing import HashMemo, content_hash, file_sha256, sha256_file


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEBENCH_CACHE", str(tmp_path / "cache"))


# -- the file hasher -------------------------------------------------------------------------

def _counting(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Patch the one function that reads file bytes; return the list of paths it read."""
    read: list[Path] = []
    real = hashing.sha256_file

    def counted(path):
        read.append(Path(path))
        return real(path)

    monkeypatch.setattr(hashing, "sha256_file", counted)
    return read


def test_memo_skips_unchanged_files_and_rereads_overwritten(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"A" * 4096)
    memo = HashMemo()
    read = _counting(monkeypatch)
    first = memo.sha256(weights)
    assert first == sha256_file(weights) and read == [weights]
    for _ in range(3):  # same size, mtime, ctime, inode: never read again
        assert memo.sha256(weights) == first
    assert read == [weights] and memo.reads == 1

    # Overwritten in place with the same size (a retrained checkpoint of the same
    # architecture), even with its old mtime put back: read again, new digest.
    stat = weights.stat()
    weights.write_bytes(b"B" * 4096)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    while weights.stat().st_ctime_ns == stat.st_ctime_ns:
        # A coarse filesystem clock has not ticked since the first write: wait for it,
        # then touch the metadata again (ctime moves to now; mtime stays the old one).
        time.sleep(0.005)
        os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert weights.stat().st_size == stat.st_size
    assert memo.sha256(weights) == sha256_file(weights) != first
    assert memo.reads == 2


def test_memo_persists_across_processes_for_large_files(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    weights = tmp_path / "big.safetensors"
    weights.write_bytes(os.urandom(2048))
    db = tmp_path / "memo" / "file-hashes.sqlite"
    digest = HashMemo(db, disk_min_bytes=1024).sha256(weights)
    read = _counting(monkeypatch)
    again = HashMemo(db, disk_min_bytes=1024)  # a fresh process: empty memory memo
    assert again.sha256(weights) == digest and read == [] and again.reads == 0
    weights.write_bytes(os.urandom(2048))
    assert again.sha256(weights) == sha256_file(weights) != digest
    # Small files stay out of the on-disk memo (they are cheap to re-read).
    small = HashMemo(tmp_path / "other.sqlite")
    small.sha256(weights)
    assert not (tmp_path / "other.sqlite").exists()


def test_content_hash_names_and_contents(tmp_path: Path) -> None:
    one, two = tmp_path / "a", tmp_path / "b"
    for folder in (one, two):
        folder.mkdir()
        (folder / "config.json").write_text("{}")
        (folder / "model.safetensors").write_bytes(b"w")
    files = sorted(one.iterdir())
    same = content_hash(files, root=one)
    assert same == content_hash(sorted(two.iterdir(), reverse=True), root=two)  # order, place
    (two / "config.json").write_text('{"x": 1}')
    assert content_hash(sorted(two.iterdir()), root=two) != same
    (one / "config.json").rename(one / "config2.json")
    assert content_hash(sorted(one.iterdir()), root=one) != same  # names count too
    assert file_sha256(one / "model.safetensors") == sha256_file(one / "model.safetensors")


# -- the hf backend through the runner -------------------------------------------------------

def _run(model_dir: Path, synth_dir: Path, cache_path: Path, adapter: Path | None = None):
    from eval_harness.data.load import load_checkups
    from eval_harness.models.hf import HFBackend
    from eval_harness.runner import ResponseCache, run_model
    from eval_harness.tasks.prompts import PromptOptions

    checkups = sorted((c for c in load_checkups(synth_dir) if c.split == "test"),
                      key=lambda c: c.checkup_id)[:5]
    backend = HFBackend(str(model_dir), adapter=str(adapter) if adapter else None,
                        max_pixels=56 * 56)
    prompt = PromptOptions(max_images=1, max_pixels=56 * 56,
                           max_new_tokens={"code_cls": 3, "code_report": 3})
    out, stats = run_model(checkups, ["code_cls", "code_report"], backend, prompt=prompt,
                           batch_size=5, cache=ResponseCache(cache_path), progress=False)
    return out, stats


def test_checkpoint_rebuilt_in_place_misses_the_cache(tmp_path: Path, synth_dir: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from eval_harness.models.tiny_qwen import build_tiny_qwen

    model_dir = build_tiny_qwen(tmp_path / "ckpt", seed=0)
    cache_path = tmp_path / "responses.sqlite"
    _, first = _run(model_dir, synth_dir, cache_path)
    assert first.requests == 10 and first.cached == 0 and first.generated == 10
    _, repeat = _run(model_dir, synth_dir, cache_path)
    assert repeat.cached == 10 and repeat.generated == 0  # unchanged: all from cache

    size = (model_dir / "model.safetensors").stat().st_size
    build_tiny_qwen(model_dir, seed=1)  # retrained in place: same folder, same sizes
    assert (model_dir / "model.safetensors").stat().st_size == size
    _, rebuilt = _run(model_dir, synth_dir, cache_path)
    assert rebuilt.cached == 0 and rebuilt.generated == 10


def test_adapter_config_change_misses_the_cache(tmp_path: Path) -> None:
    """lora_alpha scales every update: an edited adapter config is a different model."""
    pytest.importorskip("peft")
    import json

    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2_5_VLForConditionalGeneration

    from eval_harness.models.hf import HFBackend
    from eval_harness.models.tiny_qwen import build_tiny_qwen

    model_dir = build_tiny_qwen(tmp_path / "ckpt", seed=0)
    peft_model = get_peft_model(Qwen2_5_VLForConditionalGeneration.from_pretrained(model_dir),
                                LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj"]))
    adapter = tmp_path / "lora"
    peft_model.save_pretrained(adapter, safe_serialization=True)
    before = HFBackend(str(model_dir), adapter=str(adapter)).describe()
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["lora_alpha"] = 64
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    after = HFBackend(str(model_dir), adapter=str(adapter)).describe()
    assert after["adapter_sha256"] == before["adapter_sha256"]  # same weights file
    assert after["adapter_files_sha256"] != before["adapter_files_sha256"]
    assert after["model_sha256"] == before["model_sha256"]


# -- hub ids: no network is an error at once -------------------------------------------------

MISSING_REPO = "codebench-tests/no-such-model-0000"


def _assert_data_error_after_probes(monkeypatch: pytest.MonkeyPatch, match: str,
                                    probes: int) -> None:
    """The load fails with a DataError after exactly ``probes`` reachability probes (one
    bounded HTTP request each), never through the hub client's retry loop: what makes
    it fail at once, counted rather than timed (a loaded machine makes any time limit
    flaky)."""
    from eval_harness.errors import DataError
    from eval_harness.models import hf
    from eval_harness.models.hf import HFBackend

    calls: list[float] = []
    real = hf._hub_reachable

    def counted(endpoint: str, timeout: float) -> bool:
        calls.append(timeout)
        return real(endpoint, timeout)

    monkeypatch.setattr(hf, "_hub_reachable", counted)
    with pytest.raises(DataError, match=match):
        HFBackend(MISSING_REPO)
    assert calls == [hf.HUB_PROBE_TIMEOUT] * probes


def test_uncached_hub_id_offline_fails_at_once(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    _assert_data_error_after_probes(monkeypatch, "not in the local hub cache and HF_HUB_OFFLINE",
                                    probes=0)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers (a black-holed proxy)."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes handshakes; nothing ever replies
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_uncached_hub_id_without_network_fails_at_once(monkeypatch: pytest.MonkeyPatch,
                                                       silent_server: str, kind: str) -> None:
    """HF_HUB_OFFLINE unset and no network: a probe, not the hub client's retries."""
    pytest.importorskip("torch")
    from huggingface_hub import constants

    from eval_harness.models import hf

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    endpoint = "http://127.0.0.1:9" if kind == "refused" else silent_server
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(hf, "HUB_PROBE_TIMEOUT", 1.0)

    def no_download(*args, **kwargs):
        if not kwargs.get("local_files_only"):
            raise AssertionError("downloaded although the hub cannot be reached")
        return real(*args, **kwargs)

    import huggingface_hub

    real = huggingface_hub.snapshot_download
    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_download)
    _assert_data_error_after_probes(monkeypatch, "cannot be reached", probes=1)
