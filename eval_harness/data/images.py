"""Opening checkup images safely (pixel cap, truncation and format errors as DataError)
and the one resize every model backend applies before an image reaches a model."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from PIL import Image

from eval_harness.errors import DataError

# 40 MP: far above any intraoral photo or radiograph in COde (a few MP), far below
# what a decompression bomb expands to.
DEFAULT_MAX_PIXELS = 40_000_000


def open_image(path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               checkup_id: str | None = None) -> Image.Image:
    """Open and fully decode an image, or raise DataError saying what is wrong."""
    where = {"checkup_id": checkup_id}
    if not path.is_file():
        raise DataError.single(str(path), "image file is missing", **where,
                               fix="restore the file or remove it from the CSV row")
    try:
        # Pillow warns (and past 2x its own cap raises) on huge images; our cap is
        # checked from the header below, before any pixel is decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
            width, height = image.size
            if width * height > max_pixels:
                raise DataError.single(
                    str(path), f"image is {width}x{height} = {width * height:,} pixels, over the "
                    f"cap of {max_pixels:,} (possible decompression bomb)", **where,
                    fix="downscale the image or raise --max-image-pixels")
            image.load()
    except DataError:
        raise
    except Image.DecompressionBombError as err:
        raise DataError.single(str(path), f"decompression bomb: {err}", **where) from None
    except (OSError, SyntaxError, ValueError) as err:
        # OSError covers "image file is truncated" and "cannot identify image file".
        raise DataError.single(str(path), f"unreadable image ({err})", **where,
                               fix="re-export the image as a complete JPEG") from None
    return image


def resize_to_budget(image: Image.Image, max_pixels: int) -> Image.Image:
    """RGB copy of ``image`` with width * height <= max_pixels, aspect ratio kept,
    never upscaled (bicubic)."""
    image = image.convert("RGB")
    width, height = image.size
    if width * height <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / (width * height))
    new_w, new_h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    if new_w * new_h > max_pixels:
        # Float rounding, or a 1-pixel floor on a sliver of an image, left it over budget.
        if new_w >= new_h:
            new_w = max(1, max_pixels // new_h)
        else:
            new_h = max(1, max_pixels // new_w)
    return image.resize((new_w, new_h), Image.Resampling.BICUBIC)


def model_image(path: Path, max_pixels: int, *, checkup_id: str | None = None) -> Image.Image:
    """The pixels a model is shown for ``path``: opened safely, RGB, within
    ``max_pixels``. Every backend (``hf``, ``openai``) goes through this function, so
    the same request shows every model the same image."""
    with open_image(Path(path), checkup_id=checkup_id) as image:
        return resize_to_budget(image, max_pixels)
