"""The six benchmark classes of COde and the single-label priority rule."""

from __future__ import annotations

from collections.abc import Iterable

# Order used everywhere a table lists classes (confusion matrices, per-class rows).
CLASSES: tuple[str, ...] = (
    "Dental Caries",
    "Gingivitis",
    "Class III Malocclusion",
    "Pulpitis",
    "Tooth Loss",
    "Tooth Structure Loss",
)

# The published single-label rule (peer harness and ../shared/DESIGN.md): when a
# checkup carries anomalies of several classes, the class earliest here wins.
PRIORITY: tuple[str, ...] = (
    "Pulpitis",
    "Dental Caries",
    "Gingivitis",
    "Tooth Loss",
    "Tooth Structure Loss",
    "Class III Malocclusion",
)

CLASSES_CN: dict[str, str] = {
    "Dental Caries": "龋病",
    "Gingivitis": "牙龈炎",
    "Class III Malocclusion": "安氏III类错颌",
    "Pulpitis": "牙髓炎",
    "Tooth Loss": "牙列缺损",
    "Tooth Structure Loss": "牙体缺损",
}


def primary_class(classes: Iterable[str]) -> str | None:
    """The single-label class of a checkup: the highest-priority class it carries."""
    present = set(classes)
    unknown = present.difference(CLASSES)
    if unknown:
        raise ValueError(f"not a COde class: {sorted(unknown)}")
    for name in PRIORITY:
        if name in present:
            return name
    return None
