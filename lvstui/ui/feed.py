"""What the poller thread does with each snapshot before the screen sees it.

Plain Python (no Textual): the poller thread calls :meth:`Feed.process`, which
computes lvstui's own rates, detects changes of real servers (down, up,
appeared, vanished, weight) into an event log, and records rate history for
the sparklines.  The event log and the history live here, guarded by a lock,
so that a frame the UI drops as stale (a newer one replaced it in the queue)
loses no event and no history point.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from lvstui.model import RealServer, Snapshot, VirtualService
from lvstui.rates import NO_DELTAS, Deltas, compute_deltas, rs_key

__all__ = ["ChangeEvent", "Feed", "HISTORY_POINTS"]

#: sparkline history: five minutes at the default 1 s interval
HISTORY_POINTS = 300
#: keep every real server's history when the director has at most this many
HISTORY_ALL_LIMIT = 5000
_DOWN_STATES = frozenset({"down", "inhibited"})


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    at: datetime
    kind: str  # down, up, drained, appeared, vanished, weight, service-added, service-removed
    vs_id: str
    rs_id: str | None
    detail: str
    rs: RealServer | None = None  # the server as last seen (kept for "vanished" rows)

    @property
    def key(self) -> str:
        return rs_key(self.vs_id, self.rs_id) if self.rs_id else self.vs_id


Point = tuple[float, float, float, float]  # kernel cps, kernel bytes/s, lvstui cps, lvstui bytes/s


class Feed:
    def __init__(self, history_points: int = HISTORY_POINTS, max_events: int = 2000) -> None:
        self._lock = threading.Lock()
        self._previous: Snapshot | None = None
        self._events: list[ChangeEvent] = []
        self._event_base = 0  # index of self._events[0] in the whole log
        self._max_events = max_events
        self._history: dict[str, deque[Point]] = {}
        self._points = history_points
        self._watched: frozenset[str] = frozenset()

    # --- called from the poller thread -------------------------------------------------

    def process(self, snapshot: Snapshot) -> Deltas:
        previous = self._previous
        deltas = compute_deltas(previous, snapshot) if previous is not None else NO_DELTAS
        events = list(_changes(previous, snapshot)) if previous is not None else []
        self._previous = snapshot
        watched = self._watched
        keep_all = snapshot.real_server_count <= HISTORY_ALL_LIMIT
        nan = float("nan")
        points: list[tuple[str, Point]] = []
        for vs in snapshot.virtual_services:
            vs_id = vs.id
            d = deltas.services.get(vs_id)
            points.append((vs_id, (vs.rates.cps, vs.rates.inbps + vs.rates.outbps,
                                   d.cps if d else nan, d.inbps + d.outbps if d else nan)))
            if keep_all or vs_id in watched:
                for rs in vs.real_servers:
                    key = rs_key(vs_id, rs.id)
                    d = deltas.real_servers.get(key)
                    points.append((key, (rs.rates.cps, rs.rates.inbps + rs.rates.outbps,
                                         d.cps if d else nan, d.inbps + d.outbps if d else nan)))
        # the UI thread reads under this lock: hold it only for the appends
        with self._lock:
            if events:
                self._events.extend(events)
                excess = len(self._events) - self._max_events
                if excess > 0:
                    del self._events[:excess]
                    self._event_base += excess
            record = self._record
            for key, point in points:
                record(key, point)
        return deltas

    def _record(self, key: str, point: Point) -> None:
        ring = self._history.get(key)
        if ring is None:
            ring = self._history[key] = deque(maxlen=self._points)
        ring.append(point)

    # --- called from the UI thread -----------------------------------------------------

    def watch(self, vs_ids: Iterable[str]) -> None:
        """Record the real servers of these services even on a large director."""
        self._watched = frozenset(vs_ids)

    def history(self, key: str) -> list[Point]:
        with self._lock:
            ring = self._history.get(key)
            return list(ring) if ring else []

    def events_since(self, index: int) -> tuple[list[ChangeEvent], int]:
        """Events after the ``index``-th, and the index to ask from next time."""
        with self._lock:
            start = max(index - self._event_base, 0)
            return self._events[start:], self._event_base + len(self._events)


def _describe_state(rs: RealServer) -> str:
    if rs.check is not None and not rs.check.alive and rs.check.detail:
        return f"{rs.check.checker}: {rs.check.detail}"
    return ""


def _changes(previous: Snapshot, current: Snapshot) -> Iterable[ChangeEvent]:
    at = current.taken_at
    old_services: dict[str, VirtualService] = {vs.id: vs for vs in previous.virtual_services}
    seen: set[str] = set()
    for vs in current.virtual_services:
        vs_id = vs.id
        seen.add(vs_id)
        old = old_services.get(vs_id)
        if old is None:
            yield ChangeEvent(at, "service-added", vs_id, None, f"{len(vs.real_servers)} real servers")
            continue
        old_rs = {rs.id: rs for rs in old.real_servers}
        for rs in vs.real_servers:
            rs_id = rs.id
            before = old_rs.pop(rs_id, None)
            if before is None:
                yield ChangeEvent(at, "appeared", vs_id, rs_id, f"weight {rs.weight}, {rs.state}", rs)
                continue
            old_state, new_state = before.state, rs.state
            if old_state != new_state:
                if new_state in _DOWN_STATES:
                    why = _describe_state(rs)
                    yield ChangeEvent(at, "down", vs_id, rs_id,
                                      f"{old_state} → {new_state}" + (f" ({why})" if why else ""), rs)
                elif new_state == "drained":
                    yield ChangeEvent(at, "drained", vs_id, rs_id, f"weight {before.weight} → 0", rs)
                else:
                    yield ChangeEvent(at, "up", vs_id, rs_id, f"{old_state} → {new_state}", rs)
            elif before.weight != rs.weight:
                yield ChangeEvent(at, "weight", vs_id, rs_id, f"weight {before.weight} → {rs.weight}", rs)
        for rs_id, gone in old_rs.items():
            yield ChangeEvent(at, "vanished", vs_id, rs_id, "removed from IPVS", gone)
    for vs_id in old_services.keys() - seen:
        yield ChangeEvent(at, "service-removed", vs_id, None, "virtual service deleted")
