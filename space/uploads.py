"""Patient images leave the disk with their request, without pulling a file from under
another request that is still waiting for it.

Gradio stores an upload under the hash of its content, so two people (or one person twice)
uploading the same image get the same path. Deleting it when the first request ends would
leave the second, still queued, with "image file is missing". So a request deletes a cached
upload only when no other event waiting in or running through Gradio's queue names it; the
last one to finish deletes it. Whatever is left (abandoned uploads) goes with Gradio's
``delete_cache`` sweep.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any


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
