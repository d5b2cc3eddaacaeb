"""Reference baselines: `majority` and `random`, fitted on the train split only.

What they answer for a task comes from the task registry: the majority baseline gives
the answer of one train checkup of the commonest class, the random one a seeded random
answer per checkup (``Task.answer_randomly``).
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from eval_harness.data.checkup import Checkup
from eval_harness.labels.classes import CLASSES
from eval_harness.models.base import Request, Response
from eval_harness.tasks import get_task


def _train_with_class(train: list[Checkup]) -> list[Checkup]:
    labelled = [c for c in train if c.primary is not None]
    if not labelled:
        raise ValueError("baselines need labelled train checkups; the data has none")
    return labelled


class MajorityBackend:
    """Always the answers of one exemplar: the first train checkup (by id) of the
    commonest train class."""

    def __init__(self, train: list[Checkup]) -> None:
        labelled = _train_with_class(train)
        counts = Counter(c.primary for c in labelled)
        # Ties broken by the fixed class order, so the baseline is deterministic.
        self.label = max(CLASSES, key=lambda c: (counts.get(c, 0), -CLASSES.index(c)))
        self.exemplar = min((c for c in labelled if c.primary == self.label),
                            key=lambda c: c.checkup_id)

    def describe(self) -> dict[str, Any]:
        return {"backend": "majority", "name": "majority", "label": self.label}

    def generate(self, batch: list[Request]) -> list[Response]:
        return [Response(get_task(r.task).reference_answer(self.exemplar)) for r in batch]


class RandomBackend:
    """A seeded random answer per checkup and task (stable per id): a uniform class,
    or the answer of a random train checkup."""

    def __init__(self, train: list[Checkup], seed: int = 0) -> None:
        self.train = sorted(_train_with_class(train), key=lambda c: c.checkup_id)
        self.seed = seed

    def describe(self) -> dict[str, Any]:
        return {"backend": "random", "name": "random", "seed": self.seed}

    def generate(self, batch: list[Request]) -> list[Response]:
        out = []
        for request in batch:
            # Seeded by (seed, id, task): the same answer whatever the batching or sharding.
            rng = random.Random(f"{self.seed}/{request.sample_id}/{request.task}")
            out.append(Response(get_task(request.task).answer_randomly(rng, self.train)))
        return out
