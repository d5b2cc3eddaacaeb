"""Synthetic images: deterministic per generator state, right size and mode, learnable cues.

The cue checks average simple pixel statistics over a fixed set of seeds and compare an
image set with the class against one without it, so they test the signal a model could
learn rather than exact pixels, and they do not flake when the drawing is retouched.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from eval_harness.data.synth.images import draw_photograph, draw_radiograph
from eval_harness.labels.classes import CLASSES

SEEDS = range(10)
NONE: frozenset[str] = frozenset()
Drawer = Callable[[np.random.Generator, frozenset[str]], Image.Image]


def _channels(image: Image.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pixels = np.asarray(image, dtype=np.float32)
    return pixels[..., 0], pixels[..., 1], pixels[..., 2]


def _caries_fraction(image: Image.Image) -> float:
    """Dark brown pixels: dim, with green and blue well below red but not a gum red."""
    r, g, b = _channels(image)
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    return float(((luma < 90) & (g > 0.42 * r) & (g < 0.8 * r) & (b < 0.75 * g)
                  & (r > 25)).mean())


def _red_gum_fraction(image: Image.Image) -> float:
    """Strongly red pixels: healthy pink gum has green and blue near half its red."""
    r, g, b = _channels(image)
    return float(((r > 120) & (g < 0.35 * r) & (b < 0.4 * r)).mean())


def _tooth_fraction(image: Image.Image) -> float:
    """Bright, nearly neutral pixels: the visible crowns."""
    r, g, b = _channels(image)
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    return float(((luma > 150) & (r - b < 70) & (g > 0.8 * r)).mean())


def _apical_dark_fraction(image: Image.Image) -> float:
    """Dark pixels in the root-tip bands (top and bottom quarters), relative to the bone."""
    pixels = np.asarray(image, dtype=np.float32)
    quarter = pixels.shape[0] // 4
    bands = np.concatenate([pixels[:quarter], pixels[-quarter:]])
    return float((bands < 0.6 * np.median(bands)).mean())


def _mean(stat: Callable[[Image.Image], float], draw: Drawer, classes: frozenset[str]) -> float:
    return float(np.mean([stat(draw(np.random.default_rng(seed), classes)) for seed in SEEDS]))


@pytest.mark.parametrize("draw", [draw_photograph, draw_radiograph])
def test_same_generator_state_same_pixels(draw: Drawer) -> None:
    for classes in (NONE, frozenset(CLASSES)):
        first = draw(np.random.default_rng(5), classes).tobytes()
        np.random.seed(123)  # the global generator must play no part
        assert draw(np.random.default_rng(5), classes).tobytes() == first
        assert draw(np.random.default_rng(6), classes).tobytes() != first


def test_successive_images_from_one_generator_differ() -> None:
    rng = np.random.default_rng(0)
    assert draw_photograph(rng, NONE).tobytes() != draw_photograph(rng, NONE).tobytes()


def test_sizes_and_modes() -> None:
    rng = np.random.default_rng(1)
    photo, radio = draw_photograph(rng, NONE), draw_radiograph(rng, NONE)
    assert (photo.mode, photo.size) == ("RGB", (320, 240))
    assert (radio.mode, radio.size) == ("L", (320, 200))
    assert draw_photograph(rng, frozenset(CLASSES), size=(200, 150)).size == (200, 150)
    assert draw_radiograph(rng, frozenset(CLASSES), size=(256, 160)).size == (256, 160)


def test_every_class_combination_draws() -> None:
    rng = np.random.default_rng(2)
    for name in CLASSES:
        assert draw_photograph(rng, frozenset([name])).getbbox() is not None
        assert draw_radiograph(rng, frozenset([name])).getbbox() is not None


def test_caries_leaves_dark_lesions_on_crowns() -> None:
    others = frozenset(CLASSES) - {"Dental Caries"}
    with_caries = _mean(_caries_fraction, draw_photograph, frozenset(["Dental Caries"]))
    assert with_caries > 0.001
    assert with_caries > 5 * _mean(_caries_fraction, draw_photograph, others)


def test_gingivitis_reddens_the_gum_margin() -> None:
    others = frozenset(CLASSES) - {"Gingivitis"}
    inflamed = _mean(_red_gum_fraction, draw_photograph, frozenset(["Gingivitis"]))
    assert inflamed > 0.02
    assert inflamed > 10 * _mean(_red_gum_fraction, draw_photograph, others)


def test_tooth_loss_leaves_a_gap() -> None:
    # Paired seeds share colours and layout, so the missing crown shows in every pair.
    lower = [
        _tooth_fraction(draw_photograph(np.random.default_rng(seed), frozenset(["Tooth Loss"])))
        < _tooth_fraction(draw_photograph(np.random.default_rng(seed), NONE))
        for seed in SEEDS
    ]
    assert sum(lower) >= 8


def test_pulpitis_darkens_root_tips_on_radiographs() -> None:
    others = frozenset(CLASSES) - {"Pulpitis"}
    halo = _mean(_apical_dark_fraction, draw_radiograph, frozenset(["Pulpitis"]))
    assert halo > 0.003
    assert halo > 5 * _mean(_apical_dark_fraction, draw_radiograph, others)
