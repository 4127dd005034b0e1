"""Comparing the two directors of a pair: their tables, and who is MASTER of each VRID.

Pure functions of two snapshots (no I/O).  What counts as a difference is what would make the
pair behave differently after a failover: a service or real server on one director only, and
for the ones on both the weight, forwarding method, thresholds, scheduler, flags and
persistence.  Counters, rates and connection counts differ by nature and are not compared.
The two keepalived configurations' virtual servers are compared the same way (kinds prefixed
``config-``): what each director would set up again after a restart or reload of its own.
"""

from __future__ import annotations

from collections import defaultdict

from lvstui.model import (
    ConfiguredService,
    Difference,
    PeerView,
    RealServer,
    Snapshot,
    SplitBrain,
    SyncCheck,
    SyncDaemon,
    SyncedService,
    VirtualService,
)

__all__ = ["config_differences", "differences", "split_brain", "sync_check", "with_peer_state"]

#: A backup holding at least this share of the master's connections is said to sync: synced
#: entries arrive in batches (and only after a few packets of each connection), never all.
SYNCED_SHARE = 0.5


def _persistence(vs: VirtualService) -> str:
    if not vs.persistence_timeout:
        return "off"
    text = f"{vs.persistence_timeout} s, netmask {vs.netmask}"
    return text + (f", engine {vs.persistence_engine}" if vs.persistence_engine else "")


def _service_fields(vs: VirtualService) -> dict[str, str]:
    return {"scheduler": vs.scheduler, "flags": ",".join(sorted(vs.flags)) or "none",
            "persistence": _persistence(vs)}


def _server_fields(rs: RealServer, thresholds: bool) -> dict[str, str]:
    fields = {"weight": str(rs.weight), "forward": rs.forward.value}
    if thresholds:
        fields["thresholds"] = f"upper {rs.upper_threshold}, lower {rs.lower_threshold}"
    if rs.tun_type is not None:
        fields["tunnel"] = f"{rs.tun_type} port {rs.tun_port} {','.join(rs.tun_flags) or '-'}"
    return fields


def differences(here: Snapshot, peer: Snapshot, *, thresholds: bool = True) -> tuple[Difference, ...]:
    """What differs between this director's table and the peer's, in this director's order
    (then the peer's services and servers it alone has).  *thresholds* False where the peer's
    table came without them (``ipvsadm -S -n`` does not write them)."""
    out: list[Difference] = []
    theirs = {vs.id: vs for vs in peer.virtual_services}
    ours = {vs.id for vs in here.virtual_services}
    for vs in here.virtual_services:
        other = theirs.get(vs.id)
        if other is None:
            out.append(Difference("service-here-only", (vs.id,), here=vs.scheduler))
            continue
        a, b = _service_fields(vs), _service_fields(other)
        out += [Difference(k, (vs.id,), a[k], b[k]) for k in a if a[k] != b[k]]
        their_servers = {rs.id: rs for rs in other.real_servers}
        for rs in vs.real_servers:
            o = their_servers.pop(rs.id, None)
            if o is None:
                out.append(Difference("server-here-only", (vs.id, rs.id), here=f"weight {rs.weight}"))
                continue
            x, y = _server_fields(rs, thresholds), _server_fields(o, thresholds)
            out += [Difference(k, (vs.id, rs.id), x.get(k, ""), y.get(k, ""))
                    for k in sorted(set(x) | set(y), key=list({**x, **y}).index) if x.get(k) != y.get(k)]
        out += [Difference("server-peer-only", (vs.id, rs.id), peer=f"weight {rs.weight}")
                for rs in their_servers.values()]
    out += [Difference("service-peer-only", (vs.id,), peer=vs.scheduler)
            for vs in peer.virtual_services if vs.id not in ours]
    return tuple(out)


def config_differences(here: tuple[ConfiguredService, ...] | None,
                       peer: tuple[ConfiguredService, ...] | None) -> tuple[Difference, ...]:
    """What differs between the two keepalived configurations' virtual servers (nothing where
    either was not read: an unknown configuration is not a difference)."""
    if here is None or peer is None:
        return ()
    out: list[Difference] = []
    theirs = {c.id: c for c in peer}
    ours = {c.id for c in here}
    for c in here:
        other = theirs.get(c.id)
        if other is None:
            out.append(Difference("config-service-here-only", (c.id,), here=c.scheduler))
            continue
        for name in ("scheduler", "forward", "persistence"):
            a, b = getattr(c, name), getattr(other, name)
            if a != b:
                out.append(Difference(f"config-{name}", (c.id,), a, b))
        their_servers = {r.id: r for r in other.real_servers}
        for r in c.real_servers:
            o = their_servers.pop(r.id, None)
            if o is None:
                out.append(Difference("config-server-here-only", (c.id, r.id), here=f"weight {r.weight}"))
                continue
            if r.weight != o.weight:
                out.append(Difference("config-weight", (c.id, r.id), str(r.weight), str(o.weight)))
            if r.forward != o.forward:
                out.append(Difference("config-forward", (c.id, r.id), r.forward or c.forward,
                                      o.forward or other.forward))
            if r.checks != o.checks:
                out.append(Difference("config-checks", (c.id, r.id), "; ".join(r.checks) or "none",
                                      "; ".join(o.checks) or "none"))
        out += [Difference("config-server-peer-only", (c.id, r.id), peer=f"weight {r.weight}")
                for r in their_servers.values()]
    out += [Difference("config-service-peer-only", (c.id,), peer=c.scheduler) for c in peer if c.id not in ours]
    return tuple(out)


def split_brain(here: Snapshot, peer: PeerView | None = None) -> tuple[SplitBrain, ...]:
    """VRIDs with more than one MASTER at once.

    From both directors' keepalived state (this one's and a fresh peer snapshot's: a stale one
    says nothing about now), and from the adverts heard here: only a master advertises, so a
    MASTER here hearing a current advert for its VRID from another router, or two other routers
    advertising one VRID, is a split brain too.
    """
    return with_peer_state(_from_adverts(here), here, peer)


def with_peer_state(heard: tuple[SplitBrain, ...], here: Snapshot, peer: PeerView | None) -> tuple[SplitBrain, ...]:
    """*heard* (what the adverts heard here say: the snapshot's own ``split_brain``, as the
    director's source computed it) with what both directors' keepalived state says; a VRID found
    by the state is said so.  So a poll with a peer judges the adverts once, not twice."""
    found: dict[int, SplitBrain] = {}
    mine = {v.virtual_router_id: v for v in here.vrrp if v.virtual_router_id}
    if peer is not None and peer.snapshot is not None and not peer.stale:
        for theirs in peer.snapshot.vrrp:
            v = mine.get(theirs.virtual_router_id)
            if v is not None and v.state == "MASTER" and theirs.state == "MASTER":
                found[v.virtual_router_id] = SplitBrain(v.virtual_router_id, (v.name, theirs.name),
                                                        ("here", peer.host), "state")
    if not found:
        return heard
    for b in heard:
        found.setdefault(b.vrid, b)
    return tuple(found[k] for k in sorted(found))


def _from_adverts(here: Snapshot) -> tuple[SplitBrain, ...]:
    found: dict[int, SplitBrain] = {}
    mine = {v.virtual_router_id: v for v in here.vrrp if v.virtual_router_id}
    heard: dict[int, list[str]] = defaultdict(list)
    for p in here.vrrp_peers:
        if p.current and not p.local and p.source not in heard[p.vrid]:
            heard[p.vrid].append(p.source)
    for vrid, sources in sorted(heard.items()):
        v = mine.get(vrid)
        masters = (["here"] if v is not None and v.state == "MASTER" else []) + sources
        if len(masters) > 1:
            found[vrid] = SplitBrain(vrid, (v.name,) if v is not None else (), tuple(masters), "adverts")
    return tuple(found[k] for k in sorted(found))


def _conns(snap: Snapshot) -> dict[str, int]:
    return {vs.id: sum(rs.active_conns + rs.inactive_conns for rs in vs.real_servers) for vs in snap.virtual_services}


def _daemon(snap: Snapshot, state: str) -> SyncDaemon | None:
    return next((d for d in snap.sync_daemons if d.state == state), None)


def sync_check(here: Snapshot, peer: PeerView) -> SyncCheck | None:
    """Connection sync between the two directors: the daemons on each, and whether the backup
    side holds the master side's connections (per service, counts compared).  None without a
    peer snapshot that has counters (read through ipvsadm -S -n it has none)."""
    theirs = peer.snapshot
    if theirs is None or peer.via != "lvstui":
        return None
    if not here.sync_daemons and not theirs.sync_daemons:
        return SyncCheck("off", "no connection-sync daemon on either director: a failover drops every "
                         "connection (ipvsadm --start-daemon, or lvstui sync start)")
    # both directors may run both daemons: the direction that matters is from the one carrying traffic
    pairs = sorted([("here", here, theirs, peer.host), (peer.host, theirs, here, "here")],
                   key=lambda p: -sum(_conns(p[1]).values()))
    for name, master_snap, backup_snap, other in pairs:
        m, b = _daemon(master_snap, "master"), _daemon(backup_snap, "backup")
        if m is None:
            continue
        if b is None:
            continue
        if m.syncid != b.syncid and b.syncid != 0:
            return SyncCheck("syncid-mismatch", f"the sync master on {name} sends syncid {m.syncid}, the backup "
                             f"on {other} takes syncid {b.syncid}: nothing is synced", name)
        sent, held = _conns(master_snap), _conns(backup_snap)
        services = tuple(SyncedService(vs, n, held.get(vs, 0)) for vs, n in sent.items())
        total, kept = sum(s.master for s in services), sum(min(s.backup, s.master) for s in services)
        if total == 0:
            return SyncCheck("idle", f"sync daemons up ({name} master, {other} backup, syncid {m.syncid}); "
                             "no connection on the master to compare", name, services)
        share = kept / total
        verdict = "syncing" if share >= SYNCED_SHARE else "not-syncing"
        return SyncCheck(verdict, f"the backup on {other} holds {kept} of the {total} connections on {name} "
                         f"({share:.0%}; syncid {m.syncid})", name, services)
    sides = [f"{n}: " + (", ".join(f"{d.state} on {d.mcast_ifn} syncid {d.syncid}" for d in s.sync_daemons) or "none")
             for n, s in (("here", here), (peer.host, theirs))]
    return SyncCheck("one-sided", "no master/backup pair of sync daemons across the two directors (" +
                     "; ".join(sides) + "): a failover drops connections", "")
