"""The one way this project writes a file that others read: a temporary file beside the
target, flushed to disk (fsync), then renamed over it. A reader sees the old file or the
new one, never half of one, even if the process or the machine stops midway; a write that
fails (a full disk) leaves no temporary file behind and raises the OSError."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PARTIAL = ".partial"  # the temporary file's suffix (the outage tests look for leftovers)


def write_atomically(path: Path, chunks: Iterable[bytes], *, mode: int | None = None) -> Path:
    """``chunks`` written to ``path`` whole or not at all; ``mode`` (e.g. 0o600 for a key)
    is set before any byte is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + PARTIAL)
    try:
        with partial.open("wb") as handle:
            if mode is not None:
                os.chmod(partial, mode)
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(path)
    except BaseException:  # whatever stopped it, no partial file stays to be read later
        partial.unlink(missing_ok=True)
        raise
    return path
