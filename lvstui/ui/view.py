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
from lvstui.ui.columns import RateView, RsRow, ServiceRow, rs_sort_value, service_sort_value

__all__ = ["Tables", "ViewSpec", "build_real_servers", "build_services", "build_tables", "parse_filter"]

_STATES = ("up", "drained", "down", "inhibited")


@dataclass(frozen=True, slots=True)
class ViewSpec:
    filter: str = ""
    svc_sort: str = "id"
    svc_reverse: bool = False
    rs_sort: str = "id"
    rs_reverse: bool = False
    selected: str | None = None  # the service whose real servers are shown
    rate_mode: str = "kernel"


@dataclass(frozen=True, slots=True)
class Tables:
    spec: ViewSpec
    svc_keys: Sequence[str] = ()
    svc_items: Mapping[str, ServiceRow] = field(default_factory=dict)
    rs_vs_id: str | None = None
    rs_keys: Sequence[str] = ()
    rs_items: Mapping[str, RsRow] = field(default_factory=dict)


def parse_filter(text: str) -> tuple[str, ...]:
    """Lower-case words; a row must match every word (address, port, protocol, scheduler or state)."""
    return tuple(word for word in text.lower().split() if word)


def _word_matches_rs(word: str, rs: RealServer, rs_id: str) -> bool:
    if word in rs_id:
        return True
    state = rs.state
    if word.startswith("state:"):
        return state.startswith(word[6:])
    return any(s.startswith(word) for s in _STATES) and state.startswith(word)


def rs_matches(words: tuple[str, ...], rs: RealServer) -> bool:
    rs_id = rs.id.lower()
    return all(_word_matches_rs(w, rs, rs_id) for w in words)


def service_matches_itself(words: tuple[str, ...], vs: VirtualService) -> bool:
    text = f"{vs.id} {vs.scheduler} {vs.protocol or 'fwmark'}".lower()
    return all(w in text for w in words)


def build_services(snapshot: Snapshot, spec: ViewSpec, view: RateView) -> tuple[list[str], dict[str, ServiceRow]]:
    words = parse_filter(spec.filter)
    rows = [
        ServiceRow.of(vs) for vs in snapshot.virtual_services
        if not words or service_matches_itself(words, vs) or any(rs_matches(words, rs) for rs in vs.real_servers)
    ]
    rows.sort(key=lambda row: service_sort_value(row, spec.svc_sort, view), reverse=spec.svc_reverse)
    keys = [row.vs.id for row in rows]
    return keys, dict(zip(keys, rows))


def build_real_servers(vs: VirtualService | None, spec: ViewSpec,
                       view: RateView) -> tuple[list[str], dict[str, RsRow]]:
    if vs is None:
        return [], {}
    words = parse_filter(spec.filter)
    vs_id = vs.id
    show_all = not words or service_matches_itself(words, vs)
    rows = [RsRow(vs_id, rs) for rs in vs.real_servers if show_all or rs_matches(words, rs)]
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
