"""A deterministic simulated director, for trying the dashboard without one and for UI tests.

Everything it shows is a pure function of the seed and of the time elapsed on
the clock it is given, so two sources with the same seed read at the same
instants produce equal snapshots.  It is labelled ``demo`` everywhere
(``Snapshot.source``), and the dashboard never picks it unless asked with
``--demo``.

The default director has services of every kind (TCP, UDP, an IPv6 one and a
fwmark one), 46 real servers, traffic that swells and ebbs, and scheduled
incidents that repeat every two minutes:

* ``10.1.0.14:80`` fails its health check from t=30 s to t=50 s (keepalived
  takes it out of IPVS: state "down");
* ``10.1.0.23:80`` exists only from t=0 to t=70 s (it appears and vanishes);
* ``10.3.0.12:3306`` has weight 100, halved from t=60 s to t=120 s;
* ``10.3.0.13:3306`` is drained (weight 0) all the time.

``DemoSource.scaled()`` builds a synthetic director of any size for benchmarks.

It also implements the operations layer's ``Director`` protocol (add/edit/delete of
services and real servers) *in memory*, so ``--demo`` and the UI tests can drive every
operation: changes are overlaid on the simulation (a real server drained by the operator
loses its connections over the following seconds, its persistence templates more slowly),
refused as the kernel refuses them (EEXIST, ESRCH, ENOENT), and never touch a kernel.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lvstui.capabilities import Capabilities
from lvstui.model import (
    CheckState,
    CpuStats,
    Forward,
    HostStats,
    NicStats,
    Rates,
    RealServer,
    Snapshot,
    Stats,
    Timeouts,
    VirtualService,
    VrrpInstance,
)

__all__ = ["CYCLE", "DEMO_EPOCH", "DemoSource"]

#: wall-clock time of t=0 in every demo snapshot (so screenshots never show today's date)
DEMO_EPOCH = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
#: the incidents repeat with this period, in seconds
CYCLE = 120.0
_WAVE = 60.0  # period of the traffic swell


@dataclass(frozen=True, slots=True)
class _RsPlan:
    address: str
    port: int
    family: str
    forward: Forward
    base_cps: float
    phase: float
    pkts_in: int  # packets per connection, client -> server
    pkts_out: int  # packets per connection, server -> client (0 unless NAT: DR/TUN replies bypass us)
    weight: int = 100
    down: tuple[float, float] | None = None  # health check fails in [a, b) of each cycle
    present: tuple[float, float] | None = None  # in IPVS only in [a, b) of each cycle
    half_weight: tuple[float, float] | None = None
    drained: bool = False


@dataclass(frozen=True, slots=True)
class _VsPlan:
    protocol: str | None
    family: str
    address: str | None
    port: int | None
    fwmark: int | None
    scheduler: str
    persistence: int
    real_servers: tuple[_RsPlan, ...]


def _in_window(t: float, window: tuple[float, float] | None) -> bool:
    if window is None:
        return False
    pos = t % CYCLE
    return window[0] <= pos < window[1]


def _time_outside(t: float, window: tuple[float, float] | None) -> float:
    """Seconds in [0, t) spent outside the repeating window (a server only counts traffic then)."""
    if window is None or t <= 0:
        return max(t, 0.0)
    a, b = window
    full, pos = divmod(t, CYCLE)
    inside = full * (b - a) + max(0.0, min(pos, b) - a)
    return t - inside


class DemoSource:
    """A simulated director; see the module docstring for its schedule."""

    name = "demo"
    #: its own (in-memory) director; no keepalived behind it, so no VRRP
    capabilities = Capabilities(write=True, demo=True)

    def __init__(self, seed: int = 7, clock: Callable[[], float] = time.monotonic,
                 *, director: str = "demo-director", plans: tuple[_VsPlan, ...] | None = None,
                 epoch: datetime = DEMO_EPOCH) -> None:
        self.seed = seed
        self.epoch = epoch
        self._clock = clock
        self._t0 = clock()
        self.director = director
        self._plans = plans if plans is not None else _default_plans(random.Random(seed))
        self._plan_ids = {_plan_id(p): {_rs_id(r) for r in p.real_servers} for p in self._plans}
        self._edits = _Edits()
        self._lock = threading.Lock()
        self.writes = 0  # director writes so far (tests and the keypress benchmark count them)

    @classmethod
    def scaled(cls, services: int, per_service: int, seed: int = 7,
               clock: Callable[[], float] = time.monotonic) -> DemoSource:
        """A synthetic director with ``services`` x ``per_service`` real servers (for benchmarks)."""
        rng = random.Random(seed)
        plans = []
        for s in range(services):
            vip = f"10.{100 + s // 65536}.{(s // 256) % 256}.{s % 256}"
            rss = tuple(
                _RsPlan(address=f"172.{16 + (r // 65536) % 16}.{(r // 256) % 256}.{r % 256}", port=80,
                        family="inet", forward=Forward.DR, base_cps=rng.uniform(1, 40),
                        phase=rng.uniform(0, 2 * math.pi), pkts_in=8, pkts_out=0,
                        down=(30.0, 50.0) if r == 3 else None)
                for r in range(per_service)
            )
            plans.append(_VsPlan("tcp", "inet", vip, 80, None, "wlc", 0, rss))
        return cls(seed=seed, clock=clock, director="demo-scaled", plans=tuple(plans))

    def elapsed(self) -> float:
        return self._clock() - self._t0

    def read(self) -> Snapshot:
        now = self._clock()
        return self.snapshot_at(now - self._t0, monotonic=now)

    def close(self) -> None:
        return None

    # --- the Director protocol (lvstui.ops.changes.Director), in memory ------------------

    def _now(self) -> float:
        return self._clock() - self._t0

    def _services_now(self) -> dict[str, set[str]]:
        """Service id -> real-server ids as the simulated kernel holds them (under the lock)."""
        e = self._edits
        out = {vs_id: set(ids) for vs_id, ids in self._plan_ids.items() if vs_id not in e.removed_vs}
        for vs_id in e.added_vs:
            out[vs_id] = set()
        for vs_id, ids in out.items():
            ids -= {rs_id for v, rs_id in e.removed_rs if v == vs_id}
            ids |= set(e.added_rs.get(vs_id, {}))
        return out

    def _write(self) -> None:
        self.writes += 1

    def add_service(self, vs: VirtualService) -> None:
        with self._lock:
            if vs.id in self._services_now():
                raise _kernel_error(errno.EEXIST)
            bare = dataclasses.replace(vs, real_servers=(), stats=Stats(), rates=Rates())
            self._edits.added_vs[vs.id] = bare
            self._write()

    def edit_service(self, vs: VirtualService) -> None:
        with self._lock:
            if vs.id not in self._services_now():
                raise _kernel_error(errno.ESRCH)
            if vs.id in self._edits.added_vs:
                self._edits.added_vs[vs.id] = _settings_of(self._edits.added_vs[vs.id], vs)
            else:
                self._edits.vs_settings[vs.id] = vs
            self._write()

    def delete_service(self, vs: VirtualService) -> None:
        with self._lock:
            if vs.id not in self._services_now():
                raise _kernel_error(errno.ESRCH)
            e = self._edits
            if e.added_vs.pop(vs.id, None) is None:
                e.removed_vs.add(vs.id)
            e.vs_settings.pop(vs.id, None)
            e.added_rs.pop(vs.id, None)
            for key in [k for k in e.rs_settings if k[0] == vs.id]:
                del e.rs_settings[key]
            e.removed_rs = {k for k in e.removed_rs if k[0] != vs.id}
            self._write()

    def _check_dest(self, vs: VirtualService, rs: RealServer, present: bool) -> None:
        """Fail as the kernel does: no such service (ESRCH), a duplicate (EEXIST), a missing server (ENOENT)."""
        held = self._services_now().get(vs.id)
        if held is None:
            raise _kernel_error(errno.ESRCH)
        if present and rs.id not in held:
            raise _kernel_error(errno.ENOENT)
        if not present and rs.id in held:
            raise _kernel_error(errno.EEXIST)

    def add_dest(self, vs: VirtualService, rs: RealServer) -> None:
        with self._lock:
            self._check_dest(vs, rs, present=False)
            e, key = self._edits, (vs.id, rs.id)
            if key in e.removed_rs and vs.id not in e.added_vs:  # a simulated server comes back
                e.removed_rs.discard(key)
                e.rs_settings[key] = (rs, self._now())
            else:
                e.added_rs.setdefault(vs.id, {})[rs.id] = _fresh(rs)
            self._write()

    def edit_dest(self, vs: VirtualService, rs: RealServer) -> None:
        with self._lock:
            self._check_dest(vs, rs, present=True)
            e, key = self._edits, (vs.id, rs.id)
            added = e.added_rs.get(vs.id, {})
            if rs.id in added:
                added[rs.id] = _settings_of_rs(added[rs.id], rs)
            else:
                previous = e.rs_settings.get(key)
                # the drain clock starts when the weight drops to 0, not at every later edit
                still_drained = previous is not None and previous[0].weight == 0 and rs.weight == 0
                since = previous[1] if previous is not None and still_drained else self._now()
                e.rs_settings[key] = (rs, since)
            self._write()

    def delete_dest(self, vs: VirtualService, rs: RealServer) -> None:
        with self._lock:
            self._check_dest(vs, rs, present=True)
            e, key = self._edits, (vs.id, rs.id)
            if e.added_rs.get(vs.id, {}).pop(rs.id, None) is None:
                e.removed_rs.add(key)
            e.rs_settings.pop(key, None)
            self._write()

    # --- the simulation -------------------------------------------------------------

    def snapshot_at(self, t: float, monotonic: float | None = None) -> Snapshot:
        """The director as it is ``t`` seconds after the demo started."""
        services = tuple(self._service(plan, t) for plan in self._plans)
        with self._lock:
            edits = self._edits.copy() if self._edits else None
        if edits is not None:
            services = _apply_edits(services, edits, t)
        total_pps = sum(vs.rates.inpps + vs.rates.outpps for vs in services)
        total_bps = sum(vs.rates.inbps + vs.rates.outbps for vs in services)
        return Snapshot(
            director=self.director,
            taken_at=self.epoch + timedelta(seconds=t),
            monotonic=t if monotonic is None else monotonic,
            virtual_services=services,
            timeouts=Timeouts(tcp=900, tcp_fin=120, udp=300),
            ipvs_version="1.2.1 (demo)",
            conn_table_size=4096,
            source="demo",
            vrrp=(VrrpInstance(name="VI_1", state="MASTER", priority=150, effective_priority=150,
                               vips=("192.0.2.10", "192.0.2.53", "2001:db8::10"),
                               interface="eth0", virtual_router_id=51,
                               last_transition=self.epoch),),
            host=_host(t, total_pps, total_bps),
        )

    def _service(self, plan: _VsPlan, t: float) -> VirtualService:
        servers = [_real_server(p, t, plan) for p in plan.real_servers]
        real_servers = tuple(rs for p, rs in zip(plan.real_servers, servers)
                             if p.present is None or _in_window(t, p.present))
        # the service's own counters never go backwards, even when a server leaves
        stats = Stats(
            conns=sum(rs.stats.conns for rs in servers), inpkts=sum(rs.stats.inpkts for rs in servers),
            outpkts=sum(rs.stats.outpkts for rs in servers), inbytes=sum(rs.stats.inbytes for rs in servers),
            outbytes=sum(rs.stats.outbytes for rs in servers),
        )
        kernel = [rs for rs in real_servers if rs.in_kernel]
        rates = Rates(
            cps=sum(rs.rates.cps for rs in kernel), inpps=sum(rs.rates.inpps for rs in kernel),
            outpps=sum(rs.rates.outpps for rs in kernel), inbps=sum(rs.rates.inbps for rs in kernel),
            outbps=sum(rs.rates.outbps for rs in kernel),
        )
        return VirtualService(
            protocol=plan.protocol, family=plan.family, address=plan.address, port=plan.port,
            fwmark=plan.fwmark, scheduler=plan.scheduler,
            flags=("persistent",) if plan.persistence else (),
            persistence_timeout=plan.persistence,
            netmask="255.255.255.255" if plan.family == "inet" else "128",
            stats=stats, rates=rates, real_servers=real_servers,
        )


def _conns_until(p: _RsPlan, t: float) -> float:
    """Cumulative connections at (traffic-)time t: the integral of the swelling rate."""
    w = 2 * math.pi / _WAVE
    return p.base_cps * (t + 0.6 / w * (math.cos(p.phase) - math.cos(w * t + p.phase)))


def _rate_at(p: _RsPlan, t: float) -> float:
    return p.base_cps * (1 + 0.6 * math.sin(2 * math.pi / _WAVE * t + p.phase))


def _real_server(p: _RsPlan, t: float, vs: _VsPlan) -> RealServer:
    """The server at t (the caller leaves it out while it is not in IPVS)."""
    down = _in_window(t, p.down)
    if p.present is not None:
        active_t = t - _time_outside(t, p.present)  # traffic only while it is present
    else:
        active_t = _time_outside(t, p.down)
    conns = int(_conns_until(p, active_t))
    # the kernel estimator lags: it reports the rate of about a second ago, and 0 while down
    est_cps = 0.0 if down else _rate_at(p, max(active_t - 1.0, 0.0))
    weight = 0 if p.drained else (p.weight // 2 if _in_window(t, p.half_weight) else p.weight)
    if p.drained:
        est_cps = 0.0
        conns = int(_conns_until(p, 5.0))  # traffic stopped long ago
    stats = Stats(conns=conns, inpkts=conns * p.pkts_in, outpkts=conns * p.pkts_out,
                  inbytes=conns * p.pkts_in * 90, outbytes=conns * p.pkts_out * 1400)
    rates = Rates(cps=round(est_cps), inpps=round(est_cps * p.pkts_in), outpps=round(est_cps * p.pkts_out),
                  inbps=round(est_cps * p.pkts_in * 90), outbps=round(est_cps * p.pkts_out * 1400))
    udp = vs.protocol == "udp"
    active = 0 if (down or udp) else round(est_cps * 1.5)
    inactive = 0 if down else round(est_cps * (4 if udp else 6))
    persistent = 0 if (down or not vs.persistence) else round(est_cps * 3)
    check = CheckState(checker="HTTP_GET" if vs.port in (80, 443) else "TCP_CHECK", alive=not down,
                       failed_checkers=1 if down else 0,
                       detail="connection refused" if down else "")
    return RealServer(
        address=p.address, port=p.port, family=p.family, forward=p.forward, weight=weight,
        active_conns=active, inactive_conns=inactive, persistent_conns=persistent,
        stats=stats, rates=rates, check=check, in_kernel=not down,
    )


def _host(t: float, pps: float, bps: float) -> HostStats:
    cpus = []
    for core in range(4):
        softirq = min(95.0, 4.0 + pps / 4000.0 * (1.4 if core == 0 else 0.6) + 3 * math.sin(t / 7 + core))
        busy = min(100.0, softirq + 12 + 6 * math.sin(t / 11 + core * 1.3))
        cpus.append(CpuStats(core=core, busy=round(busy, 1), softirq=round(softirq, 1),
                             system=round(busy - softirq - 8, 1), user=8.0))
    nics = (
        NicStats(name="eth0", rx_pps=pps * 0.98, tx_pps=pps * 0.35, rx_bps=bps * 0.98, tx_bps=bps * 0.3,
                 drops_in=int(t // 40), errors_in=0),
        NicStats(name="eth1", rx_pps=pps * 0.02, tx_pps=pps * 0.64, rx_bps=bps * 0.02, tx_bps=bps * 0.7),
        NicStats(name="lo", rx_pps=12, tx_pps=12, rx_bps=2400, tx_bps=2400),
    )
    load = (1.2 + 0.3 * math.sin(t / 30), 1.1, 0.9)
    return HostStats(cpus=tuple(cpus), load=(round(load[0], 2), load[1], load[2]),
                     mem_total=8 * 2**30, mem_used=int(2.5 * 2**30 + 2**26 * math.sin(t / 50)),
                     nics=nics)


def _default_plans(rng: random.Random) -> tuple[_VsPlan, ...]:
    def rs(address: str, port: int, forward: Forward = Forward.DR, family: str = "inet",
           scale: float = 1.0, **kw: object) -> _RsPlan:
        nat = forward == Forward.NAT
        return _RsPlan(address=address, port=port, family=family, forward=forward,
                       base_cps=rng.uniform(4, 30) * scale, phase=rng.uniform(0, 2 * math.pi),
                       pkts_in=rng.randint(6, 12), pkts_out=rng.randint(8, 14) if nat else 0,
                       **kw)  # type: ignore[arg-type]

    web = tuple(
        rs(f"10.1.0.{i}", 80,
           down=(30.0, 50.0) if i == 14 else None)
        for i in range(11, 23)
    ) + (rs("10.1.0.23", 80, present=(0.0, 70.0)),)
    tls = tuple(rs(f"10.1.0.{i}", 443, scale=1.5) for i in range(11, 23))
    dns = tuple(rs(f"10.2.0.{i}", 53, Forward.NAT, scale=4) for i in range(11, 15))
    v6 = tuple(rs(f"2001:db8:1::{i}", 80, family="inet6") for i in range(11, 17))
    mark = tuple(rs(f"10.4.0.{i}", 0, Forward.TUN, scale=0.7) for i in range(11, 19))
    db = (
        rs("10.3.0.11", 3306, Forward.NAT, scale=0.3),
        rs("10.3.0.12", 3306, Forward.NAT, scale=0.3, half_weight=(60.0, 120.0)),
        rs("10.3.0.13", 3306, Forward.NAT, scale=0.3, drained=True),
    )
    return (
        _VsPlan("tcp", "inet", "192.0.2.10", 80, None, "wlc", 0, web),
        _VsPlan("tcp", "inet", "192.0.2.10", 443, None, "wlc", 300, tls),
        _VsPlan("udp", "inet", "192.0.2.53", 53, None, "rr", 0, dns),
        _VsPlan("tcp", "inet6", "2001:db8::10", 80, None, "sh", 0, v6),
        _VsPlan(None, "inet", None, None, 42, "wrr", 600, mark),
        _VsPlan("tcp", "inet", "198.51.100.20", 3306, None, "lc", 0, db),
    )


# --- operator changes overlaid on the simulation --------------------------------------

#: how fast an operator-drained server's connections finish (seconds, e-folding time)
DRAIN_ACTIVE_S = 6.0
DRAIN_INACTIVE_S = 12.0
DRAIN_TEMPLATES_S = 60.0  # persistence templates outlive the connections (expire_quiescent_template=0)


@dataclass
class _Edits:
    removed_vs: set[str] = field(default_factory=set)
    added_vs: dict[str, VirtualService] = field(default_factory=dict)
    vs_settings: dict[str, VirtualService] = field(default_factory=dict)
    removed_rs: set[tuple[str, str]] = field(default_factory=set)
    added_rs: dict[str, dict[str, RealServer]] = field(default_factory=dict)
    rs_settings: dict[tuple[str, str], tuple[RealServer, float]] = field(default_factory=dict)  # (rs, since)

    def __bool__(self) -> bool:
        return bool(self.removed_vs or self.added_vs or self.vs_settings or self.removed_rs or self.added_rs
                    or self.rs_settings)

    def copy(self) -> _Edits:
        return _Edits(set(self.removed_vs), dict(self.added_vs), dict(self.vs_settings), set(self.removed_rs),
                      {k: dict(v) for k, v in self.added_rs.items()}, dict(self.rs_settings))


def _kernel_error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def _plan_id(p: _VsPlan) -> str:
    return VirtualService(protocol=p.protocol, family=p.family, address=p.address, port=p.port,
                          fwmark=p.fwmark).id


def _rs_id(p: _RsPlan) -> str:
    return RealServer(address=p.address, port=p.port).id


def _settings_of(base: VirtualService, new: VirtualService) -> VirtualService:
    return dataclasses.replace(base, scheduler=new.scheduler, flags=new.flags,
                               persistence_timeout=new.persistence_timeout, netmask=new.netmask,
                               persistence_engine=new.persistence_engine)


def _settings_of_rs(base: RealServer, new: RealServer) -> RealServer:
    return dataclasses.replace(base, weight=new.weight, forward=new.forward,
                               upper_threshold=new.upper_threshold, lower_threshold=new.lower_threshold)


def _fresh(rs: RealServer) -> RealServer:
    """A real server the operator just added: no traffic, no health check."""
    return RealServer(address=rs.address, port=rs.port, family=rs.family, forward=rs.forward,
                      weight=rs.weight,
                      upper_threshold=rs.upper_threshold, lower_threshold=rs.lower_threshold,
                      tun_type=rs.tun_type, tun_port=rs.tun_port, tun_flags=rs.tun_flags)


def _edited_rs(rs: RealServer, new: RealServer, elapsed: float) -> RealServer:
    out = _settings_of_rs(rs, new)
    if new.weight == 0 and rs.weight != 0:  # drained by the operator: no new connections, the rest finish
        fade_a = math.exp(-max(elapsed, 0.0) / DRAIN_ACTIVE_S)
        fade_i = math.exp(-max(elapsed, 0.0) / DRAIN_INACTIVE_S)
        fade_p = math.exp(-max(elapsed, 0.0) / DRAIN_TEMPLATES_S)
        # counted down from what the server held when it was drained (``new`` is that reading)
        out = dataclasses.replace(out, active_conns=int(new.active_conns * fade_a),
                                  inactive_conns=int(new.inactive_conns * fade_i),
                                  persistent_conns=int(new.persistent_conns * fade_p),
                                  rates=Rates(), stats=new.stats)
    return out


def _apply_edits(services: tuple[VirtualService, ...], e: _Edits, t: float) -> tuple[VirtualService, ...]:
    out = []
    touched_ids = set(e.added_rs) | {k[0] for k in e.rs_settings} | {k[0] for k in e.removed_rs}
    for vs in services:
        if vs.id in e.removed_vs:
            continue
        settings = e.vs_settings.get(vs.id)
        if settings is not None:
            vs = _settings_of(vs, settings)
        if vs.id in touched_ids:
            servers = []
            for rs in vs.real_servers:
                key = (vs.id, rs.id)
                if key in e.removed_rs:
                    continue
                edited = e.rs_settings.get(key)
                servers.append(_edited_rs(rs, edited[0], t - edited[1]) if edited else rs)
            servers += e.added_rs.get(vs.id, {}).values()
            vs = dataclasses.replace(vs, real_servers=tuple(servers))
        out.append(vs)
    for vs_id, vs in e.added_vs.items():
        out.append(dataclasses.replace(vs, real_servers=tuple(e.added_rs.get(vs_id, {}).values())))
    return tuple(out)
