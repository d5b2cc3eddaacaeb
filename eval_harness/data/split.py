"""A seeded validation split carved from train, stratified by class, grouped by patient."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sklearn.model_selection import StratifiedGroupKFold

from eval_harness.data.checkup import Checkup


def carve_validation(checkups: Sequence[Checkup], fraction: float = 0.1,
                     seed: int = 0) -> list[Checkup]:
    """Return the checkups with part of ``train`` relabelled ``validation``.

    No patient spans train and validation (their checkups share a mouth), and the
    class mix of validation follows train's. Test checkups are never touched.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"validation fraction must be in (0, 1), not {fraction}")
    train = [c for c in checkups if c.split == "train"]
    n_folds = max(2, round(1 / fraction))
    if len({c.patient_id for c in train}) < n_folds:
        raise ValueError(f"{len(train)} train checkups are too few patients for a "
                         f"{fraction:.0%} validation split")
    # StratifiedGroupKFold keeps groups whole while balancing classes; one fold of
    # 1/fraction folds is the validation part.
    folds = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    labels = [c.primary or "none" for c in train]
    groups = [c.patient_id for c in train]
    _, val_index = next(folds.split(train, labels, groups))
    val_ids = {train[i].checkup_id for i in val_index}
    return [dataclasses.replace(c, split="validation") if c.checkup_id in val_ids else c
            for c in checkups]
