"""The one-line titles above the dashboard's tables (plain text: ids and filters are never markup)."""

from __future__ import annotations

from lvstui.ui.columns import ServiceRow
from lvstui.ui.filtering import filter_problem

__all__ = ["FOCUS_MARK", "rs_title", "services_title"]

#: before the title of the table the keys act on
FOCUS_MARK = {True: "▶ ", False: "  "}


def services_title(shown: int, total: int, error: str | None, filter_text: str, rates_label: str) -> str:
    parts = [f"Virtual services {shown}" + (f" of {total}" if shown != total else "")]
    if error is not None:
        parts.insert(0, f"⚠ last poll failed: {error} · showing the last good data")
    if filter_text:
        problem = filter_problem(filter_text)
        parts.append(f"filter “{filter_text}”" + (f" ({problem})" if problem else ""))
    parts.append(rates_label)
    return " · ".join(parts)


def rs_title(row: ServiceRow | None, notes: str, gone: int = 0) -> str:
    """``notes``: what the operator acts on first (a drained server's falling counts, tags);
    ``gone``: its real servers that left IPVS, still listed (and counted) until acknowledged."""
    if row is None:
        return "Real servers"
    vs = row.vs
    persistent = f" persistent {vs.persistence_timeout}s" if vs.persistent else ""
    gone_text = f", {gone} gone" if gone else ""
    return f"Real servers of {vs.id}{notes} · {vs.scheduler}{persistent} · {row.up}/{row.total + gone} up{gone_text}"
