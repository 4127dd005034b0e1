from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.setup.sshd_support import Sshd, start_sshd


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    server = start_sshd(tmp_path)
    try:
        yield server
    finally:
        server.stop()
