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
from collections.abc import Iterator, Mapping
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
    """What the demo runs, loaded on first use: a registry checkpoint name, a local
    Qwen2.5-VL folder (with a LoRA ``adapter``), or an OpenAI-compatible ``endpoint``
    (a vLLM server running the fine-tuned Qwen2.5-VL; GPT-4o) serving ``checkpoint``.
    The endpoint's key comes from the environment (``OPENAI_API_KEY``), never from here."""

    checkpoint: str = "tiny-demo"
    adapter: str | None = None
    endpoint: str | None = None
    _backend: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def describe(self) -> str:
        if self.endpoint:  # scheme, host and port only: never credentials or a query
            from urllib.parse import urlsplit

            where = urlsplit(self.endpoint)
            port = f":{where.port}" if where.port else ""
            return f"`{self.checkpoint}` served at {where.scheme}://{where.hostname}{port}"
        if self.checkpoint == "tiny-demo" and not self.adapter:
            return f"checkpoint `tiny-demo`: {NOT_CLINICAL}"
        adapter = f" with LoRA adapter `{self.adapter}`" if self.adapter else ""
        return f"checkpoint `{self.checkpoint}`{adapter}"

    def backend(self) -> Any:
        with self._lock:  # one load, however many requests arrive at once
            if self._backend is None:
                from eval_harness.models.registry import create_model

                if self.endpoint:
                    self._backend = create_model("openai", {"model": self.checkpoint,
                                                            "base_url": self.endpoint}, [], 0)
                else:
                    args = ({"model": self.checkpoint} if Path(self.checkpoint).is_dir()
                            else {"checkpoint": self.checkpoint})
                    if self.adapter:
                        args["adapter"] = self.adapter
                    # Score mode: the six class probabilities, not one generated name.
                    self._backend = create_model("hf", {**args, "cls_mode": "score"}, [], 0)
            return self._backend


def comparison_model() -> DemoModel | None:
    """GPT-4o beside the demo, as in the paper's comparison, where a key is configured:
    ``OPENAI_API_KEY`` (with ``CODEBENCH_OPENAI_BASE_URL`` for another OpenAI-compatible
    server). None otherwise; the page then says none is configured."""
    import os

    from eval_harness.settings import Settings

    if not os.environ.get("OPENAI_API_KEY"):
        return None
    settings = Settings.from_env()
    endpoint = settings.openai_base_url or "https://api.openai.com/v1"
    return DemoModel(settings.compare_model, endpoint=endpoint)


# A visitor cannot configure the server: this says what is (not) there, not how to set it.
NO_COMPARISON = ("This server has no comparison model configured, so GPT-4o's answer (the "
                 "paper's comparison) is not shown beside this one. Operators: see "
                 "\"The space\" in the README.")


def parse_age(value: str | float | None) -> int | None:
    """The Age field: empty for no age, else whole years from 0 to 120. (A text field:
    Gradio 6's number field shows 0 when empty, as if an age were given.)"""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        years = float(value)
    except ValueError:
        raise UploadError(f"Age: {str(value)[:20]!r} is not a number of years (leave it "
                          "empty when unknown)") from None
    if not years.is_integer() or not 0 <= years <= 120:
        raise UploadError(f"Age: {str(value)[:20]} is not a whole number of years from 0 "
                          "to 120")
    return int(years)


def _checkup(folder: Path, photos: list[str], radios: list[str], age: int | None,
             gender: str | None, complaint: str) -> Checkup:
    texts = dict.fromkeys(TEXT_FIELDS, "")
    texts["chief_complaint"] = complaint.strip()
    return Checkup(checkup_id="upload", patient_id="upload", row_id=0,
                   age=age, gender=gender or None, visit_time=None,
                   photographs=tuple(photos), radiographs=tuple(radios), language="en",
                   texts=texts, anomalies=(), classes=(), primary=None, split="test",
                   label_map="", image_root=folder)


def _source(path: str, kept: Mapping[str, bytes] | None, spare: Path) -> Path:
    """The file to read an upload from: Gradio's cached copy while it is there, else the
    bytes this session kept from an earlier run (see space.uploads), written back only
    into the request's private folder (``spare``), which is deleted with the request."""
    cached = Path(path)
    if cached.is_file() or not kept or path not in kept:
        return cached  # a missing file is then refused by open_image, by name
    spare.mkdir(parents=True, exist_ok=True)
    restored = spare / f"{len(list(spare.iterdir())):02d}{cached.suffix}"
    restored.write_bytes(kept[path])
    return restored


def stage_uploads(photos: list[str] | None, radios: list[str] | None, folder: Path,
                  kept: Mapping[str, bytes] | None = None) -> tuple[list[str], list[str]]:
    """Check every upload (an image, within the pixel limit; at most MAX_IMAGES) and copy
    it into ``folder`` in the COde layout. ``kept``: the bytes of uploads whose cached file
    is already gone (a second run of the same form). UploadError names the file and the
    problem."""
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
                source = _source(path, kept, folder / "restored")
                with open_image(source, max_pixels=MAX_PIXELS_IN) as image:
                    image.convert("RGB").save(folder / kind / f"{n:02d}.png")
            except DataError as error:
                for done_kind, done in names.items():  # nothing half-staged stays behind
                    for staged in done:
                        (folder / done_kind / staged).unlink(missing_ok=True)
                raise UploadError(f"{shown}: {error.problems[0].message}") from None
            names[kind].append(f"{n:02d}.png")
    return names["Photographs"], names["Radiographs"]


def run_demo(model: DemoModel, photos: list[str] | None, radios: list[str] | None,
             age: str | float | None, gender: str | None, complaint: str,
             second: DemoModel | None = None,
             kept: Mapping[str, bytes] | None = None) -> dict[str, Any]:
    """Class probabilities and the whole report for one uploaded checkup (and, with
    ``second``, that model's answer under "second"): the last value ``stream_demo``
    yields. The uploads' private copies are deleted before this returns."""
    *_, last = stream_demo(model, photos, radios, age, gender, complaint, second, kept)
    return last


def _answer(model: DemoModel, requests: list) -> dict[str, Any]:
    from eval_harness.labels.class_answers import extract_class
    from eval_harness.redact import redact

    cls, report = model.backend().generate(requests)
    if cls.failed or report.failed:  # shown to whoever uploaded: no key, however quoted
        raise UploadError(redact(f"{model.describe()} failed: {cls.error or report.error}"))
    # An endpoint names a class in words; the harness's extraction reads which one.
    named = cls.text if cls.scores else (extract_class(cls.text).label or cls.text)
    return {"class": named, "probabilities": cls.scores or ({named: 1.0} if named else {}),
            "report": report.text or "", "done": True}


def stream_demo(model: DemoModel, photos: list[str] | None, radios: list[str] | None,
                age: str | float | None, gender: str | None, complaint: str,
                second: DemoModel | None = None,
                kept: Mapping[str, bytes] | None = None) -> Iterator[dict[str, Any]]:
    """As ``run_demo``, but the report arrives as it is written: each yielded value is
    the whole answer so far (the class first, then the growing report, then the
    comparison model's answer); "done" is True once the report is whole. The uploads'
    copies are deleted when it ends."""
    from eval_harness.tasks.prompts import PromptOptions, build_request

    folder = Path(tempfile.mkdtemp(prefix="codebench-demo-"))
    try:
        years = parse_age(age)
        photo_names, radio_names = stage_uploads(photos, radios, folder, kept)
        checkup = _checkup(folder, photo_names, radio_names, years, gender, complaint)
        options = PromptOptions(max_images=MAX_IMAGES)
        cls_request, report_request = (build_request(checkup, task, options)
                                       for task in ("code_cls", "code_report"))
        backend = model.backend()
        if not hasattr(backend, "stream"):  # an endpoint: one whole answer
            answer = _answer(model, [cls_request, report_request])
        else:
            (cls,) = backend.generate([cls_request])
            if cls.failed:
                raise UploadError(f"{model.describe()} failed: {cls.error}")
            answer = {"class": cls.text, "probabilities": cls.scores or {}, "report": "",
                      "done": False}
            for text in backend.stream(report_request):
                answer["report"] = text
                yield dict(answer)
            answer["done"] = True
        yield dict(answer)
        if second is not None:
            yield answer | {"second": _answer(second, [cls_request, report_request])}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# The paper's two tasks, as the page names the two answers.
TASK_1 = "Classification (task 1)"
TASK_2 = "Report (task 2)"


def report_class(report: str) -> tuple[str | None, str]:
    """The class a generated report diagnoses, read as code_report's primary-class accuracy
    reads it (the labeler on the Diagnosis section, else the whole report), and that
    reading in words. Several affirmed classes: the published priority rule picks one,
    the others are named."""
    from eval_harness.labels.classes import CLASSES, primary_class
    from eval_harness.metrics.clinical import diagnosis_labels

    labels, scope = diagnosis_labels(report)
    where = ("the report's Diagnosis section" if scope == "diagnosis"
             else "the whole report (it has no Diagnosis section with text)")
    affirmed = [c for c in CLASSES if labels[c].status == "present"]
    diagnosed = primary_class(affirmed)
    if diagnosed is None:
        return None, f"the labeler finds none of the six classes affirmed in {where}"
    evidence = labels[diagnosed].evidence
    reading = f'the labeler reads {where} as affirming {diagnosed}: "{evidence}"'
    others = [c for c in affirmed if c != diagnosed]
    if others:
        reading += f"; it also affirms {', '.join(others)} (the priority rule picks {diagnosed})"
    return diagnosed, reading


def _top(answer: dict[str, Any]) -> tuple[str | None, str]:
    probabilities = answer.get("probabilities") or {}
    top = max(probabilities, key=probabilities.get) if probabilities else answer.get("class")
    # A single named class (an endpoint's answer) has no probability worth printing.
    shown = top in probabilities and len(probabilities) > 1
    share = f" ({probabilities[top]:.0%})" if shown else ""
    return top or None, share


def agreement(answer: dict[str, Any]) -> str:
    """One line saying whether the two answers name the same class, and why they may not:
    the class and the report are two passes of the model, the paper's two tasks. Empty
    while the report is still being written."""
    if not answer.get("done"):
        return ""
    top, share = _top(answer)
    diagnosed, reading = report_class(answer.get("report") or "")
    if diagnosed == top:
        return (f"Both answers name {top}: {TASK_1} ranks it first{share}, and in {TASK_2} "
                f"{reading}.")
    said = diagnosed or "none of the six classes"
    return (f"The two answers differ: {TASK_1} ranks {top} first{share}; {TASK_2} "
            f"diagnoses {said} ({reading}). They are two separate passes of the model, the "
            "paper's two tasks, so they can disagree.")


def example_verdict(reference: str | None, answer: dict[str, Any]) -> str:
    """Whether each answer matched an example's reference class, in words."""
    top, _ = _top(answer)
    diagnosed, _ = report_class(answer.get("report") or "")

    def matched(said: str | None) -> str:
        return "matches" if said == reference else "does not match"

    return (f"{TASK_1}: {top}, {matched(top)} the reference.  \n"
            f"{TASK_2}: diagnoses {diagnosed or 'none of the six classes'}, "
            f"{matched(diagnosed)} the reference.")
