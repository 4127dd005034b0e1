"""A deterministic pair for the UI tests: this director's snapshot and a peer's, in memory.

:class:`FixedDirector` is a snapshot source that always returns one snapshot (stamped with the
test's clock); :class:`FixedPeer` stands in for :class:`lvstui.peer.reader.PeerReader` (its
``view()``), so the real :class:`lvstui.peer.source.WithPeer` computes the differences and split
brain exactly as on a live pair.  Never the default source of anything: tests only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from lvstui.capabilities import Capabilities
from lvstui.model import (
    KeepalivedHealth,
    PeerView,
    RealServer,
    Snapshot,
    VirtualService,
    VrrpInstance,
    VrrpPeer,
)
from lvstui.peer.compare import split_brain
from lvstui.peer.source import WithPeer

TAKEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RS1, RS2, RS3 = (RealServer(f"192.168.2.{n}", 80, weight=10) for n in (11, 12, 13))
WEB = VirtualService("tcp", "inet", "192.168.1.100", 80, scheduler="wrr", real_servers=(RS1, RS2))
DNS = VirtualService("udp", "inet", "192.168.1.100", 53, scheduler="rr", real_servers=(RS1,))
#: the peer: RS2 drained there, RS3 added there, DNS with another scheduler
PEER_WEB = replace(WEB, real_servers=(RS1, replace(RS2, weight=0), RS3))
PEER_DNS = replace(DNS, scheduler="wrr")


def vi(state: str, priority: int, name: str = "VI_1", vrid: int = 51) -> VrrpInstance:
    return VrrpInstance(name, state, priority, priority, vips=("192.168.1.100",), interface="eth0",
                        virtual_router_id=vrid)


class FixedDirector:
    """One snapshot, every poll (its ``monotonic`` the test's clock)."""

    name = "fixed"
    capabilities = Capabilities(vrrp=True)

    def __init__(self, snapshot: Snapshot, clock: Callable[[], float]) -> None:
        self.snapshot = snapshot
        self.clock = clock

    def read(self) -> Snapshot:
        snap = replace(self.snapshot, monotonic=self.clock())
        return replace(snap, split_brain=split_brain(snap))  # from the adverts, as DirectorSource does

    def close(self) -> None:
        pass


class FixedPeer:
    """What PeerReader.view() would say."""

    def __init__(self, view: PeerView) -> None:
        self._view = view
        self.closed = False

    def view(self) -> PeerView:
        return self._view

    def close(self) -> None:
        self.closed = True


def here(*vrrp: VrrpInstance, peers: tuple[VrrpPeer, ...] = (), unicast: tuple[str, ...] = ()) -> Snapshot:
    keepalived = KeepalivedHealth(status="running", unicast_peers=unicast)
    return Snapshot(director="lb1", taken_at=TAKEN, virtual_services=(WEB, DNS), vrrp=vrrp, vrrp_peers=peers,
                    keepalived=keepalived)


def peer_view(*vrrp: VrrpInstance, stale: bool = False, error: str | None = None, host: str = "lb2",
              age: float = 0.4) -> PeerView:
    theirs = Snapshot(director="lb2", taken_at=TAKEN, virtual_services=(PEER_WEB, PEER_DNS), vrrp=vrrp)
    return PeerView(host=host, reachable=error is None, error=error, snapshot=theirs, read_at=1.0, age=age,
                    stale=stale, via="lvstui")


def pair_source(clock: Callable[[], float], mine: VrrpInstance | None = None,
                theirs: VrrpInstance | None = None, **view: object) -> WithPeer:
    """lb1 MASTER (150) and lb2 BACKUP (100) by default, three differences between their tables."""
    local = FixedDirector(here(mine or vi("MASTER", 150)), clock)
    return WithPeer(local, FixedPeer(peer_view(theirs or vi("BACKUP", 100), **view)))  # type: ignore[arg-type]
