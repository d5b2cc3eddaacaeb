"""The one way this project writes a file that others read: a temporary file beside the
target, flushed to disk (fsync), then renamed over it. A reader sees the old file or the
new one, never half of one, even if the process or the machine stops midway; a write that
fails (a full disk) leaves no temporary file behind and raises the OSError.

Each write has a temporary file of its own (a random name), so concurrent writers of one
target (fifty first submissions making the client key at once; two sessions exporting the
same table) never write into or rename each other's."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path

PARTIAL = ".partial"  # the temporary files' suffix (the outage tests look for leftovers)


def _written_beside(path: Path, chunks: Iterable[bytes], mode: int | None) -> Path:
    """``chunks`` in a new temporary file next to ``path``, flushed to disk; on any
    failure the temporary file is removed and the error raised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}{PARTIAL}")
    try:
        with partial.open("xb") as handle:
            if mode is not None:
                os.chmod(partial, mode)
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:  # whatever stopped it, no partial file stays to be read later
        partial.unlink(missing_ok=True)
        raise
    return partial


def write_atomically(path: Path, chunks: Iterable[bytes], *, mode: int | None = None) -> Path:
    """``chunks`` written to ``path`` whole or not at all; ``mode`` (e.g. 0o600 for a key)
    is set before any byte is written."""
    partial = _written_beside(path, chunks, mode)
    try:
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def write_once(path: Path, chunks: Iterable[bytes], *, mode: int | None = None) -> bool:
    """Like :func:`write_atomically`, but only where ``path`` does not exist yet: of
    writers racing to create it, exactly one's content lands (a hard link refuses an
    existing name) and every one then reads the same file. Whether this call's landed."""
    partial = _written_beside(path, chunks, mode)
    try:
        os.link(partial, path)
        return True
    except FileExistsError:
        return False
    finally:
        partial.unlink(missing_ok=True)
