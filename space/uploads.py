"""Patient images leave the disk with their request, without pulling a file from under
another request that is still waiting for it.

Gradio stores an upload under the hash of its content, so two people (or one person twice)
uploading the same image get the same path. Deleting it when the first request ends would
leave the second, still queued, with "image file is missing". So a request deletes a cached
upload only when no other event waiting in or running through Gradio's queue names it; the
last one to finish deletes it. Whatever is left (abandoned uploads) goes with Gradio's
``delete_cache`` sweep.

The form still lists the uploads after their files are gone, so running the same form
again (after editing the complaint) would find nothing on disk. A run therefore keeps the
bytes of its validated uploads in the session's memory (a ``gr.State`` with a time to
live, dropped when the tab closes), keyed by the cached path: Gradio names a cached upload
by its content hash, so one path is one content. Thumbnails of the uploads are small
in-memory JPEGs inlined in the page, never files.
"""

from __future__ import annotations

import base64
import html
import io
import os
import tempfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from eval_harness.errors import DataError

THUMBNAIL_PX = 96  # the longer side of a thumbnail


def gradio_cache() -> Path:
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


def _paths(value: Any, found: Counter[str]) -> None:
    if isinstance(value, dict):
        if isinstance(value.get("path"), str):
            found[value["path"]] += 1
        for inner in value.values():
            _paths(inner, found)
    elif isinstance(value, list | tuple):
        for inner in value:
            _paths(inner, found)


def queued_uploads(page: Any) -> Counter[str] | None:
    """How often each file path is named by the events waiting in or running through the
    page's queue (this request's own event included); None when this Gradio's queue does
    not have the shape this reads, in which case nothing is deleted early."""
    try:
        queue = page._queue  # Gradio 6's queue: no public API lists waiting events' inputs
        events = [e for q in list(queue.event_queue_per_concurrency_id.values())
                  for e in list(q.queue)]
        events += [e for job in list(queue.active_jobs) if job for e in job]
        found: Counter[str] = Counter()
        for event in events:
            _paths(getattr(event.data, "data", None), found)
        return found
    except AttributeError:
        return None


def forget_uploads(paths: list[str], in_queue: Counter[str] | None) -> list[Path]:
    """Delete Gradio's cached copy of each of this request's uploads (only files inside
    Gradio's upload folder) that no other queued or running event still names; returns
    what was deleted."""
    if in_queue is None:
        return []
    cache, own = gradio_cache().resolve(), Counter(paths)
    gone = []
    for name, count in own.items():
        path = Path(name)
        if in_queue[name] > count:  # another request with the same image is waiting
            continue
        if path.resolve().is_relative_to(cache) and path.is_file():
            path.unlink()
            gone.append(path)
    return gone


def _cached(name: str) -> bool:
    path = Path(name)
    return path.is_file() and path.resolve().is_relative_to(gradio_cache().resolve())


def remember_uploads(paths: list[str], kept: Mapping[str, bytes] | None) -> dict[str, bytes]:
    """The bytes of each of the form's uploads, read from Gradio's cache while the file is
    there, else taken from what the session already kept; uploads no longer in the form
    are dropped. Only files in Gradio's upload folder are read (never another path a
    request names); each is within the app's upload size limit."""
    kept = kept or {}
    memory: dict[str, bytes] = {}
    for name in dict.fromkeys(paths):
        if _cached(name):
            memory[name] = Path(name).read_bytes()
        elif name in kept:
            memory[name] = kept[name]
    return memory


def _thumbnail(name: str, kept: Mapping[str, bytes]) -> str:
    """One upload as a small inline JPEG, or its name and why it cannot be shown."""
    from eval_harness.data.images import open_image
    from space.demo import MAX_PIXELS_IN

    shown = html.escape(Path(name).name)
    try:
        if _cached(name):  # open_image refuses non-images and pixel bombs
            image = open_image(Path(name), max_pixels=MAX_PIXELS_IN)
        elif name in kept:  # validated by the run that kept it
            image = Image.open(io.BytesIO(kept[name]))
        else:
            return f"<span>{shown}: no longer available, upload it again</span>"
    except DataError as error:
        problem = html.escape(error.problems[0].message)
        return f"<span>{shown}: {problem}</span>"
    with image:
        small = image.convert("RGB")
        small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure style="margin:0;text-align:center"><img src="data:image/jpeg;base64,'
            f'{data}" alt="{shown}" style="max-width:{THUMBNAIL_PX}px;max-height:'
            f'{THUMBNAIL_PX}px;border-radius:4px"><figcaption style="font-size:0.75em;'
            f'max-width:{THUMBNAIL_PX}px;overflow-wrap:anywhere">{shown}</figcaption></figure>')


def thumbnails_html(paths: list[str] | None, kept: Mapping[str, bytes] | None) -> str:
    """Thumbnails of the selected images for a gr.HTML beside the upload field; nothing is
    written to disk (Gradio's image components would cache a copy of each)."""
    if not paths:
        return ""
    tiles = "".join(_thumbnail(name, kept or {}) for name in paths)
    return f'<div style="display:flex;flex-wrap:wrap;gap:8px">{tiles}</div>'
