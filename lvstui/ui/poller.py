"""The one poller: a loop the dashboard runs in a single Textual thread worker.

Polls never overlap because there is only this loop, and it sleeps until the
next one is due only after the last one finished.  When a poll takes longer
than the interval, the interval stretches (and the frame says so).  Failures
become data: a frame carrying the error and the last good snapshot.

No Textual import: the app passes ``deliver``, which posts a message.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lvstui.backend import BackendError, SnapshotSource
from lvstui.model import EMPTY_SNAPSHOT, Snapshot
from lvstui.rates import NO_DELTAS, Deltas
from lvstui.ui.columns import RateView
from lvstui.ui.feed import Feed
from lvstui.ui.health import StateCounts, count_states
from lvstui.ui.view import Tables, ViewSpec, build_tables

__all__ = ["STRETCH", "Frame", "Poller"]

STRETCH = 1.25  # a slow poll's duration times this becomes the interval


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int
    snapshot: Snapshot  # the newest good snapshot (the previous one when this poll failed)
    deltas: Deltas = NO_DELTAS
    tables: Tables | None = None
    error: str | None = None  # this poll failed
    failed_at: float | None = None  # time.monotonic() of the failure
    poll_seconds: float = 0.0
    interval: float = 1.0  # the interval in force after this poll
    stretched: bool = False
    counts: StateCounts = field(default_factory=StateCounts)  # real servers not up, over the whole director
    #: net.ipv4.vs.expire_quiescent_template as this poll read it (None: no such sysctl behind the source)
    expire_quiescent: int | None = None


class Poller:
    def __init__(self, source: SnapshotSource, feed: Feed, interval: float,
                 deliver: Callable[[Frame], None], spec: Callable[[], ViewSpec],
                 host_reader: object | None = None, sysctl: Callable[[], int | None] | None = None) -> None:
        """``sysctl``: reads expire_quiescent_template where the source's director has one (a file read)."""
        self.source = source
        self._sysctl = sysctl
        self.feed = feed
        self.interval = interval
        self._deliver = deliver
        self._spec = spec
        self._host = host_reader
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._seq = 0
        self._discards: list[object] = []
        self._discard_lock = threading.Lock()
        self._last_good: Snapshot = EMPTY_SNAPSHOT
        self._deltas: Deltas = NO_DELTAS
        self._counts = StateCounts()
        self._eqt: int | None = None

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()
        self._wake.set()

    def poll_now(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()
        self._wake.set()

    def discard(self, garbage: object) -> None:
        """Let this thread, not the UI thread, pay for freeing an old frame's objects.

        Dropping the last reference to 50,000 rows costs ~40 ms of deallocation; the UI
        hands old frames here and the next poll releases them.
        """
        with self._discard_lock:
            self._discards.append(garbage)

    def _release_discards(self) -> None:
        with self._discard_lock:
            garbage, self._discards = self._discards, []
        garbage.clear()

    def poll_once(self) -> Frame:
        """One poll, in the calling thread (the loop's body; tests call it directly)."""
        self._release_discards()
        started = time.monotonic()
        self._seq += 1
        try:
            snapshot = self.source.read()
            if snapshot.host is None and self._host is not None:
                snapshot = dataclasses.replace(snapshot, host=self._host.read())  # type: ignore[attr-defined]
            deltas = self.feed.process(snapshot)
            spec = self._spec()
            tables = build_tables(snapshot, spec, RateView(spec.rate_mode, deltas))
            counts = count_states(snapshot)
            eqt = self._sysctl() if self._sysctl is not None else None
        except BackendError as exc:
            return self._failed(started, str(exc) or type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - never let a poll kill the dashboard; show it instead
            return self._failed(started, f"{type(exc).__name__}: {exc}")
        self._last_good, self._deltas, self._counts, self._eqt = snapshot, deltas, counts, eqt
        took = time.monotonic() - started
        interval, stretched = self._next_interval(took)
        return Frame(self._seq, snapshot, deltas, tables, poll_seconds=took, interval=interval,
                     stretched=stretched, counts=counts, expire_quiescent=eqt)

    def _failed(self, started: float, message: str) -> Frame:
        now = time.monotonic()
        interval, stretched = self._next_interval(now - started)
        first_line = message.strip().splitlines()[0] if message.strip() else "poll failed"
        return Frame(self._seq, self._last_good, self._deltas, None, error=first_line, failed_at=now,
                     poll_seconds=now - started, interval=interval, stretched=stretched, counts=self._counts,
                     expire_quiescent=self._eqt)

    def _next_interval(self, took: float) -> tuple[float, bool]:
        if took > self.interval:
            return took * STRETCH, True
        return self.interval, False

    def run(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Poll until :meth:`stop` (or ``cancelled()``); the worker's body."""
        while not self._stop.is_set() and not cancelled():
            self._running.wait()
            if self._stop.is_set() or cancelled():
                return
            started = time.monotonic()
            frame = self.poll_once()
            self._deliver(frame)
            self._wake.wait(timeout=max(frame.interval - (time.monotonic() - started), 0.0))
            self._wake.clear()
