"""lvstui's VRRP track file is replaced by rename, never truncated in place through a link."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lvstui.keepalived.toggle import ToggleError, read_track_value
from lvstui.ops.vrrp import write_track_value


def test_a_link_planted_at_the_track_file_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "shadow-copy"
    victim.write_text("root:precious\n")
    track = tmp_path / "lvstui-maint"
    track.symlink_to(victim)
    write_track_value(track, 1)
    assert victim.read_text() == "root:precious\n"
    assert not track.is_symlink() and track.read_text() == "1\n"
    assert read_track_value(track) == 1
    write_track_value(track, 0)
    assert read_track_value(track) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lvstui-maint", "shadow-copy"]


def test_track_file_that_is_a_fifo_or_huge_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ToggleError, match="not a regular file"):
        read_track_value(fifo)
    big = tmp_path / "big"
    big.write_bytes(b"1" * 10_000)
    with pytest.raises(ToggleError, match="too large"):
        read_track_value(big)
