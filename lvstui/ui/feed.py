"""What the poller thread does with each snapshot before the screen sees it.

Plain Python (no Textual): the poller thread calls :meth:`Feed.process`, which
computes lvstui's own rates, detects changes of real servers (down, up,
appeared, vanished, weight) into an event log, and records rate history for
the sparklines.  The event log (guarded by a lock) and the history live here,
so that a frame the UI drops as stale (a newer one replaced it in the queue)
loses no event and no history point.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from lvstui.model import RealServer, Snapshot, VirtualService
from lvstui.rates import NO_DELTAS, Deltas, compute_deltas, rs_key

__all__ = ["HISTORY_POINTS", "ChangeEvent", "Feed"]

#: sparkline history: three minutes at the default 1 s interval
HISTORY_POINTS = 180
#: keep every real server's history when the director has at most this many
HISTORY_ALL_LIMIT = 2000
#: of a watched (selected) service, keep every real server's history up to this many servers;
#: beyond, only the selected real server's
WATCH_ALL_LIMIT = 2000
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


class Ring:
    """The last N points in one float32 array (4.8 KB for 300 points, not ~55 KB of tuples).

    History is kept for every service (10,000 on a kube-proxy node), so its size matters.
    """

    __slots__ = ("_count", "_data", "_next", "_size")

    def __init__(self, size: int) -> None:
        self._data = array("f", bytes(4 * 4 * size))
        self._size = size
        self._next = 0
        self._count = 0

    def append(self, point: Point) -> None:
        base = self._next * 4
        self._data[base: base + 4] = array("f", point)
        self._next = (self._next + 1) % self._size
        self._count = min(self._count + 1, self._size)

    def points(self) -> list[Point]:
        count, end = self._count, self._next  # read once: another thread may be appending
        start = (end - count) % self._size
        data = self._data
        out = []
        for i in range(count):
            base = ((start + i) % self._size) * 4
            out.append((data[base], data[base + 1], data[base + 2], data[base + 3]))
        return out

    def __len__(self) -> int:
        return self._count


class Feed:
    def __init__(self, history_points: int = HISTORY_POINTS, max_events: int = 2000) -> None:
        self._lock = threading.Lock()
        self._previous: Snapshot | None = None
        self._events: list[ChangeEvent] = []
        self._event_base = 0  # index of self._events[0] in the whole log
        self._max_events = max_events
        self._history: dict[str, Ring] = {}
        self._points = history_points
        self._watched: frozenset[str] = frozenset()
        self._watched_rs: frozenset[str] = frozenset()

    # --- called from the poller thread -------------------------------------------------

    def process(self, snapshot: Snapshot) -> Deltas:
        previous = self._previous
        deltas = compute_deltas(previous, snapshot) if previous is not None else NO_DELTAS
        events = list(_changes(previous, snapshot)) if previous is not None else []
        self._previous = snapshot
        watched, watched_rs = self._watched, self._watched_rs
        keep_all = snapshot.real_server_count <= HISTORY_ALL_LIMIT
        nan = float("nan")
        points: list[tuple[str, Point]] = []
        for vs in snapshot.virtual_services:
            vs_id = vs.id
            d = deltas.services.get(vs_id)
            points.append((vs_id, (vs.rates.cps, vs.rates.inbps + vs.rates.outbps,
                                   d.cps if d else nan, d.inbps + d.outbps if d else nan)))
            every = keep_all or (vs_id in watched and len(vs.real_servers) <= WATCH_ALL_LIMIT)
            if every or (vs_id in watched and watched_rs):
                for rs in vs.real_servers:
                    key = rs_key(vs_id, rs.id)
                    if not every and key not in watched_rs:
                        continue
                    d = deltas.real_servers.get(key)
                    points.append((key, (rs.rates.cps, rs.rates.inbps + rs.rates.outbps,
                                         d.cps if d else nan, d.inbps + d.outbps if d else nan)))
        if events:
            with self._lock:
                self._events.extend(events)
                excess = len(self._events) - self._max_events
                if excess > 0:
                    del self._events[:excess]
                    self._event_base += excess
        # History takes no lock: the UI thread must never wait for this loop (10,000 services).
        # A sparkline read during an append may miss that newest point; nothing worse.
        old, size = self._history, self._points
        history: dict[str, Ring] = {}  # keys not recorded this time (deleted, unwatched) are dropped
        for key, point in points:
            ring = old.get(key)
            if ring is None:
                ring = Ring(size)
            ring.append(point)
            history[key] = ring
        self._history = history
        return deltas

    # --- called from the UI thread -----------------------------------------------------

    def watch(self, vs_ids: Iterable[str], rs_keys: Iterable[str] = ()) -> None:
        """Record the real servers of these services even on a large director (all of them up to
        WATCH_ALL_LIMIT, else only ``rs_keys``)."""
        self._watched = frozenset(vs_ids)
        self._watched_rs = frozenset(rs_keys)

    def history(self, key: str) -> list[Point]:
        ring = self._history.get(key)
        return ring.points() if ring else []

    def history_keys(self) -> int:
        return len(self._history)

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
