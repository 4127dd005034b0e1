"""The dashboard's drains in progress judged as ``lvstui drain --wait`` judges them.

A drained real server is done when no connection entry of it carries client traffic
(:mod:`lvstui.backend.traffic`: closed TCP entries only waiting out their timers do not count;
where persistence templates still pin clients, they do).  Counting ``active == 0 and inactive
== 0`` instead kept a finished drain "in progress" for the two minutes of FIN/TIME_WAIT.

The table is read only while a drain is in progress (started from this screen, or a real server
found at weight 0 that another lvstui, operator or ipvsadm drained and that is not judged done
yet), in one streamed pass for all of them, in a thread that never overlaps the previous one.  Sources without a
connection table here (the demo) pass no reader: the counts are all there is.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from lvstui.backend.conns import ConnError, format_expires
from lvstui.backend.traffic import ServerTraffic
from lvstui.model import RealServer, Snapshot, VirtualService
from lvstui.ui.host import DashboardHost

__all__ = ["DRAIN_TRAFFIC", "DrainTraffic", "Reader", "Target"]

Target = tuple[str, str]  # (virtual service id, real server id)
Reader = Callable[[Sequence[VirtualService], list[Target]], dict[Target, ServerTraffic]]

#: the worker group of the table read (busy while one runs)
DRAIN_TRAFFIC = "drain-traffic"


class DrainTraffic:
    """What the connection table last said of each drain in progress."""

    def __init__(self, host: DashboardHost, read: Reader | None,
                 pinning_sysctl: Callable[[], bool] = lambda: True) -> None:
        """``read``: None where there is no connection table; ``pinning_sysctl``: whether
        expire_quiescent_template is 0 (templates keep sending pinned clients to a drained server)."""
        self.host, self.read, self.pinning_sysctl = host, read, pinning_sysctl
        self.known: dict[Target, ServerTraffic] = {}
        self.pins = True
        self.error: str | None = None

    def refresh(self, snap: Snapshot, targets: Collection[Target], then: Callable[[], None]) -> None:
        """Reads the table for ``targets`` in a thread (unless a read still runs); ``then`` on the UI
        thread once the result is in."""
        for key in list(self.known):
            if key not in targets:
                del self.known[key]
        if self.read is None or not targets or self.host.busy(DRAIN_TRAFFIC):
            return
        read, services, keys, pinning = self.read, snap.virtual_services, sorted(targets), self.pinning_sysctl

        def work() -> None:
            try:
                found, error = read(services, keys), None
            except (ConnError, OSError, ValueError) as exc:
                found, error = {}, f"cannot read the connection table: {exc}"
            self.host.from_thread(self._take, found, error, pinning(), then)

        self.host.start_thread(work, name="drain-traffic", group=DRAIN_TRAFFIC)

    def _take(self, found: dict[Target, ServerTraffic], error: str | None, pins: bool,
              then: Callable[[], None]) -> None:
        self.known.update(found)
        self.error, self.pins = error, pins
        then()

    def judged(self) -> bool:
        """Drains are judged by the table (else by the counts, as the demo must)."""
        return self.read is not None and self.error is None

    def pinning(self, vs: VirtualService) -> bool:
        return vs.persistent and self.pins

    def done(self, key: Target, vs: VirtualService) -> bool | None:
        """Whether the drain of ``key`` is done; None while the table has not been read for it."""
        traffic = self.known.get(key)
        return None if traffic is None else traffic.done_for(self.pinning(vs))

    def finished(self, key: Target, vs: VirtualService, rs: RealServer) -> str:
        """The notification of a finished drain."""
        traffic = self.known[key]
        closed = sum(p.closed for p in traffic.protocols)
        text = f"{rs.id} in {vs.id} is drained: no connection carries traffic"
        if closed:
            left = format_expires(traffic.all_expired_in)
            text += f" ({closed} closed entries wait out their timers, at most {left})"
        if traffic.templates:
            text += f"; {traffic.templates} persistence templates remain until they expire"
        return text

    def note(self, key: Target, vs: VirtualService | None, rs: RealServer,
             remedy: str = "lvstui expire-quiescent on") -> str | None:
        """The drain's progress line, by the table; None where the table has not said.  ``remedy``:
        what sets expire_quiescent_template to 1 (the CLI's verb, or this screen's key)."""
        traffic = self.known.get(key)
        if traffic is None or vs is None:
            return None
        closed = sum(p.closed for p in traffic.protocols)
        text = f" · {rs.id} drained: {traffic.carrying} carrying traffic, {closed} closed (waiting out their timers)"
        pinning = self.pinning(vs)
        if traffic.templates:
            text += (f", {traffic.templates} clients pinned by persistence"
                     f"{f' (still sent here: {remedy})' if pinning else ''}")
        if traffic.done_for(pinning):
            text += " · done: nothing flows to it any more"
        elif (eta := traffic.eta_for(pinning)) is not None:
            text += f" · done in about {format_expires(eta)}"
        return text
