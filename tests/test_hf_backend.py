"""The hf backend on a tiny Qwen2.5-VL built from a config: the real code path, on CPU."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from eval_harness.errors import DataError
from eval_harness.labels.classes import CLASSES
from eval_harness.models.base import Request

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from eval_harness.models.tiny_qwen import build_tiny_qwen

    return build_tiny_qwen(tmp_path_factory.mktemp("tiny") / "qwen", seed=0)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from PIL import Image

    folder = tmp_path_factory.mktemp("img")
    paths = []
    # Different colours and sizes, one larger than the pixel budget used below.
    for i, (colour, size) in enumerate([((200, 40, 40), (90, 60)), ((40, 200, 40), (60, 90)),
                                        ((40, 40, 200), (300, 200))]):
        path = folder / f"0001-00{i}-01.jpg"
        Image.new("RGB", size, colour).save(path, format="JPEG")
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def backend(tiny_dir: Path):
    from eval_harness.models.hf import HFBackend

    return HFBackend(str(tiny_dir), max_pixels=112 * 112)


def _requests(images: list[Path]) -> list[Request]:
    return [
        Request("0001-001", "code_report", None, "Write the diagnostic report.",
                (images[0],), max_new_tokens=6),
        Request("0001-002", "code_report", "You are an experienced dentist.",
                "Write the diagnostic report.", (images[1], images[2]), max_new_tokens=10),
        Request("0001-003", "code_cls", None, "Answer with the class name only.",
                (images[2],), max_new_tokens=4),
    ]


@pytest.fixture(scope="module")
def adapter_dir(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2_5_VLForConditionalGeneration

    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_dir)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8,
                                                  target_modules=["q_proj", "v_proj"]))
    # lora_B starts at zero (a no-op adapter); perturb it so outputs really change.
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator))
    out = tmp_path_factory.mktemp("adapter") / "lora"
    peft_model.save_pretrained(out, safe_serialization=True)
    return out


def _texts(responses) -> list[str | None]:
    return [r.text for r in responses]


def test_tiny_build_is_deterministic_per_seed(tiny_dir: Path, tmp_path: Path) -> None:
    from eval_harness.models.tiny_qwen import build_tiny_qwen

    def digest(folder: Path) -> str:
        return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()

    again = build_tiny_qwen(tmp_path / "again", seed=0)
    other = build_tiny_qwen(tmp_path / "other", seed=1)
    assert digest(again) == digest(tiny_dir)
    assert digest(other) != digest(tiny_dir)
    assert (again / "tokenizer.json").read_bytes() == (tiny_dir / "tokenizer.json").read_bytes()
    assert not list(tiny_dir.glob("*.bin"))


def test_tokenizer_and_processor_load_without_torchvision(tiny_dir: Path) -> None:
    from eval_harness.models.hf import ImageOnlyQwenProcessor

    processor = ImageOnlyQwenProcessor.from_pretrained(tiny_dir)
    tokenizer = processor.tokenizer
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.padding_side == "left"
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]}]
    prompt = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert prompt == ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                      "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Hi"
                      "<|im_end|>\n<|im_start|>assistant\n")


def test_generate_strings_deterministic(backend, images: list[Path]) -> None:
    requests = _requests(images)
    first = backend.generate(requests)
    second = backend.generate(requests)
    assert len(first) == len(requests)
    assert all(not r.failed and isinstance(r.text, str) for r in first)
    assert _texts(first) == _texts(second)


def test_batched_equals_one_at_a_time(backend, images: list[Path]) -> None:
    requests = _requests(images)
    batched = _texts(backend.generate(requests))
    single = [backend.generate([r])[0].text for r in requests]
    assert batched == single


def test_describe(backend, tiny_dir: Path) -> None:
    info = backend.describe()
    assert info["backend"] == "hf"
    assert info["name"] == str(tiny_dir)
    assert info["revision"] is None  # a local folder has no commit
    assert info["adapter"] is None and info["adapter_sha256"] is None
    assert info["adapter_files_sha256"] is None
    assert len(info["model_sha256"]) == 64  # weights, configs, tokenizer: in the cache key
    assert info["decoding"]["do_sample"] is False
    assert info["dtype"] == "float32"
    assert info["cls_mode"] == "generate"


def test_missing_image_fails_only_that_request(backend, images: list[Path],
                                               tmp_path: Path) -> None:
    requests = _requests(images)
    broken = Request("0002-001", "code_report", None, "Write the diagnostic report.",
                     (tmp_path / "missing.jpg",), max_new_tokens=5)
    corrupt_path = tmp_path / "corrupt.jpg"
    corrupt_path.write_bytes(b"\xff\xd8not a jpeg")
    corrupt = Request("0002-002", "code_report", None, "x", (corrupt_path,), max_new_tokens=5)
    responses = backend.generate([requests[0], broken, requests[1], corrupt])
    assert responses[1].failed and "missing" in responses[1].error
    assert responses[3].failed and "DataError" in responses[3].error
    good = _texts(backend.generate(requests[:2]))
    assert [responses[0].text, responses[2].text] == good
    assert not responses[0].failed and not responses[2].failed


def test_adapter_changes_outputs_and_merge_matches(tiny_dir: Path, adapter_dir: Path,
                                                   backend, images: list[Path]) -> None:
    from eval_harness.models.hf import HFBackend

    requests = _requests(images)
    base = _texts(backend.generate(requests))
    applied = HFBackend(str(tiny_dir), adapter=str(adapter_dir), max_pixels=112 * 112)
    merged = HFBackend(str(tiny_dir), adapter=str(adapter_dir), merge=True,
                       max_pixels=112 * 112)
    with_adapter = _texts(applied.generate(requests))
    assert with_adapter != base
    assert _texts(merged.generate(requests)) == with_adapter
    expected = hashlib.sha256((adapter_dir / "adapter_model.safetensors").read_bytes())
    info = applied.describe()
    assert info["adapter_sha256"] == expected.hexdigest()
    assert info["adapter_files_sha256"] not in (None, info["adapter_sha256"])  # + config
    assert info["model_sha256"] == backend.describe()["model_sha256"]
    assert info["adapter"] == str(adapter_dir)
    assert info["merged"] is False and merged.describe()["merged"] is True


def test_score_mode_ranks_classes(tiny_dir: Path, images: list[Path]) -> None:
    from eval_harness.models.hf import HFBackend

    scorer = HFBackend(str(tiny_dir), cls_mode="score", max_pixels=112 * 112)
    requests = _requests(images)
    responses = scorer.generate(requests)
    cls = responses[2]
    assert not cls.failed and cls.text in CLASSES
    assert set(cls.scores) == set(CLASSES)
    assert sum(cls.scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert cls.text == max(cls.scores, key=cls.scores.get)
    # Report requests still generate text in score mode.
    assert responses[0].scores is None and isinstance(responses[0].text, str)
    assert scorer.describe()["cls_mode"] == "score"


def test_pickle_weights_refused(tiny_dir: Path, tmp_path: Path) -> None:
    import torch

    from eval_harness.models.hf import HFBackend

    folder = tmp_path / "pickled"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (folder / name).write_bytes((tiny_dir / name).read_bytes())
    torch.save({"w": torch.zeros(1)}, folder / "pytorch_model.bin")
    with pytest.raises(DataError, match="safetensors"):
        HFBackend(str(folder))


def test_bad_options_rejected(tiny_dir: Path) -> None:
    from eval_harness.errors import UsageError
    from eval_harness.models.hf import HFBackend

    with pytest.raises(UsageError, match="cls_mode"):
        HFBackend(str(tiny_dir), cls_mode="vote")
    with pytest.raises(UsageError, match="dtype"):
        HFBackend(str(tiny_dir), dtype="float16")


def test_resize_to_budget_keeps_aspect() -> None:
    from PIL import Image

    from eval_harness.data.images import resize_to_budget

    image = Image.new("L", (400, 100))
    out = resize_to_budget(image, 100 * 100)
    assert out.mode == "RGB"
    assert out.size[0] * out.size[1] <= 100 * 100
    assert out.size == (200, 50)
    assert resize_to_budget(Image.new("RGB", (10, 10)), 1000).size == (10, 10)
    for size in [(1000, 1), (997, 613), (28, 28 * 600), (1, 500_000), (500_000, 2)]:
        small = resize_to_budget(Image.new("RGB", size), 401_408)
        assert small.width * small.height <= 401_408


def test_failed_batch_falls_back_to_one_at_a_time(tiny_dir: Path, images: list[Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from eval_harness.models.hf import HFBackend

    backend = HFBackend(str(tiny_dir), max_pixels=112 * 112)
    requests = _requests(images)
    expected = [backend.generate([r])[0].text for r in requests]
    real_generate = backend.model.generate
    singles: list[int] = []

    def flaky_generate(**kwargs):
        # The whole batch runs out of memory; alone, only the second request does.
        if kwargs["input_ids"].shape[0] > 1:
            raise torch.OutOfMemoryError("batch too large")
        singles.append(1)
        if len(singles) == 2:
            raise torch.OutOfMemoryError("still too large")
        return real_generate(**kwargs)

    monkeypatch.setattr(backend.model, "generate", flaky_generate)
    responses = backend.generate(requests)
    assert responses[1].failed and "OutOfMemoryError" in responses[1].error
    assert [responses[0].text, responses[2].text] == [expected[0], expected[2]]


def test_pickle_adapter_refused(tiny_dir: Path, adapter_dir: Path, tmp_path: Path) -> None:
    from eval_harness.models.hf import HFBackend

    folder = tmp_path / "pickled-adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_bytes((adapter_dir / "adapter_config.json").read_bytes())
    (folder / "adapter_model.bin").write_bytes(b"not loaded")
    with pytest.raises(DataError, match=r"adapter_model\.safetensors"):
        HFBackend(str(tiny_dir), adapter=str(folder))


def test_bfloat16_generates(tiny_dir: Path, images: list[Path]) -> None:
    from eval_harness.models.hf import HFBackend

    backend = HFBackend(str(tiny_dir), dtype="bfloat16", max_pixels=112 * 112)
    responses = backend.generate(_requests(images)[:2])
    assert all(not r.failed and isinstance(r.text, str) for r in responses)
    assert backend.describe()["dtype"] == "bfloat16"


def test_run_cli_with_lora_and_score_mode(tiny_dir: Path, adapter_dir: Path, synth_dir: Path,
                                          tmp_path: Path) -> None:
    """`python -m eval_harness run --model hf` end to end: adapter applied, classes ranked."""
    import json

    from eval_harness.cli import main
    from eval_harness.results import read_results

    out = tmp_path / "run"
    assert main(["run", "--model", "hf", "--model-args", f"model={tiny_dir},adapter={adapter_dir}",
                 "--cls-mode", "score", "--data", str(synth_dir), "--limit", "3",
                 "--max-images", "1", "--max-pixels", str(56 * 56), "--batch-size", "3",
                 "--output", str(out), "--no-cache", "--no-embeddings", "--resamples", "20",
                 "--quiet"]) == 0
    document, samples = read_results(out)
    assert document.model["adapter_sha256"] == hashlib.sha256(
        (adapter_dir / "adapter_model.safetensors").read_bytes()).hexdigest()
    assert document.model["cls_mode"] == "score"
    cls = document.tasks["code_cls"]
    assert cls.n == 3 and cls.n_unparseable == 0 and cls.n_failed == 0
    assert document.tasks["code_report"].n == 3 and len(samples) == 6
    lines = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    ranked = [x for x in lines if x["task"] == "code_cls"]
    assert all(x["prediction"] in CLASSES and abs(sum(x["scores"].values()) - 1) < 1e-5
               for x in ranked)


def test_hf_and_openai_show_the_same_pixels(backend, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """One request, two backends: the image hf hands its processor and the image the
    OpenAI-compatible server decodes from the payload are the same pixels."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    from eval_harness.models.openai_backend import OpenAIBackend
    from tests.fake_openai_server import FakeOpenAIServer

    rng = np.random.default_rng(0)
    paths = [tmp_path / "photo.jpg", tmp_path / "xray.png", tmp_path / "rgba.png"]
    # Noise, so any difference in resampling, rounding or lossy encoding shows.
    Image.fromarray(rng.integers(0, 256, (301, 397, 3), dtype=np.uint8)).save(paths[0])
    Image.fromarray(rng.integers(0, 256, (90, 70), dtype=np.uint8)).save(paths[1])
    Image.fromarray(rng.integers(0, 256, (150, 213, 4), dtype=np.uint8), "RGBA").save(paths[2])
    request = Request("0009-001", "code_report", None, "Write the diagnostic report.",
                      tuple(paths), max_new_tokens=2, max_pixels=97 * 89)

    seen: list[Image.Image] = []
    real_encode = backend._encode

    def spy(texts, images):
        seen.extend(images)
        return real_encode(texts, images)

    monkeypatch.setattr(backend, "_encode", spy)
    assert not backend.generate([request])[0].failed
    monkeypatch.setenv("CODEBENCH_TEST_KEY", "k")
    with FakeOpenAIServer() as server:
        sent = OpenAIBackend("m", base_url=server.base_url, api_key_env="CODEBENCH_TEST_KEY",
                             max_retries=0).generate([request])
    assert not sent[0].failed, sent[0].error
    urls = [p["image_url"]["url"] for p in server.requests[0].body["messages"][-1]["content"]
            if p["type"] == "image_url"]
    decoded = [Image.open(io.BytesIO(base64.b64decode(u.split(",", 1)[1]))) for u in urls]
    assert len(seen) == len(decoded) == 3
    for hf_image, api_image in zip(seen, decoded, strict=True):
        assert api_image.format == "PNG"  # lossless: the server sees these exact pixels
        assert hf_image.mode == api_image.mode == "RGB"
        assert hf_image.size == api_image.size
        assert hf_image.tobytes() == api_image.tobytes()
    assert seen[0].width * seen[0].height <= 97 * 89 < 301 * 397  # really resized
