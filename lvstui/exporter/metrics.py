"""The exporter's metrics: one definition, two renderings (pure: no I/O, no clock).

:func:`families` builds ``prometheus_client`` metric families from a
:class:`~lvstui.exporter.poll.PollState` (what :class:`~lvstui.exporter.collector.SnapshotCollector`
yields).  The per-service and per-real-server families are declared once, as :data:`VS_SPECS`
and :data:`RS_SPECS`; :mod:`lvstui.exporter.render` formats the same specs straight to text,
byte for byte what ``generate_latest`` makes of :func:`families` (a test holds it to that),
because at 10,000 x 5 ``generate_latest`` needs seconds per scrape.

Labels are bounded by the configuration: ``service`` (the virtual service's stable key,
``tcp:192.168.1.100:80``, ``fwmark:7``), ``real_server`` (``192.168.1.21:80``), ``vrrp_instance``
(a VRRP instance's name), a state word from a fixed set.  Nothing per connection or client.
Names and types are listed in README ("Metrics (Prometheus)").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from lvstui import __version__
from lvstui.exporter.poll import PollState
from lvstui.model import KeepalivedHealth, RealServer, Snapshot, VirtualService

__all__ = [
    "RS_KEY",
    "RS_SPECS",
    "RS_STATES",
    "VRRP_STATES",
    "VS_KEY",
    "VS_SPECS",
    "Spec",
    "families",
    "head_families",
    "tail_families",
]

RS_STATES = ("up", "drained", "down", "inhibited")
VRRP_STATES = ("MASTER", "BACKUP", "FAULT", "INIT", "STOP", "UNKNOWN")
VS_KEY = ("service",)
RS_KEY = ("service", "real_server")

T = TypeVar("T")
Sample = tuple[tuple[str, ...], float]  # (extra label values, value)


@dataclass(frozen=True, slots=True)
class Spec(Generic[T]):
    """One family over services or real servers: name as exposed, type, help, labels past the key."""

    name: str  # the sample name (counters end in _total, infos in _info)
    kind: str  # counter or gauge
    doc: str
    extra: tuple[str, ...]
    values: Callable[[T], Iterable[Sample]]


def _one(get: Callable[[T], float]) -> Callable[[T], Iterable[Sample]]:
    return lambda obj: (((), get(obj)),)


_COUNTERS = (
    ("connections", "conns", "Connections scheduled (the kernel's counter)"),
    ("incoming_packets", "inpkts", "Packets in, client to real server"),
    ("outgoing_packets", "outpkts",
     "Packets out, real server to client (NAT only: DR/TUN replies bypass the director)"),
    ("incoming_bytes", "inbytes", "Bytes in, client to real server"),
    ("outgoing_bytes", "outbytes", "Bytes out, real server to client (NAT only)"),
)


_COUNTER_DOCS = {field: (name, doc) for name, field, doc in _COUNTERS}


def _stat(field: str) -> Callable[[VirtualService | RealServer], float]:
    return lambda obj: float(getattr(obj.stats, field))


def _vs_stat(field: str) -> Spec[VirtualService]:
    name, doc = _COUNTER_DOCS[field]
    return Spec(f"lvstui_virtual_service_{name}_total", "counter", doc, (), _one(_stat(field)))


def _rs_stat(field: str) -> Spec[RealServer]:
    name, doc = _COUNTER_DOCS[field]
    return Spec(f"lvstui_real_server_{name}_total", "counter", doc, (), _one(_stat(field)))


def _vs_info(vs: VirtualService) -> Iterable[Sample]:
    port = "" if vs.port is None else str(vs.port)
    return (((vs.protocol or "", vs.family, vs.address or "", port, str(vs.fwmark or ""), vs.scheduler), 1.0),)


def _vs_counts(vs: VirtualService) -> Iterable[Sample]:
    states = [rs.state for rs in vs.real_servers]
    return [((word,), float(states.count(word))) for word in RS_STATES]


VS_SPECS: tuple[Spec[VirtualService], ...] = (
    Spec("lvstui_virtual_service_info", "gauge", "A virtual service and its settings",
         ("protocol", "family", "address", "port", "fwmark", "scheduler"), _vs_info),
    *(_vs_stat(field) for _, field, _ in _COUNTERS),
    Spec("lvstui_virtual_service_real_servers", "gauge", "Real servers of a virtual service in each state",
         ("state",), _vs_counts),
)


def _rs_state(rs: RealServer) -> Iterable[Sample]:
    now = rs.state
    return [((word,), 1.0 if now == word else 0.0) for word in RS_STATES]


def _rs_check(rs: RealServer) -> Iterable[Sample]:
    return () if rs.check is None else (((rs.check.checker,), 1.0 if rs.check.alive else 0.0),)


def _rs_failed(rs: RealServer) -> Iterable[Sample]:
    return () if rs.check is None else (((), float(rs.check.failed_checkers)),)


RS_SPECS: tuple[Spec[RealServer], ...] = (
    Spec("lvstui_real_server_info", "gauge", "A real server and how it is forwarded to", ("forward",),
         lambda rs: (((rs.forward.value,), 1.0),)),
    *(_rs_stat(field) for _, field, _ in _COUNTERS),
    Spec("lvstui_real_server_connections_active", "gauge", "Established connections (ActiveConn)", (),
         _one(lambda rs: float(rs.active_conns))),
    Spec("lvstui_real_server_connections_inactive", "gauge", "Other connection entries (InActConn)", (),
         _one(lambda rs: float(rs.inactive_conns))),
    Spec("lvstui_real_server_connections_persistent", "gauge", "Persistence templates", (),
         _one(lambda rs: float(rs.persistent_conns))),
    Spec("lvstui_real_server_weight", "gauge", "The real server's weight in the kernel (0: drained or inhibited)",
         (), _one(lambda rs: float(rs.weight))),
    Spec("lvstui_real_server_state", "gauge",
         "1 for the real server's state (up, drained, down, inhibited), 0 for the others", ("state",), _rs_state),
    Spec("lvstui_real_server_check_up", "gauge",
         "keepalived's health check: 1 alive, 0 failed (real servers keepalived manages)", ("checker",), _rs_check),
    Spec("lvstui_real_server_failed_checkers", "gauge", "keepalived's failed checkers of the real server", (),
         _rs_failed),
)


def _family(spec: Spec[T], key: tuple[str, ...]) -> Metric:
    labels = key + spec.extra
    if spec.kind == "counter":
        return CounterMetricFamily(spec.name.removesuffix("_total"), spec.doc, labels=labels)
    return GaugeMetricFamily(spec.name, spec.doc, labels=labels)


def _add(metric: Metric, key: list[str], samples: Iterable[Sample]) -> None:
    for extra, value in samples:
        metric.add_metric(key + list(extra), value)  # type: ignore[attr-defined]


def families(state: PollState) -> list[Metric]:
    """Every family for this poll state, in the order they are exposed."""
    out = head_families(state)
    snap = state.snapshot
    if snap is not None:
        services = snap.virtual_services
        for vs_spec in VS_SPECS:
            vs_family = _family(vs_spec, VS_KEY)
            for vs in services:
                _add(vs_family, [vs.id], vs_spec.values(vs))
            out.append(vs_family)
        for rs_spec in RS_SPECS:
            rs_family = _family(rs_spec, RS_KEY)
            for vs in services:
                for rs in vs.real_servers:
                    _add(rs_family, [vs.id, rs.id], rs_spec.values(rs))
            out.append(rs_family)
    return out + tail_families(state)


def _gauge(name: str, doc: str, value: float | None = None, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    if value is not None:
        family.add_metric([], value)
    return family


def head_families(state: PollState) -> list[Metric]:
    """lvstui's own families (they come first)."""
    snap = state.snapshot
    out: list[Metric] = [_gauge("lvstui_up", "1 when the last poll read the director, 0 when it failed",
                                1.0 if snap is not None else 0.0)]
    info = _gauge("lvstui_info", "lvstui's version, the director and the snapshot source",
                  labels=("version", "director", "source"))
    info.add_metric([__version__, snap.director if snap else "", snap.source if snap else ""], 1.0)
    out.append(info)
    polls = CounterMetricFamily("lvstui_polls", "Polls of the director (kernel and keepalived)", state.polls)
    errors = CounterMetricFamily("lvstui_poll_errors", "Polls that failed (see lvstui_up)", state.errors)
    out += [polls, errors, _gauge("lvstui_poll_duration_seconds", "How long the last poll took", state.duration)]
    out.append(_gauge("lvstui_last_poll_success_timestamp_seconds", "Unix time of the last good poll",
                      state.success_at))
    return out


def tail_families(state: PollState) -> list[Metric]:
    """VRRP and keepalived (after the services and real servers)."""
    snap = state.snapshot
    if snap is None:
        return []
    return _vrrp(snap) + _keepalived(snap.keepalived, snap)


def _vrrp(snap: Snapshot) -> list[Metric]:
    """Every VRRP family, declared even when empty (no keepalived, adverts not watched)."""
    inst = ("vrrp_instance",)  # not "instance": Prometheus gives that label to the target
    info = _gauge("lvstui_vrrp_instance_info", "A VRRP instance of this director's keepalived",
                  labels=("vrrp_instance", "interface", "vrid"))
    state = _gauge("lvstui_vrrp_state", "1 for the VRRP instance's state, 0 for the others",
                   labels=("vrrp_instance", "state"))
    prio = _gauge("lvstui_vrrp_priority", "The instance's configured priority", labels=inst)
    eff = _gauge("lvstui_vrrp_effective_priority", "The instance's priority after tracked scripts and files",
                 labels=inst)
    heard = _gauge("lvstui_vrrp_master_priority", "The master's priority as this instance last heard it",
                   labels=inst)
    peers = [p for p in snap.vrrp_peers if p.current and not p.local]
    watched = snap.keepalived is not None and snap.keepalived.peers_error is None
    split = _gauge("lvstui_vrrp_split_brain",
                   "1 when this instance is MASTER and another router advertises its VRID (adverts watched)",
                   labels=inst)
    for vi in snap.vrrp:
        info.add_metric([vi.name, vi.interface, str(vi.virtual_router_id)], 1.0)
        words = VRRP_STATES if vi.state in VRRP_STATES else (*VRRP_STATES, vi.state)
        for word in words:
            state.add_metric([vi.name, word], 1.0 if vi.state == word else 0.0)
        prio.add_metric([vi.name], vi.priority)
        eff.add_metric([vi.name], vi.effective_priority)
        if vi.master_priority is not None:
            heard.add_metric([vi.name], vi.master_priority)
        if watched:
            other = any(p.vrid == vi.virtual_router_id for p in peers)
            split.add_metric([vi.name], 1.0 if vi.state == "MASTER" and other else 0.0)
    peer_labels = ("vrid", "source", "interface")
    peer_prio = _gauge("lvstui_vrrp_peer_priority", "Priority another router advertises for a VRID (current adverts)",
                       labels=peer_labels)
    peer_age = _gauge("lvstui_vrrp_peer_advert_age_seconds", "Seconds since that router's last advert",
                      labels=peer_labels)
    for p in peers:
        values = [str(p.vrid), p.source, p.interface]
        peer_prio.add_metric(values, p.priority)
        peer_age.add_metric(values, p.age)
    return [info, state, prio, eff, heard, split, peer_prio, peer_age]


def _keepalived(health: KeepalivedHealth | None, snap: Snapshot) -> list[Metric]:
    """keepalived's families, declared always, with samples where keepalived runs or is configured."""
    up = _gauge("lvstui_keepalived_up", "1 when keepalived runs with every process it needs, 0 otherwise")
    procs = _gauge("lvstui_keepalived_process_up", "1 when that keepalived process is alive", labels=("role",))
    at = _gauge("lvstui_keepalived_state_timestamp_seconds",
                "Unix time keepalived last dumped its checker and VRRP state for lvstui")
    errors = _gauge("lvstui_keepalived_errors", "Problems reading keepalived (dumps, configuration, log)")
    drift = _gauge("lvstui_drift", "Places where the kernel differs from what keepalived intends")
    if health is not None:
        up.add_metric([], 1.0 if health.status == "running" else 0.0)
        for p in health.processes:
            if p.expected:
                procs.add_metric([p.role], 1.0 if p.alive else 0.0)
        if health.state_at is not None:
            at.add_metric([], health.state_at.timestamp())
        errors.add_metric([], float(len(health.errors)))
        drift.add_metric([], float(len(snap.drift)))
    return [up, procs, at, errors, drift]
