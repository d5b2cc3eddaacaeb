"""The shape every metric returns (as in RadEval): aggregate, per-sample values, details.

Per-sample values are what bootstrap CIs, paired tests and per-sample viewers need;
the signature says exactly how the number was computed, so two numbers are
comparable, or visibly not (as sacrebleu's signatures do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class MetricResult:
    name: str  # e.g. "bleu_sentence_mean", "macro_f1"
    value: float | None  # the aggregate; None when skipped
    signature: str  # library, version and settings: "sacrebleu:2.5.1|tok:13a|..."
    definition: str  # one sentence a reader of the results understands
    per_sample: list[float] | None = None  # aligned with the inputs, where meaningful
    details: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None  # why the metric was not computed (never reported as 0.0)

    @classmethod
    def skip(cls, name: str, reason: str, signature: str = "",
             definition: str = "") -> MetricResult:
        return cls(name=name, value=None, signature=signature, definition=definition,
                   skipped=reason)

    def to_dict(self, with_samples: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "signature": self.signature,
                               "definition": self.definition}
        if self.skipped:
            out["skipped"] = self.skipped
        if self.details:
            out["details"] = self.details
        if with_samples and self.per_sample is not None:
            out["per_sample"] = self.per_sample
        return out
