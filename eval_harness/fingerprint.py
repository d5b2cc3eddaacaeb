"""The dataset fingerprint: one definition, computed from what is scored.

sha256 over the sorted (checkup id, reference class) pairs plus the label-map id, so
the same checkups give the same fingerprint whether they were read from a COde
folder, a ShareGPT or ``datasets`` export, a references JSONL or a peer run. The
reference reports get their own hash beside it: report numbers are comparable only
when both match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

FINGERPRINT_VERSION = "fp-v2"


def _digest(payload: object) -> str:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dataset_fingerprint(pairs: Iterable[tuple[str, str | None]], label_map: str | None) -> str:
    """Same (id, class) pairs and label map, in any order and from any file: same hash."""
    ordered = sorted(([sid, cls] for sid, cls in pairs), key=lambda p: (p[0], p[1] or ""))
    return _digest([FINGERPRINT_VERSION, label_map, ordered])


def reports_fingerprint(pairs: Iterable[tuple[str, str | None]]) -> str | None:
    """Hash of the sorted (id, reference report) pairs; None when no report is known."""
    ordered = sorted([sid, report] for sid, report in pairs if report is not None)
    return _digest([FINGERPRINT_VERSION, ordered]) if ordered else None
