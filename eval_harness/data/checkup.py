"""The ``Checkup`` record every part of the harness reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# The clinical text fields of a COde row, in CSV order. Each has a Chinese original
# in the column f"{name}_cn".
TEXT_FIELDS: tuple[str, ...] = (
    "patient_record", "chief_complaint", "present_illness", "past_medical_record",
    "examination", "radiographs_examination", "diagnosis", "treatment_plan",
    "treatment_recommendations", "management", "medical_instructions", "remarks",
)

# The nine sections of a diagnostic report (task 2), as (field, English title, Chinese title).
REPORT_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("patient_record", "Patient Record", "病历记录"),
    ("examination", "Examination", "检查"),
    ("radiographs_examination", "Radiographic Examination", "影像学检查"),
    ("diagnosis", "Diagnosis", "诊断"),
    ("treatment_plan", "Treatment Plan", "治疗计划"),
    ("treatment_recommendations", "Treatment Recommendations", "治疗建议"),
    ("management", "Management", "处置"),
    ("medical_instructions", "Medical Instructions", "医嘱"),
    ("remarks", "Remarks", "备注"),
)

LANGUAGES = ("en", "cn")
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Checkup:
    """One dental checkup: patient facts, images, clinical texts and labels.

    Images are kept as file names (as COde lists them) plus the folder they live in;
    the folder is not part of equality so the same checkup read from different
    on-disk forms compares equal.
    """

    checkup_id: str
    patient_id: str
    row_id: int
    age: int | None
    gender: str | None
    visit_time: str | None  # as in the CSV, "22/08/2022 13:00"
    photographs: tuple[str, ...]
    radiographs: tuple[str, ...]
    language: str  # which text columns fill `texts`: "en" or "cn"
    texts: dict[str, str]  # every name of TEXT_FIELDS
    anomalies: tuple[str, ...]  # fine-grained names, English, as listed
    classes: tuple[str, ...]  # class set (multi-label track), CLASSES order
    primary: str | None  # single-label class by the priority rule
    split: str
    label_map: str  # AnomalyMap.id the labels came from
    image_root: Path | None = field(default=None, compare=False, repr=False)

    @property
    def photograph_paths(self) -> list[Path]:
        return [self._path("Photographs", n) for n in self.photographs]

    @property
    def radiograph_paths(self) -> list[Path]:
        return [self._path("Radiographs", n) for n in self.radiographs]

    def _path(self, kind: str, name: str) -> Path:
        if self.image_root is None:
            raise ValueError(f"checkup {self.checkup_id}: no image folder known")
        return self.image_root / kind / name

    @property
    def report_sections(self) -> dict[str, str]:
        """The reference report's nine sections, keyed by field name."""
        return {name: self.texts[name] for name, _, _ in REPORT_SECTIONS}

    @property
    def reference_report(self) -> str:
        """The report as published COde runs format it: one "Title: text" line each."""
        title = 1 if self.language == "en" else 2
        sep = ": " if self.language == "en" else "："
        # No rstrip: published ground truths keep "Remarks: " for an empty section.
        return "\n".join(f"{s[title]}{sep}{self.texts[s[0]]}" for s in REPORT_SECTIONS)
