"""The one file hasher: sha256 of a file, and a memoised content hash of many files.

``sha256_file`` always reads the file. ``file_sha256`` and ``content_hash`` remember
each file's digest under its (resolved path, size, mtime, ctime, inode): in memory, and
for files of 16 MiB and more in ``<cache>/file-hashes.sqlite``, so a 15 GB checkpoint
is read once, not on every run, while a file rewritten in place (new mtime and ctime,
even at the same size) is read again. ctime cannot be set back by ``touch`` or
``cp -p``, so restoring an old mtime does not hide new content either.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from eval_harness.settings import cache_dir

_CHUNK = 1 << 20
MEMO_FILE = "file-hashes.sqlite"
# Smaller files are re-read each process (milliseconds) rather than filling the disk
# memo with every config and temporary file ever hashed.
DISK_MIN_BYTES = 16 << 20


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of the file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stat_key(path: Path) -> tuple[str, int, int, int, int]:
    real = path.resolve()
    st = real.stat()
    return str(real), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


class HashMemo:
    """Digests by stat key, in memory and (when ``path`` is given and writable) on disk.

    ``reads`` counts files actually hashed, for tests and diagnostics.
    """

    def __init__(self, path: Path | None = None, *,
                 disk_min_bytes: int = DISK_MIN_BYTES) -> None:
        self.path = path
        self.disk_min_bytes = disk_min_bytes
        self.reads = 0
        self._memory: dict[tuple[str, int, int, int, int], str] = {}
        self._lock = threading.Lock()
        self._disk: bool | None = None if path is not None else False  # None: not yet opened

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)  # type: ignore[arg-type]

    def _use_disk(self, size: int) -> bool:
        if size < self.disk_min_bytes or self._disk is False:
            return False
        if self._disk is None:  # opened on the first large file only
            self._disk = self._init_disk()
        return self._disk

    def _init_disk(self) -> bool:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
            with contextlib.closing(self._connect()) as con, con:
                con.execute("CREATE TABLE IF NOT EXISTS hashes (path TEXT, size INTEGER, "
                            "mtime_ns INTEGER, ctime_ns INTEGER, inode INTEGER, "
                            "sha256 TEXT NOT NULL, "
                            "PRIMARY KEY (path, size, mtime_ns, ctime_ns, inode))")
            return True
        except (OSError, sqlite3.Error):
            return False  # a read-only cache folder: memoise in memory only

    def _lookup(self, key: tuple[str, int, int, int, int]) -> str | None:
        if key in self._memory:
            return self._memory[key]
        if not self._use_disk(key[1]):
            return None
        try:
            with contextlib.closing(self._connect()) as con:
                row = con.execute("SELECT sha256 FROM hashes WHERE path=? AND size=? AND "
                                  "mtime_ns=? AND ctime_ns=? AND inode=?", key).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def _store(self, key: tuple[str, int, int, int, int], digest: str) -> None:
        self._memory[key] = digest
        if not self._use_disk(key[1]):
            return
        with contextlib.suppress(sqlite3.Error), \
                contextlib.closing(self._connect()) as con, con:
            # Older digests of the same path are dead: keep one row per file.
            con.execute("DELETE FROM hashes WHERE path=?", key[:1])
            con.execute("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?)",
                        (*key, digest))

    def sha256(self, path: Path | str) -> str:
        path = Path(path)
        key = _stat_key(path)
        with self._lock:
            found = self._lookup(key)
        if found is not None:
            return found
        digest = sha256_file(path)
        with self._lock:
            self.reads += 1
        # A file written while it was read would pair the old stat with mixed bytes:
        # only remember the digest when the file did not change under us.
        if _stat_key(path) == key:
            with self._lock:
                self._store(key, digest)
        return digest


@cache
def _memo_at(path: Path) -> HashMemo:
    return HashMemo(path)


def default_memo() -> HashMemo:
    """The memo in ``$CODEBENCH_CACHE/file-hashes.sqlite`` (one per cache folder)."""
    return _memo_at(cache_dir() / MEMO_FILE)


def file_sha256(path: Path | str, memo: HashMemo | None = None) -> str:
    """``sha256_file``, memoised by (path, size, mtime, ctime, inode)."""
    return (memo or default_memo()).sha256(path)


def content_hash(paths: Iterable[Path | str], *, root: Path | str | None = None,
                 memo: HashMemo | None = None) -> str:
    """One sha256 over several files: their names (relative to ``root`` when given, so
    a moved folder keeps its hash) and their contents' digests, in sorted name order."""
    memo = memo or default_memo()
    base = Path(root) if root is not None else None
    entries = []
    for path in paths:
        path = Path(path)
        name = path.relative_to(base).as_posix() if base is not None else path.as_posix()
        entries.append((name, memo.sha256(path)))
    digest = hashlib.sha256()
    for name, file_digest in sorted(entries):
        digest.update(f"{name}\0{file_digest}\n".encode())
    return digest.hexdigest()


__all__ = ["HashMemo", "content_hash", "default_memo", "file_sha256", "sha256_file"]
