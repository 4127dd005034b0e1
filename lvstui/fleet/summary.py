"""One pair of the fleet as one row: its directors' last views summarised (pure, no I/O).

What a row says, and from where:

* per director: read (fresh), stale (its last snapshot is old or its last read failed: the age
  and the error), or never read; how it is read (its lvstui stream, or ipvsadm without VRRP);
* per VRRP instance (by VRID): which directors are MASTER, from the fresh snapshots only (a stale
  one says nothing about now);
* split brain: :func:`lvstui.peer.compare.split_brain` between each fresh director and each
  other one (both states MASTER, or adverts heard);
* the table (real servers up/total, drained) from the director carrying the traffic: the fresh
  MASTER of the first instance, else the first fresh director, else the freshest stale one
  (then the row says it is stale);
* alarms: split brain, directors not read, keepalived's alarms and errors, drift, poll errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from lvstui.fleet.spec import PairSpec
from lvstui.model import PeerView, Snapshot
from lvstui.peer.compare import split_brain

__all__ = ["DirectorState", "InstanceMasters", "PairRow", "summarise"]


@dataclass(frozen=True, slots=True)
class DirectorState:
    host: str
    status: str  # read, stale, unread (never read), connecting (no attempt finished yet)
    age: float | None = None  # seconds since its last snapshot
    error: str | None = None
    via: str = ""  # lvstui or ipvsadm


@dataclass(frozen=True, slots=True)
class InstanceMasters:
    vrid: int
    name: str
    masters: tuple[str, ...]  # the hosts whose fresh snapshot says MASTER (two or more: split brain)


@dataclass(frozen=True, slots=True)
class PairRow:
    name: str
    directors: tuple[DirectorState, ...]
    vips: tuple[str, ...] = ()
    instances: tuple[InstanceMasters, ...] = ()
    split_brain: tuple[int, ...] = ()  # VRIDs
    table_from: str = ""  # the director the counts are from ("" with no snapshot at all)
    table_stale: bool = False
    up: int = 0
    total: int = 0
    drained: int = 0
    alarms: tuple[str, ...] = ()

    @property
    def stale(self) -> int:
        """Directors not read now (stale, unread or still connecting)."""
        return sum(d.status != "read" for d in self.directors)


def _state(view: PeerView) -> DirectorState:
    if not view.stale:
        status = "read"
    elif view.snapshot is not None:
        status = "stale"
    elif view.error == "not read yet":  # PeerReader's words before its first attempt ends
        status = "connecting"
    else:
        status = "unread"
    return DirectorState(view.host, status, view.age, view.error if view.stale else None, view.via)


def _instances(fresh: list[PeerView]) -> tuple[InstanceMasters, ...]:
    names: dict[int, str] = {}
    masters: dict[int, list[str]] = {}
    for view in fresh:
        assert view.snapshot is not None
        for vi in view.snapshot.vrrp:
            names.setdefault(vi.virtual_router_id, vi.name)
            hosts = masters.setdefault(vi.virtual_router_id, [])
            if vi.state == "MASTER":
                hosts.append(view.host)
    return tuple(InstanceMasters(vrid, names[vrid], tuple(masters[vrid])) for vrid in sorted(names))


def _split_brain(views: tuple[PeerView, ...], fresh: list[PeerView]) -> tuple[int, ...]:
    found: set[int] = set()
    for here in fresh:
        assert here.snapshot is not None
        others: list[PeerView | None] = [v for v in views if v is not here] or [None]
        for other in others:
            found.update(b.vrid for b in split_brain(here.snapshot, other))
    return tuple(sorted(found))


def _vips(snaps: list[Snapshot]) -> tuple[str, ...]:
    vips = [v for s in snaps for vi in s.vrrp for v in vi.vips]
    if not vips:  # read with ipvsadm, or no keepalived: the services' addresses
        vips = [vs.address or vs.id for s in snaps for vs in s.virtual_services]
    return tuple(dict.fromkeys(vips))


def _carrier(views: tuple[PeerView, ...], fresh: list[PeerView],
             instances: tuple[InstanceMasters, ...]) -> PeerView | None:
    for inst in instances:
        if inst.masters:
            return next(v for v in fresh if v.host == inst.masters[0])
    if fresh:
        return fresh[0]
    kept = [v for v in views if v.snapshot is not None]
    return min(kept, key=lambda v: v.age if v.age is not None else float("inf")) if kept else None


def _alarms(views: tuple[PeerView, ...], fresh: list[PeerView], brain: tuple[int, ...]) -> tuple[str, ...]:
    out = [f"split brain on VRID {vrid}" for vrid in brain]
    out += [f"{v.host}: {v.error or 'not read'}" for v in views if v.stale and v.error != "not read yet"]
    for view in fresh:
        snap = view.snapshot
        assert snap is not None
        ka = snap.keepalived
        out += [f"{view.host}: {a}" for a in (ka.alarms + ka.errors if ka else ())]
        out += [f"{view.host}: drift: {d}" for d in snap.drift]
        if snap.error:
            out.append(f"{view.host}: {snap.error}")
    return tuple(dict.fromkeys(out))


def summarise(pair: PairSpec, views: tuple[PeerView, ...]) -> PairRow:
    """The row of *pair* from its directors' views (in the fleet file's order)."""
    fresh = [v for v in views if not v.stale and v.snapshot is not None]
    instances = _instances(fresh)
    brain = _split_brain(views, fresh)
    carrier = _carrier(views, fresh, instances)
    servers = [rs for vs in carrier.snapshot.virtual_services for rs in vs.real_servers] \
        if carrier is not None and carrier.snapshot is not None else []
    return PairRow(
        name=pair.name, directors=tuple(_state(v) for v in views),
        vips=_vips([v.snapshot for v in views if v.snapshot is not None]),
        instances=instances, split_brain=brain,
        table_from=carrier.host if carrier is not None else "",
        table_stale=carrier is not None and carrier.stale,
        up=sum(rs.state == "up" for rs in servers), total=len(servers),
        drained=sum(rs.state == "drained" for rs in servers),
        alarms=_alarms(views, fresh, brain))
