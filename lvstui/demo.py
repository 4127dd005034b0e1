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
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

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

__all__ = ["DemoSource", "DEMO_EPOCH", "CYCLE"]

#: wall-clock time of t=0 in every demo snapshot (so screenshots never show today's date)
DEMO_EPOCH = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
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

    def __init__(self, seed: int = 7, clock: Callable[[], float] = time.monotonic,
                 *, director: str = "demo-director", plans: tuple[_VsPlan, ...] | None = None,
                 epoch: datetime = DEMO_EPOCH) -> None:
        self.seed = seed
        self.epoch = epoch
        self._clock = clock
        self._t0 = clock()
        self.director = director
        self._plans = plans if plans is not None else _default_plans(random.Random(seed))

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

    # --- the simulation -------------------------------------------------------------

    def snapshot_at(self, t: float, monotonic: float | None = None) -> Snapshot:
        """The director as it is ``t`` seconds after the demo started."""
        services = tuple(self._service(plan, t) for plan in self._plans)
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
