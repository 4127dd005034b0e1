"""Columns of the two tables: label, width, priority, cell text and sort value.

Pure functions of model objects; the table widget calls them only for the rows
on screen, and the sort calls them once per row.  ``priority`` decides which
columns give way on a narrow terminal: 0 never goes, higher numbers go first.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lvstui.model import Rates, RealServer, VirtualService
from lvstui.rates import NO_DELTAS, Deltas
from lvstui.ui.formatting import si, state_text
from lvstui.ui.health import MARK, SEVERITY
from lvstui.ui.health import worst as worst_state

__all__ = ["RS_COLUMNS", "SERVICE_COLUMNS", "Column", "RateView", "RsRow", "ServiceRow", "rs_columns"]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    align: str = "right"  # left or right
    priority: int = 1
    flex: bool = False  # takes the room left over (the id column)


@dataclass(frozen=True, slots=True)
class RateView:
    """Which rates the tables show: the kernel's estimator or lvstui's deltas between polls."""

    mode: str = "kernel"  # kernel or lvstui
    deltas: Deltas = NO_DELTAS

    @property
    def label(self) -> str:
        if self.mode == "kernel":
            return "rates: kernel estimator (~2s avg)"
        if self.deltas.available:
            return f"rates: lvstui Δ over {self.deltas.interval:.1f}s"
        return "rates: lvstui Δ (waiting for a 2nd poll)"


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """A service with its per-server sums computed once (in the poller thread), not per paint."""

    vs: VirtualService
    up: int
    total: int
    active: int
    inactive: int
    down: int = 0
    inhibited: int = 0
    drained: int = 0

    @classmethod
    def of(cls, vs: VirtualService) -> ServiceRow:
        up = active = inactive = 0
        others = {"down": 0, "inhibited": 0, "drained": 0}
        for rs in vs.real_servers:
            state = rs.state
            if state == "up":
                up += 1
            else:
                others[state] = others.get(state, 0) + 1
            active += rs.active_conns
            inactive += rs.inactive_conns
        return cls(vs, up, len(vs.real_servers), active, inactive, others["down"], others["inhibited"],
                   others["drained"])

    def worst(self, gone: int = 0) -> str | None:
        """The worst state among its real servers (``gone``: those that left IPVS, kept by the screen)."""
        return worst_state(self.down, self.inhibited, gone, self.drained)


@dataclass(frozen=True, slots=True)
class RsRow:
    vs_id: str
    rs: RealServer
    gone: bool = False  # vanished since an earlier poll; shown for a few seconds

    @property
    def state(self) -> str:
        return "gone" if self.gone else self.rs.state


SERVICE_COLUMNS: tuple[Column, ...] = (
    # the service's health mark (lvstui.ui.health.MARK): its own column, which no other mark replaces
    Column("health", "", 1, "left", 0),
    Column("id", "Virtual service", 16, "left", 0, flex=True),
    Column("sched", "Sched", 5, "left", 4),
    Column("persist", "Flags", 9, "left", 6),
    Column("up", "Up/RS", 7, "right", 0),
    Column("active", "Active", 7, "right", 1),
    Column("inactive", "InAct", 7, "right", 2),
    Column("cps", "CPS", 6, "right", 1),
    Column("inpps", "InPPS", 6, "right", 5),
    Column("outpps", "OutPPS", 6, "right", 7),
    Column("inbps", "In B/s", 6, "right", 3),
    Column("outbps", "Out B/s", 7, "right", 5),
    # shown only where there is room to spare (200 columns)
    Column("persistent", "Persist", 7, "right", 8),
    Column("conns", "Conns", 6, "right", 9),
    Column("bytes", "Bytes", 6, "right", 9),
)

RS_COLUMNS: tuple[Column, ...] = (
    Column("id", "Real server", 14, "left", 0, flex=True),
    Column("fwd", "Fwd", 5, "left", 4),
    Column("weight", "Weight", 6, "right", 0),
    Column("state", "State", 11, "left", 0),
    Column("active", "Active", 7, "right", 1),
    Column("inactive", "InAct", 7, "right", 2),
    Column("persistent", "Persist", 7, "right", 5),
    Column("cps", "CPS", 6, "right", 1),
    Column("inbps", "In B/s", 6, "right", 3),
    Column("outbps", "Out B/s", 7, "right", 6),
    Column("bytes", "Bytes", 6, "right", 7),
    # shown only where there is room to spare (200 columns)
    Column("inpps", "InPPS", 6, "right", 8),
    Column("outpps", "OutPPS", 6, "right", 8),
    Column("conns", "Conns", 6, "right", 9),
)

#: the Persist column of a persistent service's real servers: kept as long as Active is (a drain
#: there waits for the templates; the drain note points at this column)
_PERSIST_KEPT = 1
#: ... and of any other service: always 0, the first to give way
_PERSIST_IDLE = 9


def rs_columns(persistent: bool) -> tuple[Column, ...]:
    """The real-server columns for a service; Persist matters only where the service is persistent."""
    priority = _PERSIST_KEPT if persistent else _PERSIST_IDLE
    return tuple(dataclasses.replace(c, priority=priority) if c.key == "persistent" else c for c in RS_COLUMNS)


def _packed(address: str | None) -> bytes:
    """Addresses sort numerically (10.0.0.9 before 10.0.0.10)."""
    if not address:
        return b""
    try:
        return socket.inet_pton(socket.AF_INET6 if ":" in address else socket.AF_INET, address)
    except OSError:
        return address.encode()


def _rates(view: RateView, key: str, kernel: Rates) -> Rates | None:
    if view.mode == "kernel":
        return kernel
    return view.deltas.services.get(key) if "/" not in key else view.deltas.real_servers.get(key)


def service_rates(view: RateView, vs: VirtualService) -> Rates | None:
    return _rates(view, vs.id, vs.rates)


def rs_rates(view: RateView, row: RsRow) -> Rates | None:
    if row.gone:
        return None
    return _rates(view, f"{row.vs_id}/{row.rs.id}", row.rs.rates)


#: the rate columns, by key: a column names its field here, not by attribute lookup
RATE_FIELDS: dict[str, Callable[[Rates], int]] = {
    "cps": lambda r: r.cps, "inpps": lambda r: r.inpps, "outpps": lambda r: r.outpps,
    "inbps": lambda r: r.inbps, "outbps": lambda r: r.outbps,
}


def _rate(rates: Rates | None, key: str) -> int:
    return -1 if rates is None else RATE_FIELDS[key](rates)


def _rate_text(rates: Rates | None, field: str) -> str:
    return "–" if rates is None else si(RATE_FIELDS[field](rates))


_FLAG_SHORT = {"one-packet": "ops", "sh-fallback": "shfb", "sh-port": "shport", "mh-fallback": "mhfb",
               "mh-port": "mhport"}


def service_flags(vs: VirtualService) -> str:
    """``p300`` for persistence 300 s, then the other flags, short: ``p300,ops``; ``-`` for none."""
    parts = [f"p{vs.persistence_timeout}"] if vs.persistent else []
    parts += [_FLAG_SHORT.get(f, f) for f in vs.flags if f not in ("persistent", "hashed")]
    return ",".join(parts) or "-"


def service_cell(row: ServiceRow, key: str, view: RateView) -> str:
    vs = row.vs
    if key == "health":
        state = row.worst()
        return MARK[state] if state else " "
    if key == "id":
        return vs.id
    if key == "sched":
        return vs.scheduler
    if key == "persist":
        return service_flags(vs)
    if key == "up":
        return f"{row.up}/{row.total}"
    if key == "active":
        return si(row.active)
    if key == "inactive":
        return si(row.inactive)
    if key == "persistent":
        return si(vs.persistent_conns)
    if key == "conns":
        return si(vs.stats.conns)
    if key == "bytes":
        return si(vs.stats.inbytes + vs.stats.outbytes)
    return _rate_text(service_rates(view, vs), key)


def service_sort_value(row: ServiceRow, key: str, view: RateView) -> Any:
    vs = row.vs
    if key == "id":
        return (vs.fwmark is not None, vs.family, _packed(vs.address), vs.port or 0, vs.protocol or "",
                vs.fwmark or 0)
    if key == "sched":
        return vs.scheduler
    if key == "persist":
        return vs.persistence_timeout if vs.persistent else -1
    if key == "health":
        state = row.worst()
        return SEVERITY[state] if state else 0
    if key == "up":
        return (row.total - row.up, row.total)  # how many are missing, as the operator reads it
    if key == "active":
        return row.active
    if key == "inactive":
        return row.inactive
    if key == "persistent":
        return vs.persistent_conns
    if key == "conns":
        return vs.stats.conns
    if key == "bytes":
        return vs.stats.inbytes + vs.stats.outbytes
    return _rate(service_rates(view, vs), key)


def rs_cell(row: RsRow, key: str, view: RateView) -> str:
    rs = row.rs
    if key == "id":
        return rs.id
    if key == "fwd":
        return rs.forward.value
    if key == "weight":
        return str(rs.weight)
    if key == "state":
        return state_text(row.state)
    if key == "active":
        return si(rs.active_conns)
    if key == "inactive":
        return si(rs.inactive_conns)
    if key == "persistent":
        return si(rs.persistent_conns)
    if key == "bytes":
        return si(rs.stats.inbytes + rs.stats.outbytes)
    if key == "conns":
        return si(rs.stats.conns)
    return _rate_text(rs_rates(view, row), key)


_STATE_ORDER = {"down": 0, "inhibited": 1, "gone": 2, "drained": 3, "up": 4}


def rs_sort_value(row: RsRow, key: str, view: RateView) -> Any:
    rs = row.rs
    if key == "id":
        return (rs.family, _packed(rs.address), rs.port)
    if key == "fwd":
        return rs.forward.value
    if key == "weight":
        return rs.weight
    if key == "state":
        return _STATE_ORDER.get(row.state, 9)
    if key == "active":
        return rs.active_conns
    if key == "inactive":
        return rs.inactive_conns
    if key == "persistent":
        return rs.persistent_conns
    if key == "bytes":
        return rs.stats.inbytes + rs.stats.outbytes
    if key == "conns":
        return rs.stats.conns
    return _rate(rs_rates(view, row), key)
