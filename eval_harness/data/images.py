"""Opening checkup images safely (pixel cap, truncation and format errors as DataError)
and the one resize every model backend applies before an image reaches a model."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from eval_harness.errors import DataError

# 40 MP: far above any intraoral photo or radiograph in COde (a few MP), far below
# what a decompression bomb expands to.
DEFAULT_MAX_PIXELS = 40_000_000
# The formats a photo or radiograph comes in. Pillow would otherwise try every format it
# knows, some through external programs (EPS runs Ghostscript).
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")  # JPEG opens MPO too
# What a file that is not an accepted image starts with, to say what it is instead.
_STARTS = ((b"\x89PNG", "it starts like a PNG but its header is cut off or damaged"),
           (b"\xff\xd8\xff", "it starts like a JPEG but its header is cut off or damaged"),
           (b"%PDF", "it is a PDF document, not an image"),
           (b"%!PS", "it is PostScript (EPS), which is not accepted"),
           (b"PK\x03\x04", "it is a zip archive, not an image"),
           (b"\x1f\x8b", "it is a gzip archive, not an image"))


def _what_it_is(path: Path) -> str:
    """Why a file Pillow cannot identify is not an image, from its first bytes."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    for magic, what in _STARTS:
        if head.startswith(magic):
            return what
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if b"<svg" in text[:1024] or (text.startswith(b"<?xml") and b"<svg" in text):
        return "it is an SVG drawing, which is not accepted; upload a PNG or JPEG"
    if text.startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        return "it is HTML or XML text, not an image"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not just a character cut at the 4 KB mark
            return "not a PNG, JPEG, WebP, BMP, TIFF or GIF image"
    return "it is a text file, not an image"


def open_image(path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               checkup_id: str | None = None) -> Image.Image:
    """Open and fully decode an image, or raise DataError saying what is wrong."""
    where = {"checkup_id": checkup_id}
    if not path.is_file():
        raise DataError.single(str(path), "image file is missing", **where,
                               fix="restore the file or remove it from the CSV row")
    if path.stat().st_size == 0:
        raise DataError.single(str(path), "unreadable image (the file is empty: 0 bytes)",
                               **where, fix="upload the image again")
    try:
        # Pillow warns (and past 2x its own cap raises) on huge images; our cap is
        # checked from the header below, before any pixel is decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path, formats=FORMATS)
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
    except UnidentifiedImageError:
        raise DataError.single(str(path), "unreadable image (cannot identify image file: "
                               f"{_what_it_is(path)})", **where,
                               fix="upload a PNG or JPEG photo or radiograph") from None
    except (OSError, SyntaxError, ValueError) as err:
        # Truncation shows as "image file is truncated" (pixel data) or "Truncated File
        # Read" (a header); either way the file ends before the image does.
        reason = str(err).replace(str(path), path.name)
        if "truncated" in reason.lower():
            reason = "image file is truncated: it ends before the image does"
        raise DataError.single(str(path), f"unreadable image ({reason})", **where,
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
