"""The ``serve`` fixture: ``lvstui ... serve`` processes, killed after the test if still running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.serve.support import Served


@pytest.fixture
def serve() -> Iterator[type[Served]]:
    started: list[Served] = []

    class Tracked(Served):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()
