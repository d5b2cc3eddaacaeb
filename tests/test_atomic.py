"""The one atomic write: whole or nothing, and no temporary file left when it fails."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from eval_harness.atomic import PARTIAL, write_atomically


def test_a_failed_write_keeps_the_old_file_and_leaves_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_bytes(b"old")

    def chunks():
        yield b"new, half"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, chunks())
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_write_replaces_whole_with_the_mode_asked(tmp_path: Path) -> None:
    target = tmp_path / "keys" / "client-key"
    write_atomically(target, [b"ab", b"cd"], mode=0o600)
    assert target.read_bytes() == b"abcd"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not target.with_name(target.name + PARTIAL).exists()
