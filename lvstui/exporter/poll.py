"""The exporter's one poll thread: read a snapshot every interval, keep the latest for the scrapes.

Polls never overlap (one thread, the next poll is scheduled after the last one ended; a poll
slower than the interval stretches it).  A failed poll is data: :class:`PollState` counts it
and keeps its one-line message, and the thread goes on.  Textual-free.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from lvstui.backend import BackendError, SnapshotSource
from lvstui.model import Snapshot

__all__ = ["PollLoop", "PollState", "ReadOnlySource"]


class ReadOnlySource:
    """A snapshot source reduced to ``read`` and ``close``: the exporter holds nothing that writes."""

    __slots__ = ("_close", "_read", "name")

    def __init__(self, source: SnapshotSource) -> None:
        self._read: Callable[[], Snapshot] = source.read
        self._close: Callable[[], None] = source.close
        self.name = str(getattr(source, "name", "kernel"))

    def read(self) -> Snapshot:
        return self._read()

    def close(self) -> None:
        self._close()


@dataclass(frozen=True, slots=True)
class PollState:
    """What the scrapes render: the newest snapshot and how the polls went."""

    snapshot: Snapshot | None = None  # the last poll's snapshot; None when it failed (or none yet)
    polls: int = 0
    errors: int = 0
    error: str | None = None  # the last poll's failure, one line
    duration: float = 0.0  # seconds the last poll took
    success_at: float | None = None  # time.time() of the last good poll
    seq: int = 0  # bumped by every poll


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PollLoop:
    """Polls ``source`` in a daemon thread; :attr:`state` is the latest :class:`PollState`."""

    def __init__(self, source: SnapshotSource, interval: float = 5.0,
                 on_poll: Callable[[PollState], None] | None = None) -> None:
        self.source = ReadOnlySource(source)
        self.interval = interval
        self._on_poll = on_poll
        self.state = PollState()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> PollState:
        """One poll in the calling thread (the loop's body; tests call it directly)."""
        old = self.state
        started = time.monotonic()
        snap: Snapshot | None = None
        error: str | None = None
        try:
            snap = self.source.read()
            if snap.error:
                error, snap = snap.error.strip().splitlines()[0], None
        except BackendError as exc:
            error = _one_line(exc)
        except Exception as exc:  # noqa: BLE001 - a failed poll is a metric, never a dead exporter
            error = f"{type(exc).__name__}: {_one_line(exc)}"
        state = PollState(
            snapshot=snap,
            polls=old.polls + 1,
            errors=old.errors + (error is not None),
            error=error,
            duration=time.monotonic() - started,
            success_at=time.time() if error is None else old.success_at,
            seq=old.seq + 1,
        )
        self.state = state  # one reference assignment: a scrape sees the old or the new, whole
        if self._on_poll is not None:
            self._on_poll(state)
        return state

    def run(self, wait_first: bool = False) -> None:
        if wait_first:
            self._stop.wait(self.interval)
        while not self._stop.is_set():
            started = time.monotonic()
            state = self.poll_once()
            wait = max(self.interval, state.duration * 1.25) - (time.monotonic() - started)
            self._stop.wait(max(wait, 0.0))

    def start(self, wait_first: bool = False) -> PollLoop:
        """Poll in a daemon thread (after one interval with ``wait_first``: a poll was just made)."""
        self._thread = threading.Thread(target=self.run, args=(wait_first,), name="lvstui-exporter-poll",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.source.close()
