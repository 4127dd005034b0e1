"""The fleet screen's filter and orders (lvstui.fleet.arrange): which pairs, in what order."""

from __future__ import annotations

import pytest

from lvstui.fleet.arrange import SORTS, arrange, matches, next_sort, problem_rank
from lvstui.fleet.summary import DirectorState, PairRow


def pair(name: str, *statuses: str, brain: tuple[int, ...] = (), alarms: int = 0, up: int = 10,
         total: int = 10, drained: int = 0, vips: tuple[str, ...] = ()) -> PairRow:
    directors = tuple(DirectorState(f"{name}-lb{i + 1}", s) for i, s in enumerate(statuses or ("read", "read")))
    return PairRow(name, directors, vips=vips, split_brain=brain, up=up, total=total, drained=drained,
                   alarms=tuple(f"alarm {i}" for i in range(alarms)))


FLEET = (
    pair("web", vips=("192.0.2.10", "2001:db8::a")),
    pair("Mail", "read", "stale", alarms=1, vips=("192.0.2.12",)),
    pair("dns", brain=(54,), alarms=1, vips=("198.51.100.7",)),
    pair("edge", up=7, drained=1),  # two real servers failing, no alarm
    pair("api", "read", "unread", alarms=1),
    pair("vpn", "stale", "unread", alarms=2),
    pair("cdn", alarms=3),
)


def names(rows: tuple[PairRow, ...]) -> list[str]:
    return [r.name for r in rows]


def test_the_fleet_files_order_is_the_default_and_nothing_is_hidden() -> None:
    assert names(arrange(FLEET)) == ["web", "Mail", "dns", "edge", "api", "vpn", "cdn"]
    assert arrange(FLEET, text="   ") == FLEET


def test_problems_first_worst_first_then_the_files_order() -> None:
    # split brain; no director read; a director not read (more alarms first, then the file's order);
    # alarms; real servers failing; nothing to see
    assert names(arrange(FLEET, sort="problems")) == ["dns", "vpn", "Mail", "api", "cdn", "edge", "web"]
    assert problem_rank(FLEET[0]) == (5, 0, 0) and problem_rank(FLEET[3]) == (4, 0, -2)


def test_by_name_ignores_case() -> None:
    assert names(arrange(FLEET, sort="name")) == ["api", "cdn", "dns", "edge", "Mail", "vpn", "web"]


@pytest.mark.parametrize(("text", "expected"), [
    ("web", ["web"]),
    ("mail", ["Mail"]),  # case-insensitive
    ("lb2", ["web", "Mail", "dns", "edge", "api", "vpn", "cdn"]),  # a director's host
    ("dns-lb1", ["dns"]),
    ("192.0.2", ["web", "Mail"]),  # a VIP, from its start
    ("::a", ["web"]),  # an IPv6 VIP
    ("web lb2", ["web"]),  # every word must match
    ("web mail", []),
    ("nope", []),
])
def test_the_filter_matches_name_director_host_and_vip(text: str, expected: list[str]) -> None:
    assert names(arrange(FLEET, text=text)) == expected


def test_the_filter_then_the_order() -> None:
    assert names(arrange(FLEET, text="lb1", sort="problems"))[:2] == ["dns", "vpn"]
    assert not matches(FLEET[0], "master")  # a column's words are not fields


def test_s_cycles_every_order_and_an_unknown_one_is_refused() -> None:
    seen = [SORTS[0]]
    for _ in SORTS:
        seen.append(next_sort(seen[-1]))
    assert seen == ["file", "problems", "name", "file"]
    with pytest.raises(ValueError, match="unknown fleet order 'alarms'"):
        arrange(FLEET, sort="alarms")
