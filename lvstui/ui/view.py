"""Filtering and sorting of the two tables: pure functions, run by the poller thread.

The poller builds :class:`Tables` for the :class:`ViewSpec` the screen had when
the poll started, so the UI thread only swaps lists in.  When the operator
changed the spec meanwhile (typed in the filter, sorted, moved to another
service), the UI thread rebuilds with the same functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lvstui.model import RealServer, Snapshot, VirtualService
from lvstui.ui.columns import Column, RateView, RsRow, ServiceRow, rs_sort_value, service_sort_value
from lvstui.ui.filtering import parse_terms, rs_satisfies, service_satisfies, unmet

__all__ = ["Tables", "ViewSpec", "build_real_servers", "build_services", "build_tables",
           "default_reverse"]


@dataclass(frozen=True, slots=True)
class ViewSpec:
    filter: str = ""
    svc_sort: str = "id"
    svc_reverse: bool = False
    rs_sort: str = "id"
    rs_reverse: bool = False
    selected: str | None = None  # the service whose real servers are shown
    rate_mode: str = "kernel"
    #: real servers that left IPVS, kept by the screen until acknowledged: (service id, server as last seen)
    gone: tuple[tuple[str, RealServer], ...] = ()

    def gone_in(self, vs_id: str) -> list[RealServer]:
        return [rs for v, rs in self.gone if v == vs_id]


@dataclass(frozen=True, slots=True)
class Tables:
    spec: ViewSpec
    svc_keys: Sequence[str] = ()
    svc_items: Mapping[str, ServiceRow] = field(default_factory=dict)
    rs_vs_id: str | None = None
    rs_keys: Sequence[str] = ()
    rs_items: Mapping[str, RsRow] = field(default_factory=dict)


def default_reverse(columns: Sequence[Column], key: str) -> bool:
    """A column's first sort direction: numbers (right-aligned, and health) biggest first, text A to Z."""
    column = next((c for c in columns if c.key == key), None)
    return column is not None and (column.align == "right" or key == "health")


def build_services(snapshot: Snapshot, spec: ViewSpec, view: RateView) -> tuple[list[str], dict[str, ServiceRow]]:
    terms = parse_terms(spec.filter)
    rows = [ServiceRow.of(vs) for vs in snapshot.virtual_services
            if not terms or service_satisfies(terms, vs, spec.gone_in(vs.id) if spec.gone else ())]
    rows.sort(key=lambda row: service_sort_value(row, spec.svc_sort, view), reverse=spec.svc_reverse)
    keys = [row.vs.id for row in rows]
    return keys, dict(zip(keys, rows))


def build_real_servers(vs: VirtualService | None, spec: ViewSpec,
                       view: RateView) -> tuple[list[str], dict[str, RsRow]]:
    if vs is None:
        return [], {}
    rest = unmet(parse_terms(spec.filter), vs)  # what the service does not satisfy by itself
    vs_id = vs.id
    rows = [RsRow(vs_id, rs) for rs in vs.real_servers if not rest or rs_satisfies(rest, rs)]
    if spec.gone:
        here = {row.rs.id for row in rows}
        rows += [RsRow(vs_id, rs, gone=True) for rs in spec.gone_in(vs_id)
                 if rs.id not in here and (not rest or rs_satisfies(rest, rs, "gone"))]
    rows.sort(key=lambda row: rs_sort_value(row, spec.rs_sort, view), reverse=spec.rs_reverse)
    keys = [row.rs.id for row in rows]
    return keys, dict(zip(keys, rows))


def build_tables(snapshot: Snapshot, spec: ViewSpec, view: RateView) -> Tables:
    svc_keys, svc_items = build_services(snapshot, spec, view)
    selected = spec.selected if spec.selected in svc_items else (svc_keys[0] if svc_keys else None)
    row = svc_items.get(selected) if selected else None
    rs_keys, rs_items = build_real_servers(row.vs if row else None, spec, view)
    return Tables(spec=spec, svc_keys=svc_keys, svc_items=svc_items, rs_vs_id=selected,
                  rs_keys=rs_keys, rs_items=rs_items)
