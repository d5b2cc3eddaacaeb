"""Shared fixtures: a small synthetic COde folder built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never touch the network: a hub id that is not cached fails at once instead of
# after the hub client's retries (set before anything imports huggingface_hub).
os.environ["HF_HUB_OFFLINE"] = "1"

SHARED = Path(__file__).resolve().parents[2] / "shared"
PEER_RUNS = SHARED / "data" / "peer-runs" / "pocket-dentist-code"


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 48-checkup synthetic dataset in the exact COde layout (seed 7)."""
    from eval_harness.data.synth import generate

    out = tmp_path_factory.mktemp("synth") / "code"
    generate(out, 48, seed=7)
    return out


def require_shared() -> Path:
    if not PEER_RUNS.is_dir():
        pytest.skip(f"../shared is absent ({PEER_RUNS} not found): peer-run checks skipped")
    return PEER_RUNS
