"""The versioned fine-grained anomaly → benchmark class map.

The map is a data file (``labels/data/<version>.csv``, columns ``anomaly_en,
anomaly_cn, class, rationale``). Its version and content hash go into every result
so that two numbers computed under different maps are visibly not comparable.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from eval_harness.errors import DataError, Problem
from eval_harness.labels.classes import CLASSES, primary_class

DEFAULT_VERSION = "code-v1"
_COLUMNS = ("anomaly_en", "anomaly_cn", "class", "rationale")


@dataclass(frozen=True)
class AnomalyMap:
    version: str
    sha256: str
    to_class: dict[str, str]  # case-folded English anomaly name -> class
    names_en: dict[str, str]  # case-folded -> canonical spelling
    names_cn: dict[str, str]  # Chinese name -> canonical English name

    def classes_of(self, anomalies: Iterable[str]) -> tuple[str, ...]:
        """The class set of a checkup (multi-label track), in CLASSES order.

        Unmapped anomalies are ignored, as in the published protocol.
        """
        found = {self.to_class[a.strip().casefold()] for a in anomalies
                 if a.strip().casefold() in self.to_class}
        return tuple(c for c in CLASSES if c in found)

    def primary_of(self, anomalies: Iterable[str]) -> str | None:
        """The single-label class: the highest-priority mapped class, or None."""
        return primary_class(self.classes_of(anomalies))

    def is_known(self, anomaly: str) -> bool:
        return anomaly.strip().casefold() in self.to_class

    @property
    def id(self) -> str:
        """Short identity for results: version plus the first 12 hex of the hash."""
        return f"{self.version}+{self.sha256[:12]}"


def split_anomalies(field: str) -> list[str]:
    """COde stores anomalies as one comma-separated string."""
    return [a.strip() for a in field.split(",") if a.strip()]


@cache
def load_anomaly_map(version: str = DEFAULT_VERSION) -> AnomalyMap:
    """Load a map shipped with the package by version name."""
    ref = resources.files("eval_harness.labels").joinpath("data", f"{version}.csv")
    if not ref.is_file():
        raise DataError.single(f"labels/data/{version}.csv", "no such label-map version",
                               fix=f"use one of: {', '.join(available_versions())}")
    return parse_anomaly_map(ref.read_bytes(), version, f"labels/data/{version}.csv")


def available_versions() -> list[str]:
    folder = resources.files("eval_harness.labels").joinpath("data")
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".csv")
                  and not p.name.startswith("synonyms"))


def parse_anomaly_map(raw: bytes, version: str, source: str) -> AnomalyMap:
    problems: list[Problem] = []
    rows = list(csv.DictReader(raw.decode("utf-8").splitlines()))
    if not rows or tuple(rows[0].keys()) != _COLUMNS:
        raise DataError.single(source, f"columns must be {','.join(_COLUMNS)}")
    to_class: dict[str, str] = {}
    names_en: dict[str, str] = {}
    names_cn: dict[str, str] = {}
    for line, row in enumerate(rows, start=2):
        key = row["anomaly_en"].strip().casefold()
        if row["class"] not in CLASSES:
            problems.append(Problem(source, f"unknown class {row['class']!r}", line=line))
        if key in to_class:
            problems.append(Problem(source, f"duplicate anomaly {row['anomaly_en']!r}", line=line))
        if not row["rationale"].strip():
            problems.append(Problem(source, "empty rationale", line=line))
        to_class[key] = row["class"]
        names_en[key] = row["anomaly_en"].strip()
        if row["anomaly_cn"].strip():
            names_cn[row["anomaly_cn"].strip()] = row["anomaly_en"].strip()
    if problems:
        raise DataError(problems)
    return AnomalyMap(version=version, sha256=hashlib.sha256(raw).hexdigest(),
                      to_class=to_class, names_en=names_en, names_cn=names_cn)
