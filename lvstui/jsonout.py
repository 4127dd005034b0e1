"""The stable JSON form of a snapshot (``lvstui snapshot --json``).

Field names are an interface scripts rely on: add fields, never rename them.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from lvstui.model import (
    CheckState,
    ConfiguredService,
    Difference,
    KeepalivedHealth,
    PeerView,
    Rates,
    RealServer,
    Snapshot,
    SplitBrain,
    Stats,
    VirtualService,
    VrrpInstance,
    VrrpPeer,
)


def _stats(s: Stats) -> dict[str, int]:
    return {"conns": s.conns, "inpkts": s.inpkts, "outpkts": s.outpkts, "inbytes": s.inbytes,
            "outbytes": s.outbytes}


def _rates(r: Rates) -> dict[str, int]:
    return {"cps": r.cps, "inpps": r.inpps, "outpps": r.outpps, "inbps": r.inbps, "outbps": r.outbps}


def _check(c: CheckState | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"checker": c.checker, "alive": c.alive, "failed_checkers": c.failed_checkers, "detail": c.detail,
            "drained": c.drained}


def real_server_dict(rs: RealServer) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": rs.id,
        "address": rs.address,
        "port": rs.port,
        "family": rs.family,
        "forward": rs.forward.value,
        "weight": rs.weight,
        "upper_threshold": rs.upper_threshold,
        "lower_threshold": rs.lower_threshold,
        "active_conns": rs.active_conns,
        "inactive_conns": rs.inactive_conns,
        "persistent_conns": rs.persistent_conns,
        "stats": _stats(rs.stats),
        "rates": _rates(rs.rates),
        "state": rs.state,
        "in_kernel": rs.in_kernel,
        "check": _check(rs.check),
    }
    if rs.tun_type is not None:
        d["tun_type"] = rs.tun_type
        d["tun_port"] = rs.tun_port
        d["tun_flags"] = list(rs.tun_flags)
    return d


def virtual_service_dict(vs: VirtualService) -> dict[str, Any]:
    d = _service_head(vs)
    d["real_servers"] = [real_server_dict(rs) for rs in vs.real_servers]
    return d


def _service_head(vs: VirtualService) -> dict[str, Any]:
    """A virtual service's fields without its real servers (in the order of the JSON schema)."""
    return {
        "id": vs.id,
        "protocol": vs.protocol,
        "family": vs.family,
        "address": vs.address,
        "port": vs.port,
        "fwmark": vs.fwmark,
        "scheduler": vs.scheduler,
        "flags": list(vs.flags),
        "persistence_timeout": vs.persistence_timeout,
        "netmask": vs.netmask,
        "persistence_engine": vs.persistence_engine,
        "stats": _stats(vs.stats),
        "rates": _rates(vs.rates),
    }


def vrrp_dict(v: VrrpInstance) -> dict[str, Any]:
    """One VRRP instance, as ``snapshot --json`` and ``vrrp status --json`` print it."""
    return {
        "name": v.name,
        "state": v.state,
        "priority": v.priority,
        "effective_priority": v.effective_priority,
        "vips": list(v.vips),
        "interface": v.interface,
        "virtual_router_id": v.virtual_router_id,
        "last_transition": v.last_transition.isoformat() if v.last_transition else None,
        "master_priority": v.master_priority,
    }


def peer_dict(p: VrrpPeer) -> dict[str, Any]:
    """One router heard advertising a VRID, as ``snapshot --json`` and ``vrrp status --json`` print it."""
    return {"vrid": p.vrid, "source": p.source, "priority": p.priority, "interface": p.interface,
            "version": p.version, "advert_interval": p.advert_interval, "age": p.age, "current": p.current,
            "local": p.local}


def keepalived_dict(h: KeepalivedHealth | None) -> dict[str, Any] | None:
    if h is None:
        return None
    return {
        "status": h.status,
        "processes": [{"role": p.role, "pid": p.pid, "alive": p.alive, "expected": p.expected}
                      for p in h.processes],
        "config_file": h.config_file,
        "netns": h.netns,
        "state_at": h.state_at.isoformat() if h.state_at else None,
        "errors": list(h.errors),
        "log_source": h.log_source,
        "log_lines": list(h.log_lines),
        "peers_error": h.peers_error,
        "checker_reported_at": h.checker_reported_at.isoformat() if h.checker_reported_at else None,
        "alarms": list(h.alarms),
        "transitions": None if h.transitions is None else [
            {"at": t.at.isoformat(), "instance": t.instance, "state": t.state, "reason": t.reason}
            for t in h.transitions],
    }


def _sync_daemons(snap: Snapshot) -> list[dict[str, Any]]:
    return [{"state": d.state, "mcast_ifn": d.mcast_ifn, "syncid": d.syncid, "sync_maxlen": d.sync_maxlen,
             "mcast_group": d.mcast_group, "mcast_port": d.mcast_port, "mcast_ttl": d.mcast_ttl}
            for d in snap.sync_daemons]


def difference_dict(d: Difference) -> dict[str, Any]:
    return {"kind": d.kind, "ids": list(d.ids), "here": d.here, "peer": d.peer}


def split_brain_dict(b: SplitBrain) -> dict[str, Any]:
    return {"vrid": b.vrid, "instances": list(b.instances), "masters": list(b.masters), "seen_by": b.seen_by}


def peer_view_dict(p: PeerView | None) -> dict[str, Any] | None:
    """The pair's other director (``snapshot --json``'s ``peer``): null where none was given."""
    if p is None:
        return None
    snap = p.snapshot
    return {
        "host": p.host,
        "reachable": p.reachable,
        "error": p.error,
        "stale": p.stale,
        "age": None if p.age is None else round(p.age, 3),
        "via": p.via or None,
        "director": snap.director if snap else None,
        "taken_at": snap.taken_at.isoformat() if snap else None,
        "vrrp": [vrrp_dict(v) for v in snap.vrrp] if snap else [],
        "sync_daemons": _sync_daemons(snap) if snap else [],
        "virtual_services": [virtual_service_dict(vs) for vs in snap.virtual_services] if snap else [],
        "differences": [difference_dict(d) for d in p.differences],
        "connection_sync": None if p.sync is None else {
            "verdict": p.sync.verdict, "detail": p.sync.detail, "master": p.sync.master or None,
            "services": [{"service": s.service, "master": s.master, "backup": s.backup} for s in p.sync.services]},
    }


def _with_transitions(d: dict[str, Any], h: KeepalivedHealth | None) -> dict[str, Any]:
    """An instance's transitions in the last hour (null where no log was read) and the last one's
    logged reason (null where there was none in that hour)."""
    mine = None if h is None or h.transitions is None else [t for t in h.transitions if t.instance == d["name"]]
    d["transitions_last_hour"] = None if mine is None else len(mine)
    d["last_transition_reason"] = mine[-1].reason or None if mine else None
    return d


def snapshot_dict(snap: Snapshot, services: bool = True) -> dict[str, Any]:
    out = {
        "director": snap.director,
        "taken_at": snap.taken_at.isoformat(),
        "source": snap.source,
        "ipvs_version": snap.ipvs_version,
        "conn_table_size": snap.conn_table_size,
        "timeouts": None if snap.timeouts is None else {
            "tcp": snap.timeouts.tcp, "tcp_fin": snap.timeouts.tcp_fin, "udp": snap.timeouts.udp},
        "sync_daemons": _sync_daemons(snap),
        "vrrp": [_with_transitions(vrrp_dict(v), snap.keepalived) for v in snap.vrrp],
        "vrrp_peers": [peer_dict(p) for p in snap.vrrp_peers],
        "keepalived": keepalived_dict(snap.keepalived),
        "drift": list(snap.drift),
        "error": snap.error,
        "peer": peer_view_dict(snap.peer),
        "split_brain": [split_brain_dict(b) for b in snap.split_brain],
    }
    if services:
        out["virtual_services"] = [virtual_service_dict(vs) for vs in snap.virtual_services]
        out["keepalived_config"] = keepalived_config_list(snap.keepalived_config)
    return out


def keepalived_config_list(config: tuple[ConfiguredService, ...] | None) -> list[dict[str, Any]] | None:
    """keepalived's configured virtual servers (None: no configuration read), compact: what a
    peer compares with its own configuration."""
    if config is None:
        return None
    return [{"id": c.id, "scheduler": c.scheduler, "forward": c.forward, "persistence": c.persistence,
             "real_servers": [{"id": r.id, "weight": r.weight, "forward": r.forward, "checks": list(r.checks)}
                              for r in c.real_servers]} for c in config]


def dumps(snap: Snapshot, indent: int | None = None) -> str:
    return json.dumps(snapshot_dict(snap), indent=indent, separators=(",", ":") if indent is None else None)


_SEP = (",", ":")


def real_server_json(rs: RealServer) -> str:
    """Compact JSON of one real server, byte-identical to ``json.dumps(real_server_dict(rs))``.

    Written out directly because it is the hot spot of ``snapshot --json`` on large tables:
    every string in it is an address, a port or a fixed word that needs no escaping.
    """
    s, r = rs.stats, rs.rates
    check = "null" if rs.check is None else _check_json(rs.check)
    text = (
        f'{{"id":"{rs.id}","address":"{rs.address}","port":{rs.port},"family":"{rs.family}",'
        f'"forward":"{rs.forward.value}","weight":{rs.weight},"upper_threshold":{rs.upper_threshold},'
        f'"lower_threshold":{rs.lower_threshold},"active_conns":{rs.active_conns},'
        f'"inactive_conns":{rs.inactive_conns},"persistent_conns":{rs.persistent_conns},'
        f'"stats":{{"conns":{s.conns},"inpkts":{s.inpkts},"outpkts":{s.outpkts},"inbytes":{s.inbytes},'
        f'"outbytes":{s.outbytes}}},"rates":{{"cps":{r.cps},"inpps":{r.inpps},"outpps":{r.outpps},'
        f'"inbps":{r.inbps},"outbps":{r.outbps}}},"state":"{rs.state}",'
        f'"in_kernel":{"true" if rs.in_kernel else "false"},"check":{check}'
    )
    if rs.tun_type is not None:
        text += (f',"tun_type":{json.dumps(rs.tun_type)},"tun_port":{rs.tun_port},'
                 f'"tun_flags":{json.dumps(list(rs.tun_flags), separators=_SEP)}')
    return text + "}"


@functools.lru_cache(maxsize=1024)
def _check_json(c: CheckState) -> str:
    # cached by value (frozen): the real servers of a large table share a few check states
    return json.dumps(_check(c), separators=_SEP)


class CompactEncoder:
    """Compact JSON for a stream of snapshots (``snapshot --json --repeat``).

    The reader hands back the very same objects for services and real servers the
    kernel reported unchanged, so their JSON text is reused instead of rebuilt.
    The output is byte-identical to :func:`dumps` with no indent.
    """

    def __init__(self) -> None:
        self._services: dict[int, tuple[VirtualService, str]] = {}
        self._servers: dict[int, tuple[RealServer, str]] = {}
        # keepalived's configuration: the watcher hands back the same tuple until it reads a new one
        self._config: tuple[tuple[ConfiguredService, ...] | None, str] = (None, "null")

    def _rs(self, rs: RealServer, new: dict[int, tuple[RealServer, str]]) -> str:
        hit = self._servers.get(id(rs))
        if hit is None or hit[0] is not rs:
            hit = (rs, real_server_json(rs))
        new[id(rs)] = hit
        return hit[1]

    def dumps(self, snap: Snapshot) -> str:
        services: dict[int, tuple[VirtualService, str]] = {}
        servers: dict[int, tuple[RealServer, str]] = {}
        parts = []
        for vs in snap.virtual_services:
            hit = self._services.get(id(vs))
            if hit is None or hit[0] is not vs:
                text = json.dumps(_service_head(vs), separators=(",", ":"))[:-1]
                text += ',"real_servers":[' + ",".join(self._rs(rs, servers) for rs in vs.real_servers) + "]}"
                hit = (vs, text)
            else:
                for rs in vs.real_servers:  # carry their text over to the next snapshot
                    self._rs(rs, servers)
            services[id(vs)] = hit
            parts.append(hit[1])
        self._services, self._servers = services, servers
        if self._config[0] is not snap.keepalived_config:
            config = snap.keepalived_config
            self._config = (config, json.dumps(keepalived_config_list(config), separators=_SEP))
        top = json.dumps(snapshot_dict(snap, services=False), separators=(",", ":"))
        return (top[:-1] + ',"virtual_services":[' + ",".join(parts) + '],"keepalived_config":'
                + self._config[1] + "}")
