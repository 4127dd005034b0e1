"""lvstui.safeio.read_regular's refusals that callers rely on (the rest is covered where it is used)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lvstui.safeio import FileRefused, read_regular


def test_private_refuses_a_file_others_may_read(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    path.chmod(0o600)
    assert read_regular(path, 10, private=True) == b"x"
    for mode in (0o640, 0o604, 0o620):
        path.chmod(mode)
        with pytest.raises(FileRefused, match="not private"):
            read_regular(path, 10, private=True)
        assert read_regular(path, 10) == b"x"  # without private, the mode is the caller's business


def test_private_with_no_link_and_owner(tmp_path: Path) -> None:
    target = tmp_path / "t"
    target.write_bytes(b"y")
    target.chmod(0o600)
    (tmp_path / "l").symlink_to(target)
    with pytest.raises(FileRefused, match="symbolic link"):
        read_regular(tmp_path / "l", 10, follow=False, owners={os.geteuid()}, private=True)
    assert read_regular(tmp_path / "missing", 10, private=True) is None
