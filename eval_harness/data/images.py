"""Opening checkup images safely: pixel cap, truncation and format errors as DataError."""

from __future__ import annotations

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
