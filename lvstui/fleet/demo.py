"""A simulated fleet: deterministic directors for ``lvstui fleet --demo``, the tests and the benchmark.

A DEMO, not your directors: every director is :class:`lvstui.demo.DemoSource`'s simulated table
(under its own name, with one VRRP instance per pair), produced by a thread of its own every
interval as a real reader's thread would receive it.  What happens is fixed by the director's
place in the fleet, so a screen shows every case:

* the first director of each pair is MASTER, the others BACKUP;
* pair 2's second director is never reached ("connection refused", simulated);
* pair 3's second director answers once, then goes silent (stale, its age growing);
* pair 4 is in split brain (both MASTER).

Nothing here opens a socket.  With ``threaded=False`` a reader produces a snapshot only when
:meth:`DemoReader.poll` is called (tests drive the clock).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Self

from lvstui.demo import DemoSource
from lvstui.fleet.poller import Reader
from lvstui.fleet.spec import DirectorSpec, FleetSpec, PairSpec
from lvstui.model import PeerView, Snapshot, VrrpInstance

__all__ = ["DEMO_NAMES", "DemoReader", "demo_fleet", "demo_readers"]

DEMO_NAMES = ("web", "api", "mail", "dns", "edge", "vpn")
REFUSED = "connection refused (simulated: demo)"


def demo_fleet(pairs: int = len(DEMO_NAMES)) -> FleetSpec:
    """A fleet of *pairs* simulated pairs of two directors each."""
    names = [DEMO_NAMES[i] if i < len(DEMO_NAMES) else f"pair{i + 1:02}" for i in range(pairs)]
    return FleetSpec("demo", tuple(PairSpec(n, (DirectorSpec(f"{n}-lb1"), DirectorSpec(f"{n}-lb2")))
                                   for n in names))


class DemoReader:
    """One simulated director: :meth:`view` never blocks, like PeerReader's."""

    def __init__(self, host: str, *, pair: int, index: int, clock: Callable[[], float] = time.monotonic,
                 interval: float = 1.0, threaded: bool = True) -> None:
        self.host = host
        self.clock = clock
        self.interval = interval
        self.stale_after = max(3 * interval, 5.0)
        self.refused = pair == 1 and index == 1
        self.silent_after = 1 if pair == 2 and index == 1 else None
        state = "MASTER" if index == 0 or pair == 3 else "BACKUP"
        self.vrrp = VrrpInstance(name=f"VI_{pair + 1}", state=state, priority=150 - 50 * min(index, 1),
                                 effective_priority=150 - 50 * min(index, 1), interface="eth0",
                                 vips=(f"192.0.2.{10 + pair % 240}", f"2001:db8::{pair + 10:x}"),
                                 virtual_router_id=51 + pair % 200)
        self._source = DemoSource(seed=7 + pair, clock=clock, director=host)
        self._threaded = threaded
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._snapshot: Snapshot | None = None
        self._read_at: float | None = None
        self._polls = 0
        self._thread = threading.Thread(target=self._run, name=f"lvstui demo {host}", daemon=True)

    def start(self) -> Self:
        if self._threaded:
            self._thread.start()
        else:
            self.poll()
        return self

    def poll(self) -> None:
        """One interval's snapshot (as the reader's thread would receive it)."""
        self._polls += 1
        if self.refused or (self.silent_after is not None and self._polls > self.silent_after):
            return
        snap = replace(self._source.read(), vrrp=(self.vrrp,))
        with self._lock:
            self._snapshot, self._read_at = snap, self.clock()

    def view(self) -> PeerView:
        with self._lock:
            snap, read_at = self._snapshot, self._read_at
        age = None if read_at is None else max(0.0, self.clock() - read_at)
        if self.refused:
            return PeerView(self.host, False, f"{self.host}:22: {REFUSED}")
        if snap is None:
            return PeerView(self.host, False, "not read yet")
        stale = age is not None and age > self.stale_after
        error = f"no snapshot from {self.host} for {age:.0f} s" if stale and age is not None else None
        return PeerView(self.host, True, error, snap, read_at, age, stale, "lvstui")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)


def demo_readers(spec: FleetSpec, *, clock: Callable[[], float] = time.monotonic, interval: float = 1.0,
                 threaded: bool = True) -> Callable[[DirectorSpec], Reader]:
    """A reader factory for FleetPoller: each director of *spec* simulated by its place."""
    place = {d.key: (p, i) for p, pair in enumerate(spec.pairs) for i, d in enumerate(pair.directors)}

    def make(d: DirectorSpec) -> Reader:
        p, i = place[d.key]
        return DemoReader(d.target, pair=p, index=i, clock=clock, interval=interval, threaded=threaded)

    return make
