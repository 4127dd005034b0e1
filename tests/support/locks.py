"""Another operator for lvstui's locks (lvstui.ops.lock): another thread of this process, which
the lock treats as another process would be (busy, never re-entered)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lvstui.ops.lock import Busy, held

__all__ = ["held_by_another_operator", "try_as_another_operator"]


@contextmanager
def held_by_another_operator(name: str, operation: str, directory: Path | None = None) -> Iterator[None]:
    """Lock *name* held by another operator (a thread) for the body of the ``with``."""
    taken, release = threading.Event(), threading.Event()

    def operator() -> None:
        with held(name, operation, directory=directory):
            taken.set()
            release.wait(30)

    other = threading.Thread(target=operator)
    other.start()
    try:
        assert taken.wait(30), f"another operator could not take {name}"
        yield
    finally:
        release.set()
        other.join()


def try_as_another_operator(name: str, directory: Path | None = None) -> str:
    """What another operator (a thread) gets trying lock *name* now: ``taken`` or the busy line."""
    seen: list[str] = []

    def operator() -> None:
        try:
            with held(name, "another operator", directory=directory):
                seen.append("taken")
        except Busy as exc:
            seen.append(str(exc))

    thread = threading.Thread(target=operator)
    thread.start()
    thread.join()
    return seen[0]
