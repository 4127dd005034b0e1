"""Health at a glance: how many real servers are DOWN, inhibited, gone or drained, and which mark says so.

Failure (DOWN, inhibited, gone) and maintenance (drained: weight 0 on purpose) get different
marks, always a symbol and a word beside the theme's colour.  A service's mark is its worst
real server's (:func:`worst`), shown in the services table's own status column.

A real server that leaves IPVS (a ``vanished`` event) stays listed as ``gone`` in
:class:`GoneServers` until the operator acknowledges it: a server that silently disappears
would otherwise turn "11/12 up" into "11/11 up".  Plain Python; no Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lvstui.model import RealServer, Snapshot

if TYPE_CHECKING:  # columns imports this module's marks
    from lvstui.ui.columns import ServiceRow

__all__ = ["MARK", "ROW_CLASS", "SEVERITY", "GoneServers", "gone_cell", "StateCounts", "count_states", "header_parts", "worst"]

#: worst first: what a service's mark and the health sort order follow
SEVERITY: dict[str, int] = {"down": 4, "gone": 3, "inhibited": 2, "drained": 1}
#: the status column's marks (the same symbols as the State column's words)
MARK: dict[str, str] = {"down": "✖", "gone": "⌫", "inhibited": "▽", "drained": "◐"}
#: the CSS class a service row takes for its worst state (theme variables $rs-down, $rs-drained...)
ROW_CLASS: dict[str, str] = {"down": "vtable--down", "gone": "vtable--down", "inhibited": "vtable--inhibited",
                             "drained": "vtable--drained"}


def worst(down: int = 0, inhibited: int = 0, gone: int = 0, drained: int = 0) -> str | None:
    """The worst state present (``down`` > ``gone`` > ``inhibited`` > ``drained``), None when all are up."""
    for state, count in (("down", down), ("gone", gone), ("inhibited", inhibited), ("drained", drained)):
        if count:
            return state
    return None


@dataclass(frozen=True, slots=True)
class StateCounts:
    """Real servers not up, over the whole director (counted in the poller thread)."""

    total: int = 0
    down: int = 0
    inhibited: int = 0
    drained: int = 0
    #: (service id, real-server id) of each drained one, by whomever drained it (for the drain watch)
    drained_keys: frozenset[tuple[str, str]] = frozenset()


def count_states(snapshot: Snapshot) -> StateCounts:
    down = inhibited = total = 0
    drained: list[tuple[str, str]] = []
    for vs in snapshot.virtual_services:
        for rs in vs.real_servers:
            total += 1
            state = rs.state
            if state == "down":
                down += 1
            elif state == "inhibited":
                inhibited += 1
            elif state == "drained":
                drained.append((vs.id, rs.id))
    return StateCounts(total, down, inhibited, len(drained), frozenset(drained))


def header_parts(counts: StateCounts, gone: int) -> list[tuple[str, str]]:
    """The header's health: ``✖ 1 DOWN ◐ 1 drained`` (only what is there), or ``● all 46 up``."""
    parts: list[tuple[str, str]] = []
    for state, count, word, style in (
        ("down", counts.down, "DOWN", "bold $text-error"),
        ("inhibited", counts.inhibited, "inhibited", "bold $text-error"),
        ("gone", gone, "gone", "bold $text-warning"),
        ("drained", counts.drained, "drained", "$text-warning"),
    ):
        if count:
            parts += [(" ", "")] if parts else []
            parts.append((f"{MARK[state]} {count} {word}", style))
    if not parts:
        return [(f"● all {counts.total} up" if counts.total else "no real servers", "$text-success")]
    return parts


def gone_cell(row: ServiceRow, column: str, gone: int) -> str | None:
    """A service's cell where its gone servers change it (status mark, Up/RS total), else None."""
    if gone and column == "health":
        return MARK[row.worst(gone) or "gone"]
    if gone and column == "up":
        return f"{row.up}/{row.total + gone}"  # a server that left still counts until acknowledged
    return None


class GoneServers:
    """Real servers that left IPVS, as last seen, until acknowledged (or back in IPVS)."""

    def __init__(self) -> None:
        self._by_service: dict[str, dict[str, RealServer]] = {}

    def vanished(self, vs_id: str, rs: RealServer) -> None:
        self._by_service.setdefault(vs_id, {})[rs.id] = rs

    def back(self, vs_id: str, rs_id: str) -> None:
        """It is in IPVS again (appeared, or any other event about it)."""
        rows = self._by_service.get(vs_id)
        if rows is not None:
            rows.pop(rs_id, None)
            if not rows:
                del self._by_service[vs_id]

    def service_removed(self, vs_id: str) -> None:
        self._by_service.pop(vs_id, None)  # the service went too: its event says so

    def count(self, vs_id: str) -> int:
        return len(self._by_service.get(vs_id, ()))

    @property
    def total(self) -> int:
        return sum(len(rows) for rows in self._by_service.values())

    def items(self) -> tuple[tuple[str, RealServer], ...]:
        """(service id, server as last seen), for the view (:class:`lvstui.ui.view.ViewSpec`)."""
        return tuple((vs_id, rs) for vs_id, rows in sorted(self._by_service.items()) for rs in rows.values())

    def acknowledge(self) -> str:
        """Forget every gone server; says which (the first three) for the operator."""
        names = sorted((vs_id, rs_id) for vs_id, rows in self._by_service.items() for rs_id in rows)
        self._by_service.clear()
        if not names:
            return "no gone real servers to acknowledge"
        listed = ", ".join(f"{rs_id} in {vs_id}" for vs_id, rs_id in names[:3])
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        return f"acknowledged {len(names)} gone real server{'s' if len(names) > 1 else ''}: {listed}{more}"
