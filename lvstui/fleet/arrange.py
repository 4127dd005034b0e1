"""Which pairs the fleet screen lists, and in what order (pure: no I/O, no Textual).

The filter: every word must be found (case-insensitive, anywhere in it) in the pair's name, one of
its directors' hosts or one of its VIPs: ``web``, ``lb2``, ``192.0.2``, ``2001:db8``; ``web lb2``
is web's lb2.

The orders, cycled by ``s`` (:data:`SORTS`): the fleet file's (the default: where the operator
put each pair), problems first (what to look at, worst first: :func:`problem_rank`), by name.
Every order is stable: equal pairs keep the fleet file's order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lvstui.fleet.summary import PairRow

__all__ = ["SORTS", "SORT_LABELS", "arrange", "matches", "next_sort", "problem_rank"]

SORTS = ("file", "problems", "name")
SORT_LABELS = {"file": "fleet file order", "problems": "problems first", "name": "by name"}


def _fields(row: PairRow) -> Iterable[str]:
    yield row.name
    for d in row.directors:
        yield d.host
    yield from row.vips


def matches(row: PairRow, text: str) -> bool:
    """Every word of *text* is in the pair's name, a director's host or a VIP (case-insensitive)."""
    fields = [f.casefold() for f in _fields(row)]
    return all(any(term in f for f in fields) for term in text.casefold().split())


def problem_rank(row: PairRow) -> tuple[int, int, int]:
    """Worst first: split brain, then no director read, then a director not read (stale, unreachable
    or still connecting), then alarms, then real servers failing (neither up nor drained), then
    nothing to see; within a tier more alarms, then more failing servers, first."""
    failing = max(row.total - row.up - row.drained, 0)
    if row.split_brain:
        tier = 0
    elif row.stale == len(row.directors):
        tier = 1
    elif row.stale:
        tier = 2
    elif row.alarms:
        tier = 3
    elif failing:
        tier = 4
    else:
        tier = 5
    return tier, -len(row.alarms), -failing


def next_sort(current: str) -> str:
    return SORTS[(SORTS.index(current) + 1) % len(SORTS)] if current in SORTS else SORTS[0]


def arrange(rows: Sequence[PairRow], *, text: str = "", sort: str = "file") -> tuple[PairRow, ...]:
    """The rows the filter keeps, in the order *sort* names (rows come in the fleet file's order)."""
    if sort not in SORTS:
        raise ValueError(f"unknown fleet order {sort!r} (one of {', '.join(SORTS)})")
    kept = [r for r in rows if matches(r, text)] if text.strip() else list(rows)
    if sort == "problems":
        kept.sort(key=problem_rank)
    elif sort == "name":
        kept.sort(key=lambda r: r.name.casefold())
    return tuple(kept)
