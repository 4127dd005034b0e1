"""The filter gives what an operator means (issue 18, item 4): Pilot tests typing into ``/`` on the demo.

The demo (lvstui/demo.py) at t=35: web (80) and tls (443) are wlc with DR servers, dns (udp 53) rr with
NAT, v6 sh with DR, fwmark 42 wrr with TUN, db (3306) lc with NAT servers, one drained (10.3.0.13).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lvstui.demo import DemoSource
from lvstui.ui.help import HelpScreen
from tests.ui.ui_support import ManualClock, feed, make_app

WEB, TLS, DNS, DB = "tcp:192.0.2.10:80", "tcp:192.0.2.10:443", "udp:192.0.2.53:53", "tcp:198.51.100.20:3306"
V6, MARK = "tcp:[2001:db8::10]:80", "fwmark:42"
DB_SERVERS = ["10.3.0.11:3306", "10.3.0.12:3306", "10.3.0.13:3306"]

CASES = [
    # typed: (services listed, real servers of the first one listed; None: all of them)
    ("fwd:NAT", [DNS, DB], ["10.2.0.11:53", "10.2.0.12:53", "10.2.0.13:53", "10.2.0.14:53"]),
    ("state:drained", [DB], ["10.3.0.13:3306"]),
    ("state:up lc", [DB], ["10.3.0.11:3306", "10.3.0.12:3306"]),  # the lc service, its up servers
    ("DR", [WEB, TLS, V6], None),  # the forwarding method, not "drained"
    ("nat", [DNS, DB], None),  # found through the real servers' Fwd column
    ("lc", [DB], DB_SERVERS),  # a whole scheduler name, not "wlc"
    ("state:down", [WEB], ["10.1.0.14:80"]),
    ("proto:udp", [DNS], None),
    ("sched:wrr", [MARK], None),
    ("port:3306", [DB], DB_SERVERS),
    ("addr:10.1.0.14", [WEB, TLS], ["10.1.0.14:80"]),
    ("10.1", [WEB, TLS], None),  # an address from its start, up to a dot
    ("flag:persistent", [TLS, MARK], None),
    ("2001:db8", [V6], None),
    ("tcp:192.0.2.10:80", [WEB], None),
    ("nat drained", [DB], ["10.3.0.13:3306"]),
]


@pytest.mark.parametrize(("typed", "services", "servers"), CASES, ids=[c[0] for c in CASES])
async def test_typed_filters_list_what_an_operator_means(typed: str, services: list[str],
                                                         servers: list[str] | None, demo: DemoSource,
                                                         clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(160, 45)) as pilot:
        feed(app, clock, 35)  # t=35: 10.1.0.14 is DOWN
        await pilot.pause()
        await pilot.press("slash", *typed, "enter")
        await pilot.pause()
        dashboard = app.dashboard
        assert dashboard.spec.filter == typed
        assert list(dashboard.services.keys) == services
        shown = list(dashboard.real_servers.keys)
        if servers is None:
            vs = dashboard.frame.snapshot.service(services[0])
            assert shown == [rs.id for rs in vs.real_servers]
        else:
            assert shown == servers


@pytest.mark.parametrize("typed", ["DR", "dr", "fwd:dr"])
async def test_dr_never_matches_drained(typed: str, demo: DemoSource, clock: ManualClock,
                                        isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(160, 45)) as pilot:
        feed(app, clock, 35)
        await pilot.press("slash", *typed, "enter")
        await pilot.pause()
        assert DB not in app.dashboard.services.keys and DNS not in app.dashboard.services.keys


async def test_filter_syntax_is_in_help(demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(app.screen.query_one("#help-text").render()).split())
        for prefix in ("fwd:", "state:", "proto:", "sched:", "addr:", "port:", "flag:"):
            assert prefix in text
        assert "state:up lc" in text and "whole field" in text


async def test_a_value_that_cannot_match_says_so_in_one_line(demo: DemoSource, clock: ManualClock,
                                                             isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(200, 45)) as pilot:
        feed(app, clock, 35)
        await pilot.press("slash", *"state:drianed", "enter")
        await pilot.pause()
        title = str(app.query_one("#services-title").render())
        assert "state:drianed matches nothing: up, drained, down, inhibited or gone" in title, title
        assert list(app.dashboard.services.keys) == []
        app.dashboard.set_filter("fwd:masq")  # ipvsadm's name for NAT: known, so no complaint
        await pilot.pause()
        assert "matches nothing" not in str(app.query_one("#services-title").render())
        assert list(app.dashboard.services.keys) == [DNS, DB]
