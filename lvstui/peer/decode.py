"""The peer's ``lvstui snapshot --json`` document back into the model.

Only what the pair's views use is decoded: the table (services, real servers, weights,
thresholds, counters), sync daemons and VRRP.  Every value is checked for its type: a peer
is another machine, and what it sends is data to validate, not to trust.  A document that
does not fit is one :class:`PeerDataError` naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lvstui.model import (
    CheckState,
    ConfiguredServer,
    ConfiguredService,
    Forward,
    Rates,
    RealServer,
    Snapshot,
    Stats,
    SyncDaemon,
    VirtualService,
    VrrpInstance,
)

__all__ = ["PeerDataError", "snapshot_from_dict"]


class PeerDataError(ValueError):
    """The peer's JSON is not a snapshot as lvstui writes it."""


def _get(d: Any, key: str, kind: type | tuple[type, ...], where: str, default: Any = ...) -> Any:
    if not isinstance(d, dict):
        raise PeerDataError(f"{where}: not an object")
    if key not in d:
        if default is not ...:
            return default
        raise PeerDataError(f"{where}.{key}: missing")
    value = d[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise PeerDataError(f"{where}.{key}: {type(value).__name__}, not {names}")
    return value


def _ints(d: Any, names: tuple[str, ...], where: str) -> dict[str, int]:
    return {n: _get(d, n, int, where, 0) for n in names}


def _stats(d: Any, where: str) -> Stats:
    return Stats(**_ints(d, ("conns", "inpkts", "outpkts", "inbytes", "outbytes"), where))


def _rates(d: Any, where: str) -> Rates:
    return Rates(**_ints(d, ("cps", "inpps", "outpps", "inbps", "outbps"), where))


def _check(d: Any, where: str) -> CheckState | None:
    if d is None:
        return None
    return CheckState(checker=_get(d, "checker", str, where), alive=_get(d, "alive", bool, where),
                      failed_checkers=_get(d, "failed_checkers", int, where, 0),
                      detail=_get(d, "detail", str, where, ""), drained=_get(d, "drained", bool, where, False))


def _real_server(d: Any, where: str) -> RealServer:
    try:
        forward = Forward.parse(_get(d, "forward", str, where))
    except ValueError as exc:
        raise PeerDataError(f"{where}.forward: {exc}") from None
    tun = _get(d, "tun_type", (str, type(None)), where, None)
    return RealServer(
        address=_get(d, "address", str, where), port=_get(d, "port", int, where),
        family=_get(d, "family", str, where, "inet"), forward=forward, weight=_get(d, "weight", int, where),
        upper_threshold=_get(d, "upper_threshold", int, where, 0),
        lower_threshold=_get(d, "lower_threshold", int, where, 0),
        active_conns=_get(d, "active_conns", int, where, 0), inactive_conns=_get(d, "inactive_conns", int, where, 0),
        persistent_conns=_get(d, "persistent_conns", int, where, 0),
        stats=_stats(_get(d, "stats", dict, where, {}), f"{where}.stats"),
        rates=_rates(_get(d, "rates", dict, where, {}), f"{where}.rates"),
        tun_type=tun, tun_port=_get(d, "tun_port", int, where, 0) if tun else 0,
        tun_flags=tuple(str(f) for f in _get(d, "tun_flags", list, where, [])) if tun else (),
        check=_check(_get(d, "check", (dict, type(None)), where, None), f"{where}.check"),
        in_kernel=_get(d, "in_kernel", bool, where, True),
    )


def _service(d: Any, where: str) -> VirtualService:
    servers = _get(d, "real_servers", list, where)
    return VirtualService(
        protocol=_get(d, "protocol", (str, type(None)), where), family=_get(d, "family", str, where),
        address=_get(d, "address", (str, type(None)), where), port=_get(d, "port", (int, type(None)), where),
        fwmark=_get(d, "fwmark", (int, type(None)), where, None), scheduler=_get(d, "scheduler", str, where),
        flags=tuple(str(f) for f in _get(d, "flags", list, where, [])),
        persistence_timeout=_get(d, "persistence_timeout", int, where, 0),
        netmask=_get(d, "netmask", str, where, "255.255.255.255"),
        persistence_engine=_get(d, "persistence_engine", (str, type(None)), where, None),
        stats=_stats(_get(d, "stats", dict, where, {}), f"{where}.stats"),
        rates=_rates(_get(d, "rates", dict, where, {}), f"{where}.rates"),
        real_servers=tuple(_real_server(r, f"{where}.real_servers[{i}]") for i, r in enumerate(servers)),
    )


def _vrrp(d: Any, where: str) -> VrrpInstance:
    last = _get(d, "last_transition", (str, type(None)), where, None)
    return VrrpInstance(
        name=_get(d, "name", str, where), state=_get(d, "state", str, where),
        priority=_get(d, "priority", int, where), effective_priority=_get(d, "effective_priority", int, where),
        vips=tuple(str(v) for v in _get(d, "vips", list, where, [])), interface=_get(d, "interface", str, where, ""),
        virtual_router_id=_get(d, "virtual_router_id", int, where, 0),
        last_transition=_time(last, f"{where}.last_transition") if last else None,
        master_priority=_get(d, "master_priority", (int, type(None)), where, None),
    )


def _sync(d: Any, where: str) -> SyncDaemon:
    return SyncDaemon(state=_get(d, "state", str, where), mcast_ifn=_get(d, "mcast_ifn", str, where),
                      syncid=_get(d, "syncid", int, where), sync_maxlen=_get(d, "sync_maxlen", int, where, 0),
                      mcast_group=_get(d, "mcast_group", (str, type(None)), where, None),
                      mcast_port=_get(d, "mcast_port", int, where, 0), mcast_ttl=_get(d, "mcast_ttl", int, where, 0))


def _configured(d: Any, where: str) -> ConfiguredService:
    servers = _get(d, "real_servers", list, where)
    return ConfiguredService(
        id=_get(d, "id", str, where), scheduler=_get(d, "scheduler", str, where),
        forward=_get(d, "forward", str, where), persistence=_get(d, "persistence", str, where),
        real_servers=tuple(ConfiguredServer(
            id=_get(r, "id", str, f"{where}.real_servers[{i}]"), weight=_get(r, "weight", int, f"{where}.real_servers[{i}]"),
            forward=_get(r, "forward", str, f"{where}.real_servers[{i}]", ""),
            checks=tuple(str(c) for c in _get(r, "checks", list, f"{where}.real_servers[{i}]", [])))
            for i, r in enumerate(servers)))


def _time(text: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise PeerDataError(f"{where}: not an ISO time: {text[:40]!r}") from None


def snapshot_from_dict(d: Any) -> Snapshot:
    """One document of the peer's ``snapshot --json`` as a :class:`Snapshot` (raises PeerDataError)."""
    where = "snapshot"
    return Snapshot(
        director=_get(d, "director", str, where), taken_at=_time(_get(d, "taken_at", str, where), f"{where}.taken_at"),
        source=_get(d, "source", str, where, "kernel"), ipvs_version=_get(d, "ipvs_version", str, where, ""),
        conn_table_size=_get(d, "conn_table_size", int, where, 0),
        virtual_services=tuple(_service(v, f"{where}.virtual_services[{i}]")
                               for i, v in enumerate(_get(d, "virtual_services", list, where))),
        sync_daemons=tuple(_sync(s, f"{where}.sync_daemons[{i}]")
                           for i, s in enumerate(_get(d, "sync_daemons", list, where, []))),
        vrrp=tuple(_vrrp(v, f"{where}.vrrp[{i}]") for i, v in enumerate(_get(d, "vrrp", list, where, []))),
        error=_get(d, "error", (str, type(None)), where, None),
        # an older lvstui's document has none: None, as where keepalived's configuration was not read
        keepalived_config=None if (conf := _get(d, "keepalived_config", (list, type(None)), where, None)) is None
        else tuple(_configured(c, f"{where}.keepalived_config[{i}]") for i, c in enumerate(conf)),
    )
