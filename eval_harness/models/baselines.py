"""Reference baselines: `majority` and `random`, fitted on the train split only."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from eval_harness.data.checkup import Checkup
from eval_harness.labels.classes import CLASSES
from eval_harness.models.base import Request, Response


def _train_with_class(train: list[Checkup]) -> list[Checkup]:
    labelled = [c for c in train if c.primary is not None]
    if not labelled:
        raise ValueError("baselines need labelled train checkups; the data has none")
    return labelled


class MajorityBackend:
    """Always the commonest train class; for reports, the report of the first train
    checkup (by id) of that class."""

    def __init__(self, train: list[Checkup]) -> None:
        labelled = _train_with_class(train)
        counts = Counter(c.primary for c in labelled)
        # Ties broken by the fixed class order, so the baseline is deterministic.
        self.label = max(CLASSES, key=lambda c: (counts.get(c, 0), -CLASSES.index(c)))
        self.report = min((c for c in labelled if c.primary == self.label),
                          key=lambda c: c.checkup_id).reference_report

    def describe(self) -> dict[str, Any]:
        return {"backend": "majority", "name": "majority", "label": self.label}

    def generate(self, batch: list[Request]) -> list[Response]:
        return [Response(self.label if r.task == "code_cls" else self.report) for r in batch]


class RandomBackend:
    """A seeded uniform class, and a random train report, per checkup (stable per id)."""

    def __init__(self, train: list[Checkup], seed: int = 0) -> None:
        self.reports = [c.reference_report for c in sorted(_train_with_class(train),
                                                           key=lambda c: c.checkup_id)]
        self.seed = seed

    def describe(self) -> dict[str, Any]:
        return {"backend": "random", "name": "random", "seed": self.seed}

    def generate(self, batch: list[Request]) -> list[Response]:
        out = []
        for request in batch:
            # Seeded by (seed, id, task): the same answer whatever the batching or sharding.
            rng = random.Random(f"{self.seed}/{request.sample_id}/{request.task}")
            out.append(Response(rng.choice(CLASSES) if request.task == "code_cls"
                                else rng.choice(self.reports)))
        return out
