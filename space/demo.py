"""The live demo: an uploaded checkup through the harness's prompt builder and a model.

The model loads lazily on first use (so the page starts fast) and answers both tasks:
the class with its probabilities (the harness's score mode: log-likelihood of each class
name) and the nine-section report. Uploaded images are copied into a private folder for
the request and deleted with it. Nothing here scores or stores anything.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval_harness.data.checkup import TEXT_FIELDS, Checkup
from eval_harness.data.images import open_image
from eval_harness.errors import DataError

MAX_IMAGES = 8
MAX_PIXELS_IN = 40_000_000  # a decoded upload larger than this is refused, not resized
NOT_CLINICAL = ("a tiny Qwen2.5-VL-architecture model trained on synthetic cartoons: it shows "
                "the pipeline working and is not for clinical use")


class UploadError(ValueError):
    """An upload the demo refuses, with the reason in plain words."""


@dataclass
class DemoModel:
    """A registry checkpoint (or model folder, or endpoint spec), loaded on first use."""

    checkpoint: str = "tiny-demo"
    _backend: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def describe(self) -> str:
        if self.checkpoint == "tiny-demo":
            return f"checkpoint `tiny-demo`: {NOT_CLINICAL}"
        return f"checkpoint `{self.checkpoint}`"

    def backend(self) -> Any:
        with self._lock:  # one load, however many requests arrive at once
            if self._backend is None:
                from eval_harness.models.registry import create_model

                args = ({"model": self.checkpoint} if Path(self.checkpoint).is_dir()
                        else {"checkpoint": self.checkpoint})
                self._backend = create_model("hf", {**args, "cls_mode": "score"}, [], 0)
            return self._backend


def _checkup(folder: Path, photos: list[str], radios: list[str], age: float | None,
             gender: str | None, complaint: str) -> Checkup:
    texts = dict.fromkeys(TEXT_FIELDS, "")
    texts["chief_complaint"] = complaint.strip()
    return Checkup(checkup_id="upload", patient_id="upload", row_id=0,
                   age=int(age) if age else None, gender=gender or None, visit_time=None,
                   photographs=tuple(photos), radiographs=tuple(radios), language="en",
                   texts=texts, anomalies=(), classes=(), primary=None, split="test",
                   label_map="", image_root=folder)


def stage_uploads(photos: list[str] | None, radios: list[str] | None, folder: Path
                  ) -> tuple[list[str], list[str]]:
    """Check every upload (an image, within the pixel limit; at most MAX_IMAGES) and copy
    it into ``folder`` in the COde layout. UploadError names the file and the problem."""
    photos, radios = list(photos or []), list(radios or [])
    if not photos and not radios:
        raise UploadError("upload at least one intraoral photograph or radiograph")
    if len(photos) + len(radios) > MAX_IMAGES:
        raise UploadError(f"{len(photos) + len(radios)} images: at most {MAX_IMAGES} per "
                          "checkup")
    names: dict[str, list[str]] = {"Photographs": [], "Radiographs": []}
    for kind, paths in (("Photographs", photos), ("Radiographs", radios)):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        for n, path in enumerate(paths, start=1):
            shown = Path(path).name
            try:  # open_image refuses non-images, truncated files and pixel bombs
                with open_image(Path(path), max_pixels=MAX_PIXELS_IN) as image:
                    image.convert("RGB").save(folder / kind / f"{n:02d}.png")
            except DataError as error:
                raise UploadError(f"{shown}: {error.problems[0].message}") from None
            names[kind].append(f"{n:02d}.png")
    return names["Photographs"], names["Radiographs"]


def run_demo(model: DemoModel, photos: list[str] | None, radios: list[str] | None,
             age: float | None, gender: str | None, complaint: str) -> dict[str, Any]:
    """Class probabilities and the report for one uploaded checkup; the uploads' private
    copies are deleted before this returns, whatever happens."""
    from eval_harness.tasks.prompts import PromptOptions, build_request

    folder = Path(tempfile.mkdtemp(prefix="codebench-demo-"))
    try:
        photo_names, radio_names = stage_uploads(photos, radios, folder)
        checkup = _checkup(folder, photo_names, radio_names, age, gender, complaint)
        options = PromptOptions(max_images=MAX_IMAGES)
        requests = [build_request(checkup, task, options) for task in ("code_cls",
                                                                       "code_report")]
        cls, report = model.backend().generate(requests)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if cls.failed or report.failed:
        raise UploadError(f"the model failed: {cls.error or report.error}")
    return {"class": cls.text, "probabilities": cls.scores or {}, "report": report.text or ""}
