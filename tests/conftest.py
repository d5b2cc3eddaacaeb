"""Shared fixtures: a small synthetic COde folder built once per session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

from eval_harness.tasks.prompts import PromptOptions

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


# Fine-tuning tests: small prompts and a few quick steps on the tiny model.
SMALL_PROMPTS = PromptOptions(max_images=2, max_pixels=56 * 56)
# The tiny recipe's vision-first levers off: tests of the SFT itself stay a few seconds (stage 1
# has its own tests, which turn the levers they test back on).
FAST_RECIPE = {"max_images": 2, "max_pixels": 56 * 56, "batch_size": 4, "logging_steps": 1,
               "eval_steps": 10, "validation_fraction": 0.2, "vision_epochs": 0,
               "vision_lr_scale": 1.0, "vision_freeze_ratio": 0.0, "modality_dropout": 0.0}


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard model fixture: a tiny Qwen2.5-VL built from a config (seed 0)."""
    from eval_harness.models.tiny_qwen import build_tiny_qwen

    return build_tiny_qwen(tmp_path_factory.mktemp("base") / "tiny", seed=0)


def unavailable(reason: str, switch: str) -> NoReturn:
    """Skip, naming what is missing, except where CI made it required by setting
    ``switch`` to 1 (.ci/run): there a missing prerequisite is a failure, so a broken
    install cannot turn a test into a silent skip."""
    if os.environ.get(switch) == "1":
        pytest.fail(f"{reason} ({switch}=1)")
    pytest.skip(reason)


def require_shared() -> Path:
    if not PEER_RUNS.is_dir():
        unavailable(f"../shared is absent ({PEER_RUNS} not found): peer-run checks skipped",
                    "CODEBENCH_REQUIRE_SHARED")
    return PEER_RUNS


WORDNET_MISSING = ("WordNet not found: install Debian wordnet-base + wordnet-sense-index "
                   "(make system-deps) or nltk.download('wordnet')")


@pytest.fixture(scope="session")
def wordnet() -> None:
    """Tests of METEOR need WordNet (CODEBENCH_REQUIRE_WORDNET=1 in CI). Session-scoped
    so that it is checked before any module fixture that loads WordNet."""
    from eval_harness.metrics import wordnet as wordnet_setup

    if wordnet_setup.find_wordnet() is None:
        unavailable(WORDNET_MISSING, "CODEBENCH_REQUIRE_WORDNET")
