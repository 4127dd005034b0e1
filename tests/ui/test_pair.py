"""The pair on the dashboard (issue 15, items 1-3): the peer's panel, the pair screen (b), split
brain in the header, the offer of a peer in sight, and ``--peer`` wrapping the source.

The sources are tests/ui/pair_support.py's deterministic pair, through the real WithPeer.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from lvstui.model import VrrpPeer
from lvstui.ui.pair import PairPanel, PairScreen
from tests.ui.pair_support import FixedDirector, FixedPeer, here, pair_source, vi
from tests.ui.ui_support import ManualClock, feed, make_app


def text(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(app.query_one(selector).render())


async def test_the_panel_shows_the_peer_vrrp_on_both_and_the_differences(clock: ManualClock,
                                                                          isolated_config: Path) -> None:
    app = make_app(pair_source(clock), clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        panel = app.query_one(PairPanel)
        assert panel.display
        lines = str(panel.render()).splitlines()
        assert lines[0].startswith("Peer lb2 · lvstui · read 0.4s ago · 3 differences (b)")
        assert lines[1] == "VI_1 #51  here MASTER 150  lb2 BACKUP 100  192.168.1.100 on here"
        assert "SPLIT BRAIN" not in text(app, "HeaderBar")


async def test_b_lists_every_difference_and_esc_closes(clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(pair_source(clock), clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 2)
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, PairScreen)
        shown = str(app.screen.query_one("#pair-text").render())
        assert "Differences between the two tables (3)" in shown
        listed = shown.split("Differences between the two tables (3)\n")[1].splitlines()
        assert [line.split() for line in listed] == [
            ["tcp:192.168.1.100:80"],
            ["192.168.2.12:80", "weight", "here", "10", "peer", "0"],
            ["192.168.2.13:80", "server-peer-only", "here", "-", "peer", "weight", "10"],
            ["udp:192.168.1.100:53"],
            ["service", "scheduler", "here", "rr", "peer", "wrr"],
        ]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.dashboard


async def test_two_masters_are_split_brain_in_the_header_and_a_banner(clock: ManualClock,
                                                                     isolated_config: Path) -> None:
    app = make_app(pair_source(clock, theirs=vi("MASTER", 100)), clock, isolated_config)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(app, clock, 1)
        await pilot.pause()
        assert "SPLIT BRAIN VRID 51" in text(app, "HeaderBar")
        lines = str(app.query_one(PairPanel).render()).splitlines()
        assert lines[0].strip() == "SPLIT BRAIN VRID 51 (VI_1): MASTER on here and lb2 (both directors' state)"
        assert lines[2].endswith("on BOTH")


async def test_split_brain_from_the_adverts_without_a_peer(clock: ManualClock, isolated_config: Path) -> None:
    advert = VrrpPeer(vrid=51, source="192.168.1.12", priority=100)
    app = make_app(FixedDirector(here(vi("MASTER", 150), peers=(advert,)), clock), clock, isolated_config)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(app, clock, 1)
        await pilot.pause()
        assert "SPLIT BRAIN VRID 51" in text(app, "HeaderBar")
        lines = str(app.query_one(PairPanel).render()).splitlines()
        assert "VRID 51 (VI_1): MASTER on here and 192.168.1.12 (adverts heard here)" in lines[0]
        assert "lvstui --peer 192.168.1.12" in lines[1]


@pytest.mark.parametrize(("peers", "unicast", "hint"), [
    ((VrrpPeer(vrid=51, source="192.168.1.12", priority=150),), (),
     "peer not set: 192.168.1.12 advertises VRID 51 (lvstui --peer 192.168.1.12)"),
    ((), ("10.9.0.2",), "peer not set: keepalived's unicast_peer 10.9.0.2 (lvstui --peer 10.9.0.2)"),
    # another pair's VRID, our own adverts, a router gone quiet: nothing to offer
    ((VrrpPeer(vrid=52, source="192.168.1.20", priority=100),
      VrrpPeer(vrid=51, source="192.168.1.11", priority=150, local=True),
      VrrpPeer(vrid=51, source="192.168.1.13", priority=150, current=False)), (), None),
])
async def test_a_peer_in_sight_is_offered(peers: tuple[VrrpPeer, ...], unicast: tuple[str, ...],
                                          hint: str | None, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(FixedDirector(here(vi("BACKUP", 100), peers=peers, unicast=unicast), clock), clock,
                   isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 1)
        await pilot.pause()
        panel = app.query_one(PairPanel)
        assert panel.display == (hint is not None)
        if hint is not None:
            assert str(panel.render()) == hint
        assert "SPLIT BRAIN" not in text(app, "HeaderBar")


async def test_an_unreachable_peer_is_one_line_stale_with_its_age_and_error(clock: ManualClock,
                                                                           isolated_config: Path) -> None:
    source = pair_source(clock, stale=True, age=42.0, error="lb2:22: connection refused")
    app = make_app(source, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 1)
        await pilot.pause()
        lines = str(app.query_one(PairPanel).render()).splitlines()
        assert lines[0] == ("Peer lb2 · lvstui ·  STALE  42s old · 3 differences (b) · "
                            "lb2:22: connection refused")
        await pilot.resize_terminal(60, 24)
        await pilot.pause()
        narrow = str(app.query_one(PairPanel).render()).splitlines()
        assert narrow[0] == "Peer lb2 ·  STALE  42s old · 3 differences (b) · lb2:22: …"  # one line, 58 cells
        # a stale peer's state says nothing about now: its VIPs are not given to anybody
        assert lines[1].endswith("on here")
        await pilot.press("b")
        await pilot.pause()
        assert "from the peer's last snapshot (stale)" in str(app.screen.query_one("#pair-text").render())


async def test_the_demo_has_no_pair_panel(demo, clock: ManualClock, isolated_config: Path) -> None:  # type: ignore[no-untyped-def]
    from lvstui.commands.dashboard import DEMO_PEER

    app = make_app(demo, clock, isolated_config, notices=(DEMO_PEER,))  # as `lvstui --demo --peer lb2` starts it
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 3)
        await pilot.pause()
        assert not app.query_one(PairPanel).display
        assert [str(n.message) for n in app._notifications] == [DEMO_PEER]
        await pilot.press("b")
        await pilot.pause()
        assert "no peer set: start with lvstui --peer" in str(app.screen.query_one("#pair-text").render())


def test_peer_wraps_the_dashboards_source_and_the_demo_says_it_is_not_read(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], demo) -> None:  # type: ignore[no-untyped-def]
    from lvstui.commands import dashboard, peer_args
    from lvstui.peer.source import WithPeer

    started: list[tuple[str, float]] = []

    def fake_start(peer: peer_args.PeerTarget, interval: float) -> FixedPeer:
        started.append((peer.target, interval))
        return FixedPeer(None)  # type: ignore[arg-type]

    monkeypatch.setattr(peer_args, "start_reader", fake_start)
    local = FixedDirector(here(vi("MASTER", 150)), lambda: 0.0)
    args = argparse.Namespace(peer="root@lb2:2222")
    wrapped = dashboard.with_peer(args, local, 2.0)
    assert isinstance(wrapped, WithPeer) and wrapped.local is local and started == [("root@lb2:2222", 2.0)]
    assert dashboard.with_peer(argparse.Namespace(peer="none"), local, 2.0) is local
    assert dashboard.with_peer(args, demo, 2.0) is demo and len(started) == 1
    assert "--peer is not read in --demo" in capsys.readouterr().err


def test_a_malformed_peer_is_one_line_and_the_source_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    from lvstui.commands import dashboard
    from lvstui.commands.errors import CliError

    closed: list[bool] = []
    local = FixedDirector(here(vi("MASTER", 150)), lambda: 0.0)
    monkeypatch.setattr(local, "close", lambda: closed.append(True))
    with pytest.raises(CliError) as raised:
        dashboard.with_peer(argparse.Namespace(peer="lb2:notaport", peer_command="lvstui", peer_identity="k"),
                            local, 1.0)
    assert raised.value.status == 2 and "lb2:notaport" in str(raised.value) and "\n" not in str(raised.value)
    assert closed == [True]


def test_who_holds_the_vips_and_a_peer_read_with_ipvsadm() -> None:
    from dataclasses import replace

    from lvstui.peer.source import WithPeer
    from lvstui.ui.pair import pair_lines
    from tests.ui.pair_support import peer_view

    def lines(mine, view):  # type: ignore[no-untyped-def]
        return [str(c) for c in pair_lines(WithPeer(FixedDirector(here(mine), lambda: 0.0), FixedPeer(view)).read())]

    # both BACKUP: nobody holds the VIP
    assert lines(vi("BACKUP", 100), peer_view(vi("BACKUP", 90)))[1].endswith("192.168.1.100 on nobody")
    # the peer MASTER: it holds the VIP
    assert lines(vi("BACKUP", 100), peer_view(vi("MASTER", 150)))[1].endswith("192.168.1.100 on lb2")
    # read with ipvsadm -S -n: no VRRP there, its state unknown, and said so
    ipvsadm = replace(peer_view(), via="ipvsadm")
    shown = lines(vi("BACKUP", 100), ipvsadm)
    assert shown[0].startswith("Peer lb2 · ipvsadm (no VRRP) · read 0.4s ago · 3 differences (b)")
    assert shown[1] == "VI_1 #51  here BACKUP 100  lb2 -  192.168.1.100 on not here (peer unknown)"


def test_a_peer_never_read_says_connecting_then_not_read_with_the_error() -> None:
    from lvstui.model import PeerView
    from lvstui.peer.source import WithPeer
    from lvstui.ui.pair import pair_lines

    def first(view: PeerView) -> str:
        return str(pair_lines(WithPeer(FixedDirector(here(vi("MASTER", 150)), lambda: 0.0),
                                       FixedPeer(view)).read())[0])  # type: ignore[arg-type]

    assert first(PeerView(host="lb2", reachable=False, error="not read yet", connecting=True)) == \
        "Peer lb2 · connecting…"
    assert first(PeerView(host="lb2", reachable=False, error="lb2:22: no route to host")) == \
        "Peer lb2 ·  NOT READ  · lb2:22: no route to host"
