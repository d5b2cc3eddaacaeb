"""The one atomic write: whole or nothing, and no temporary file left when it fails."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from eval_harness.atomic import PARTIAL, write_atomically, write_once


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
    assert not [p for p in target.parent.iterdir() if p.name.endswith(PARTIAL)]


def test_a_writer_overtaken_by_another_of_the_same_file_still_lands_whole(
        tmp_path: Path) -> None:
    """Two requests writing one file at once (the old shared temporary name: the second
    truncated and renamed away the first's, whose rename then failed)."""
    target = tmp_path / "table.csv"

    def first():
        yield b"first, "
        write_atomically(target, [b"second whole"])  # another writer, start to end
        yield b"still whole"

    write_atomically(target, first())
    assert target.read_bytes() == b"first, still whole"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_of_writers_racing_to_create_a_file_one_lands_for_all(tmp_path: Path) -> None:
    target = tmp_path / "client-key"

    def racing():
        yield b"mine"
        assert write_once(target, [b"theirs"], mode=0o600)  # the other one gets there first

    assert not write_once(target, racing(), mode=0o600)
    assert target.read_bytes() == b"theirs"
    assert not write_once(target, [b"later"])
    assert target.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["client-key"]
