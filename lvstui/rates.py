"""lvstui's own per-second rates: counter deltas between two snapshots.

The kernel keeps its own estimator (``ip_vs_est``, a ~2 s smoothed average,
carried in ``VirtualService.rates`` and ``RealServer.rates``).  The values
here are different on purpose: the plain difference of the 64-bit cumulative
counters between two polls, divided by the time between them measured on
``Snapshot.monotonic``.  The dashboard labels which of the two it shows.

Rows are matched by their stable ids, never by position.  A counter that went
backwards (a service deleted and re-created between polls) gives no rate
rather than a negative or absurd one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lvstui.model import Rates, Snapshot, Stats

__all__ = ["Deltas", "NO_DELTAS", "compute_deltas", "rs_key", "stats_delta"]


def rs_key(vs_id: str, rs_id: str) -> str:
    """The key of a real server across the whole director (a server may serve several services)."""
    return f"{vs_id}/{rs_id}"


@dataclass(frozen=True, slots=True)
class Deltas:
    """Per-second deltas between two snapshots, keyed by service id and by :func:`rs_key`."""

    interval: float = 0.0  # seconds between the two snapshots; 0 when there is no previous one
    services: Mapping[str, Rates] = field(default_factory=dict)
    real_servers: Mapping[str, Rates] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.interval > 0


NO_DELTAS = Deltas()


def stats_delta(old: Stats, new: Stats, seconds: float) -> Rates | None:
    """Rates from two cumulative counters; None when a counter went backwards or no time passed."""
    if seconds <= 0:
        return None
    d_conns = new.conns - old.conns
    d_inpkts = new.inpkts - old.inpkts
    d_outpkts = new.outpkts - old.outpkts
    d_inbytes = new.inbytes - old.inbytes
    d_outbytes = new.outbytes - old.outbytes
    if min(d_conns, d_inpkts, d_outpkts, d_inbytes, d_outbytes) < 0:
        return None
    return Rates(
        cps=round(d_conns / seconds),
        inpps=round(d_inpkts / seconds),
        outpps=round(d_outpkts / seconds),
        inbps=round(d_inbytes / seconds),
        outbps=round(d_outbytes / seconds),
    )


def compute_deltas(previous: Snapshot | None, current: Snapshot) -> Deltas:
    """Deltas from ``previous`` to ``current``; :data:`NO_DELTAS` when they cannot be compared.

    Snapshots that failed (``error`` set), come from different sources or
    directors, or are not in increasing monotonic order give no deltas.
    """
    if previous is None or previous.error or current.error:
        return NO_DELTAS
    if previous.source != current.source or previous.director != current.director:
        return NO_DELTAS
    seconds = current.monotonic - previous.monotonic
    if seconds <= 0:
        return NO_DELTAS
    old_services = {vs.id: vs for vs in previous.virtual_services}
    services: dict[str, Rates] = {}
    real_servers: dict[str, Rates] = {}
    for vs in current.virtual_services:
        vs_id = vs.id
        old_vs = old_services.get(vs_id)
        if old_vs is None:
            continue
        rate = stats_delta(old_vs.stats, vs.stats, seconds)
        if rate is not None:
            services[vs_id] = rate
        old_rs = {rs.id: rs.stats for rs in old_vs.real_servers}
        for rs in vs.real_servers:
            rs_id = rs.id
            old_stats = old_rs.get(rs_id)
            if old_stats is None:
                continue
            rate = stats_delta(old_stats, rs.stats, seconds)
            if rate is not None:
                real_servers[f"{vs_id}/{rs_id}"] = rate
    return Deltas(interval=seconds, services=services, real_servers=real_servers)
