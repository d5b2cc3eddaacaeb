"""The ``hf`` backend: Qwen2.5-VL through transformers, with an optional LoRA adapter.

Loads weights from safetensors only and never runs remote code: submitted models are
untrusted. Heavy imports (torch, transformers, peft) happen in the constructor so
that importing the harness stays fast.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

from eval_harness.data.images import model_image
from eval_harness.errors import DataError, UsageError
from eval_harness.hashing import content_hash, file_sha256
from eval_harness.labels.classes import CLASSES
from eval_harness.models.base import Request, Response

DTYPES = ("auto", "float32", "bfloat16")
DEVICES = ("cpu", "cuda", "auto")
CLS_MODES = ("generate", "score")
CLS_TASK = "code_cls"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_FILES = ("adapter_config.json", ADAPTER_WEIGHTS)
# What a checkpoint's answers depend on: weights (safetensors only: pickle is refused),
# configs (model, generation, processor, shard index), tokenizer and chat template.
# The hub download fetches only these too, so a pickle file never lands on disk.
MODEL_PATTERNS = ("*.safetensors", "*.json", "*.jinja", "*.txt", "*.model", "*.tiktoken")
HUB_PROBE_TIMEOUT = 3.0  # seconds to reach the hub before calling the network missing


@functools.cache
def _processor_class():
    """The image-only processor class, built once and lazily (transformers is heavy)."""
    from transformers import Qwen2_5_VLProcessor

    class ImageOnlyQwenProcessor(Qwen2_5_VLProcessor):
        """Qwen2.5-VL processor without a video processor.

        The stock processor requires ``Qwen2VLVideoProcessor``, which needs
        torchvision; ProcessorMixin derives the required parts from ``__init__``'s
        signature, so leaving ``video_processor`` out of it makes images work alone.
        """

        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kw):
            super().__init__(image_processor=image_processor, tokenizer=tokenizer,
                             video_processor=None, chat_template=chat_template, **kw)

    ImageOnlyQwenProcessor.__module__ = __name__
    ImageOnlyQwenProcessor.__qualname__ = "ImageOnlyQwenProcessor"
    return ImageOnlyQwenProcessor


def __getattr__(name: str) -> Any:
    # ``from eval_harness.models.hf import ImageOnlyQwenProcessor`` works, and the
    # class is created once, without importing transformers at module import.
    if name == "ImageOnlyQwenProcessor":
        return _processor_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def model_files(folder: Path) -> list[Path]:
    """The files of a checkpoint folder its answers depend on (top level only: a
    trainer's ``checkpoint-*/`` subfolders are not part of the model)."""
    return sorted({p for pattern in MODEL_PATTERNS for p in folder.glob(pattern)
                   if p.is_file() and not p.name.startswith(".")})


def _require_safetensors(folder: Path, what: str) -> None:
    """Refuse a local folder whose weights are not safetensors (pickle runs code)."""
    if not any(folder.glob("*.safetensors")):
        found = sorted(p.name for p in folder.iterdir() if p.suffix in {".bin", ".pt", ".pth"})
        detail = f" (found {', '.join(found)})" if found else ""
        raise DataError.single(str(folder), f"{what} has no .safetensors weights{detail}; "
                               "pickle weights are refused",
                               fix="convert the weights to safetensors")


def _local_dir(name: str) -> Path | None:
    """The folder `name` names, None for a hub id; a path that is not there is an error
    here rather than a hub lookup of a nonsense repo id (an unreadable traceback)."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if not _HUB_ID.fullmatch(name):
        raise DataError.single(name, "no such folder (and not a hub id like org/name)",
                               fix="give the folder holding config.json and *.safetensors")
    return None


_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


def _hub_reachable(endpoint: str, timeout: float) -> bool:
    """Whether the hub answers HTTP (any status) within ``timeout`` seconds.

    An HTTP request, not a bare TCP connect: sandboxes and proxies accept connections
    they never answer. Run in a thread so that a hanging DNS lookup (which takes no
    timeout) cannot stall the caller either."""
    result: list[bool] = []

    def probe() -> None:
        request = urllib.request.Request(endpoint.rstrip("/") + "/api/models", method="HEAD")
        try:
            urllib.request.urlopen(request, timeout=timeout).close()
            result.append(True)
        except urllib.error.HTTPError:
            result.append(True)  # an answer, even 4xx/5xx: the network is there
        except (OSError, ValueError):  # URLError, timeouts, refused, bad URL
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True, name="hub-probe")
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def hub_snapshot(repo_id: str, patterns: tuple[str, ...], what: str) -> tuple[Path, str]:
    """(local snapshot folder, commit) of a hub repo: the cached copy when there is one,
    else a download of just ``patterns``. No network (or HF_HUB_OFFLINE) is a DataError
    at once, not a minute of the hub client's retries."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=list(patterns),
                                        local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        folder = None
    if folder is not None:
        return folder, folder.name
    fix = f"download it where there is a network (hf download {repo_id}), or give a local folder"
    if constants.HF_HUB_OFFLINE:
        raise DataError.single(repo_id, f"{what} is not in the local hub cache and "
                               "HF_HUB_OFFLINE is set", fix=fix)
    if not _hub_reachable(constants.ENDPOINT, HUB_PROBE_TIMEOUT):
        raise DataError.single(repo_id, f"{what} is not in the local hub cache and "
                               f"{_host(constants.ENDPOINT)} cannot be reached (no network?)",
                               fix=fix)
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=list(patterns)))
    except (HfHubHTTPError, OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError.single(repo_id, f"cannot download the {what}: {first}",
                               fix=fix) from None
    return folder, folder.name


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _adapter_folder(adapter: str) -> Path:
    """Local folder holding the adapter's config and safetensors weights."""
    folder = _local_dir(adapter)
    if folder is None:
        # Only the safetensors file is fetched, so a pickle-only adapter ends up
        # refused below instead of being unpickled by peft.
        folder, _ = hub_snapshot(adapter, ADAPTER_FILES, "adapter")
    if not (folder / ADAPTER_WEIGHTS).is_file():
        raise DataError.single(adapter, f"adapter has no {ADAPTER_WEIGHTS}; pickle adapters "
                               "are refused", fix="save the adapter with safe_serialization=True")
    return folder


def load_processor(folder: Path):
    """The image-only Qwen2.5-VL processor of a local model folder.

    Parts are loaded one by one: AutoProcessor on an image-only folder returns just the
    tokenizer, and the real checkpoints' video processor needs torchvision."""
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False,
                                              local_files_only=True)
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(str(folder),
                                                               local_files_only=True)
    template = tokenizer.chat_template or _local_chat_template(Path(folder))
    return _processor_class()(image_processor=image_processor, tokenizer=tokenizer,
                              chat_template=template)


def _local_chat_template(folder: Path) -> str | None:
    if (folder / "chat_template.jinja").is_file():
        return (folder / "chat_template.jinja").read_text(encoding="utf-8")
    if (folder / "chat_template.json").is_file():
        data = json.loads((folder / "chat_template.json").read_text(encoding="utf-8"))
        return data.get("chat_template")
    return None


def resolve_model_folder(name: str) -> tuple[Path, str | None]:
    """(local folder, hub commit or None) of a model name: a local folder as is, a hub
    id as its cached snapshot (never downloaded here); safetensors weights required."""
    local = _local_dir(name)
    if local is None:
        local, revision = hub_snapshot(name, MODEL_PATTERNS, "model")
    else:
        revision = None
    _require_safetensors(local, "model folder")
    return local, revision


class HFBackend:
    """Qwen2.5-VL (or any image-text-to-text model with a chat template) on one device."""

    def __init__(self, model: str, adapter: str | None = None, merge: bool = False,
                 dtype: str = "auto", device: str = "cpu", max_pixels: int | None = None,
                 cls_mode: str = "generate") -> None:
        if dtype not in DTYPES:
            raise UsageError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        if device not in DEVICES:
            raise UsageError(f"device must be one of {DEVICES}, got {device!r}")
        if cls_mode not in CLS_MODES:
            raise UsageError(f"cls_mode must be one of {CLS_MODES}, got {cls_mode!r}")
        import torch

        self._torch = torch
        self.name = model
        self.adapter = adapter
        self.merged = bool(adapter) and merge
        self.max_pixels = max_pixels
        self.cls_mode = cls_mode
        self.device = self._resolve_device(device)
        self.dtype = self._resolve_dtype(dtype)
        # Everything loads from one local folder (a hub id: its cached snapshot), and
        # that folder's files are hashed before loading: the hash names exactly the
        # weights, configs and tokenizer that answered, so the response cache can never
        # serve the answers of a checkpoint that was since rebuilt in place.
        self.folder, self.revision = self._resolve_folder()
        self.model_sha256 = content_hash(model_files(self.folder), root=self.folder)
        self.model = self._load_model()
        self.adapter_sha256: str | None = None
        self.adapter_files_sha256: str | None = None
        if adapter:
            self._apply_adapter(adapter, merge)
        self.processor = self._load_processor()
        self.tokenizer = self.processor.tokenizer
        # Batched generation only lines up new tokens when prompts are left-padded.
        self.tokenizer.padding_side = "left"

    # -- loading -------------------------------------------------------------------

    def _resolve_device(self, device: str) -> str:
        if device == "auto":
            return "cuda" if self._torch.cuda.is_available() else "cpu"
        return device

    def _resolve_dtype(self, dtype: str):
        torch = self._torch
        if dtype == "auto":
            # bf16 halves memory on GPUs; on CPU it is slow and changes numerics.
            use_bf16 = self.device == "cuda" and torch.cuda.is_bf16_supported()
            return torch.bfloat16 if use_bf16 else torch.float32
        return getattr(torch, dtype)

    def _resolve_folder(self) -> tuple[Path, str | None]:
        return resolve_model_folder(self.name)

    def _load_model(self):
        from transformers import AutoModelForImageTextToText

        try:
            model = AutoModelForImageTextToText.from_pretrained(
                str(self.folder), dtype=self.dtype, use_safetensors=True,
                trust_remote_code=False, local_files_only=True)
        except OSError as err:  # missing or unreadable files, ...
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise DataError.single(self.name, f"cannot load the model: {first}",
                                   fix="download it first, or give a local folder") from None
        return model.to(self.device).eval()

    def _apply_adapter(self, adapter: str, merge: bool) -> None:
        from peft import PeftModel

        folder = _adapter_folder(adapter)
        # Hash before loading: the hash names exactly the weights that were applied.
        # The config counts too (lora_alpha scales every update).
        self.adapter_sha256 = file_sha256(folder / ADAPTER_WEIGHTS)
        self.adapter_files_sha256 = content_hash(
            [p for p in (folder / name for name in ADAPTER_FILES) if p.is_file()], root=folder)
        model = PeftModel.from_pretrained(self.model, str(folder), is_trainable=False,
                                          local_files_only=True)
        if merge:
            model = model.merge_and_unload()
        self.model = model.eval()

    def _load_processor(self):
        return load_processor(self.folder)

    # -- protocol ------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "hf",
            "name": self.name,
            "revision": self.revision,
            # Content hashes (weights, configs, tokenizer): part of the cache key.
            "model_sha256": self.model_sha256,
            "adapter": self.adapter,
            "adapter_sha256": self.adapter_sha256,
            "adapter_files_sha256": self.adapter_files_sha256,
            "merged": self.merged,
            "dtype": str(self.dtype).removeprefix("torch."),
            "decoding": {"do_sample": False, "num_beams": 1, "padding_side": "left",
                         "skip_special_tokens": True},
            "cls_mode": self.cls_mode,
        }

    def generate(self, batch: list[Request]) -> list[Response]:
        responses: list[Response | None] = [None] * len(batch)
        prepared: list[tuple[int, Request, list[Image.Image]]] = []
        for index, request in enumerate(batch):
            try:
                prepared.append((index, request, self._load_images(request)))
            except DataError as err:
                responses[index] = _failed(err)
        scored = [p for p in prepared if self._scores(p[1])]
        generated = [p for p in prepared if not self._scores(p[1])]
        for index, request, images in scored:
            responses[index] = self._guarded(self._score_one, request, images)
        for index, response in self._generate_batch(generated):
            responses[index] = response
        return [r if r is not None else Response(text=None, failed=True, error="no response")
                for r in responses]

    # -- inputs --------------------------------------------------------------------

    def _scores(self, request: Request) -> bool:
        return self.cls_mode == "score" and request.task == CLS_TASK

    def _pixel_budget(self, request: Request) -> int:
        if self.max_pixels is None:
            return request.max_pixels
        return min(request.max_pixels, self.max_pixels)

    def _load_images(self, request: Request) -> list[Image.Image]:
        budget = self._pixel_budget(request)
        return [model_image(Path(path), budget, checkup_id=request.sample_id)
                for path in request.images]

    def _prompt(self, request: Request, n_images: int) -> str:
        from eval_harness.tasks.prompts import chat_messages

        return self.processor.apply_chat_template(chat_messages(request, n_images),
                                                  tokenize=False, add_generation_prompt=True)

    def _encode(self, texts: list[str], images: list[Image.Image]):
        inputs = self.processor(text=texts, images=images or None, padding=True,
                                return_tensors="pt")
        # Keep mm_token_type_ids: the model needs it to compute the 3-D (mrope)
        # positions of image tokens; without it they silently get 1-D positions.
        inputs = inputs.to(self.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        return inputs

    # -- generation ----------------------------------------------------------------

    def _generate_batch(self, items: list[tuple[int, Request, list[Image.Image]]]
                        ) -> list[tuple[int, Response]]:
        if not items:
            return []
        try:
            texts = self._run_generate([(r, imgs) for _, r, imgs in items])
            return [(i, Response(text=t)) for (i, _, _), t in zip(items, texts, strict=True)]
        except (RuntimeError, ValueError) as err:
            if len(items) == 1:
                return [(items[0][0], _failed(err))]
            self._free_memory()
        # The batch failed as a whole: retry one at a time so only the culprit fails.
        return [(i, self._guarded(self._generate_one, r, imgs)) for i, r, imgs in items]

    def stream(self, request: Request) -> Iterator[str]:
        """The greedy answer to one request as it grows, token by token (the demo's live
        report): the last value equals what ``generate`` answers."""
        from transformers import TextIteratorStreamer

        images = self._load_images(request)
        inputs = self._encode([self._prompt(request, len(images))], images)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True,
                                        skip_special_tokens=True)

        def run() -> None:
            with self._torch.inference_mode():
                self.model.generate(**inputs, do_sample=False, num_beams=1,
                                    max_new_tokens=request.max_new_tokens, streamer=streamer,
                                    pad_token_id=self.tokenizer.pad_token_id,
                                    eos_token_id=self.tokenizer.eos_token_id)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        text = ""
        for piece in streamer:
            text += piece
            yield text.strip()
        worker.join()

    def _generate_one(self, request: Request, images: list[Image.Image]) -> Response:
        return Response(text=self._run_generate([(request, images)])[0])

    def _run_generate(self, items: list[tuple[Request, list[Image.Image]]]) -> list[str]:
        torch = self._torch
        texts = [self._prompt(r, len(imgs)) for r, imgs in items]
        inputs = self._encode(texts, [img for _, imgs in items for img in imgs])
        max_new = max(r.max_new_tokens for r, _ in items)
        with torch.inference_mode():
            output = self.model.generate(
                **inputs, do_sample=False, num_beams=1, max_new_tokens=max_new,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.tokenizer.eos_token_id)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        # Greedy decoding is per-row, so cutting a longer batch run to each request's
        # own budget gives exactly what a run with that budget would.
        return [self.tokenizer.decode(row[: r.max_new_tokens], skip_special_tokens=True).strip()
                for row, (r, _) in zip(new_tokens, items, strict=True)]

    # -- classification by likelihood ---------------------------------------------

    def _score_one(self, request: Request, images: list[Image.Image]) -> Response:
        torch = self._torch
        prompt = self._prompt(request, len(images))
        inputs = self._encode([prompt + name for name in CLASSES], images * len(CLASSES))
        answer_ids = [self.tokenizer(name, add_special_tokens=False)["input_ids"]
                      for name in CLASSES]
        with torch.inference_mode():
            logits = self.model(**inputs).logits.float()
        log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
        targets = inputs["input_ids"][:, 1:]
        for row, ids in enumerate(answer_ids):
            if targets[row, -len(ids):].tolist() != ids:
                # The tokenizer merged the answer with the prompt's last token, so the
                # answer's tokens cannot be isolated: refuse rather than mis-score.
                raise ValueError(f"answer {CLASSES[row]!r} does not tokenize on its own "
                                 "after the prompt")
        token_lp = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        # Left padding puts every candidate's answer at the very end of its row.
        totals = torch.stack([token_lp[row, -len(ids):].sum()
                              for row, ids in enumerate(answer_ids)])
        probs = torch.softmax(totals, dim=0).tolist()
        best = int(torch.argmax(totals))
        return Response(text=CLASSES[best],
                        scores=dict(zip(CLASSES, probs, strict=True)),
                        meta={"loglik": dict(zip(CLASSES, totals.tolist(), strict=True))})

    # -- errors --------------------------------------------------------------------

    def _guarded(self, fn, request: Request, images: list[Image.Image]) -> Response:
        """Run one request; a model-side failure becomes a failed Response."""
        try:
            return fn(request, images)
        except (RuntimeError, ValueError) as err:
            # RuntimeError includes torch.OutOfMemoryError; ValueError is what the
            # processor raises for unusable inputs (e.g. extreme aspect ratios).
            self._free_memory()
            return _failed(err)

    def _free_memory(self) -> None:
        if self.device == "cuda":
            self._torch.cuda.empty_cache()


def _failed(err: BaseException) -> Response:
    return Response(text=None, failed=True, error=f"{type(err).__name__}: {err}")
