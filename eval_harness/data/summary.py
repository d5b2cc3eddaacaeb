"""Dataset fingerprint and the counts `data info` prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from eval_harness.data.checkup import Checkup
from eval_harness.fingerprint import dataset_fingerprint
from eval_harness.labels.classes import CLASSES


def fingerprint(checkups: Sequence[Checkup]) -> str:
    """The canonical dataset fingerprint (``eval_harness.fingerprint``) of these checkups.

    Two results are comparable only if they were computed on the same fingerprint.
    """
    label_map = checkups[0].label_map if checkups else None
    return dataset_fingerprint(((c.checkup_id, c.primary) for c in checkups), label_map)


def summarize(checkups: Sequence[Checkup]) -> dict:
    """Counts per split and class, images per checkup, radiograph coverage, fingerprint."""
    splits = sorted({c.split for c in checkups})
    per_split: dict[str, dict] = {}
    for split in splits:
        part = [c for c in checkups if c.split == split]
        classes = Counter(c.primary or "(no class)" for c in part)
        photos = [len(c.photographs) for c in part]
        per_split[split] = {
            "checkups": len(part),
            "patients": len({c.patient_id for c in part}),
            "classes": {name: classes.get(name, 0) for name in (*CLASSES, "(no class)")
                        if classes.get(name, 0) or name in CLASSES},
            "multi_class_checkups": sum(len(c.classes) > 1 for c in part),
            "photographs_per_checkup": {"min": min(photos), "max": max(photos),
                                        "mean": round(sum(photos) / len(part), 2)},
            "radiograph_coverage": round(sum(bool(c.radiographs) for c in part) / len(part), 3),
            "fingerprint": fingerprint(part),
        }
    return {"checkups": len(checkups), "label_map": checkups[0].label_map if checkups else None,
            "fingerprint": fingerprint(checkups), "splits": per_split}


def format_summary(summary: dict) -> str:
    lines = [f"checkups: {summary['checkups']}   label map: {summary['label_map']}",
             f"fingerprint: {summary['fingerprint']}"]
    for split, s in summary["splits"].items():
        p = s["photographs_per_checkup"]
        lines.append(f"\n[{split}] {s['checkups']} checkups, {s['patients']} patients, "
                     f"{s['multi_class_checkups']} with several classes")
        lines.append(f"  photographs per checkup: min {p['min']}, mean {p['mean']}, "
                     f"max {p['max']}; radiograph coverage {s['radiograph_coverage']:.1%}")
        for name, count in s["classes"].items():
            lines.append(f"  {name:<24}{count:>6}")
        lines.append(f"  fingerprint {s['fingerprint']}")
    return "\n".join(lines)
