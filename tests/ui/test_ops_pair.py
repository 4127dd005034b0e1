"""The dashboard's durable changes made on both directors (issue 15, item 5): the confirmation
names the peer, the apply goes through lvstui.pair.both.apply_both in the worker, an unreachable
peer refuses with one line and changes nothing, "This director only" is journaled local-only.

:class:`PeerStandIn` is a test double of the SSH runner to the peer (what
:class:`lvstui.pair.both.PeerOps` drives): it parses the argv the dashboard sends with lvstui's
own CLI parser and applies it with the CLI's own code (``check_asker``, ``apply_change``: the
``--on-behalf-of`` journal record), through the real operations layer with its own director
lock, to a second in-memory demo director (the "peer"), printing what ``--print-journal-id``
prints; a refusal there is its one ``lvstui:`` line and exit 3, as the CLI's.  It never stands for this
director.  The real peer, over real SSH, is tests/lab/test_pair_ops_lab.py's.
"""

from __future__ import annotations

import dataclasses
import socket
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Checkbox

from lvstui.cli import build_parser
from lvstui.commands.ops import apply_change, build_change, check_asker
from lvstui.demo import DemoSource
from lvstui.model import PeerView
from lvstui.ops import changes as c
from lvstui.ops.changes import Refused
from lvstui.ops.engine import Operations
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.lock import DIRECTOR
from lvstui.ops.targets import parse_server_id, parse_service_id
from lvstui.pair.both import PeerLink
from lvstui.peer.source import WithPeer
from lvstui.setup.runner import RunnerError, RunResult
from lvstui.setup.ssh import SshOptions
from lvstui.ui.confirm import ConfirmScreen, Decision
from lvstui.ui.op_runner import OpRunner, make_operations
from lvstui.ui.ops_controller import OpsController
from tests.support.locks import held_by_another_operator
from tests.ui.pair_support import FixedPeer
from tests.ui.test_controllers import RecordingHost
from tests.ui.test_ops import body, journal, open_rs, press, weight
from tests.ui.ui_support import ManualClock, make_app

WEB, RS, RS2 = "tcp:192.0.2.10:80", "10.1.0.12:80", "10.1.0.11:80"


class PeerStandIn:
    """Test double: the SSH connection to the peer's lvstui, answered by a demo director's real
    operations layer (mode ``ok``), or failing as ``unreachable`` (at connect) or ``refuse``
    (exit 3, one line on stderr).  ``asked``: every argv run; ``connects``: connections tried."""

    def __init__(self, tmp: Path, clock: ManualClock, mode: str = "ok", target: str = "lb2") -> None:
        self.mode = mode
        self.target = target
        self.demo = DemoSource(seed=7, clock=clock)
        self.ops = Operations(self.demo, journal=Journal(tmp / "peer-journal.jsonl"),
                              memory=WeightMemory(tmp / "peer-weights.json"), actor="cli", keepalived=None,
                              eqt=lambda: None, settle_seconds=0.0, locks=tmp / "peer-locks")
        self.asked: list[list[str]] = []
        self.connects = 0

    def link(self) -> PeerLink:
        return PeerLink(self.target, SshOptions(), ("lvstui",), connect=lambda _target, _options: self)  # type: ignore[arg-type,return-value]

    def connect(self) -> None:
        self.connects += 1
        if self.mode == "unreachable":
            raise RunnerError("lb2: host key changed (refused; see ~/.ssh/known_hosts)")

    def close(self) -> None:
        pass

    def run(self, argv: list[str], **_: Any) -> RunResult:
        self.asked.append(list(argv))
        if self.mode == "refuse":
            return RunResult(3, b"", b"lvstui: 10.1.0.12:80 is not in tcp:192.0.2.10:80: refused\n")
        args = build_parser().parse_args(argv[1:])
        assert args.peer == "none" and args.print_journal_id  # the peer never forwards it back
        change = build_change(args)
        check_asker(args)
        try:
            outcome, _ = apply_change(self.ops, change, args, None)
        except Refused as exc:
            return RunResult(3, b"", f"lvstui: {exc}\n".encode())
        return RunResult(0, "\n".join([*outcome.plan.lines(), f"journal: {outcome.entry_id}"]).encode())

    def locked_by_another_operator(self) -> AbstractContextManager[None]:
        """The peer's director lock held by another operator (another thread: busy, as another process)."""
        return held_by_another_operator(DIRECTOR, "weight tcp:192.0.2.10:80 10.1.0.13:80", self.ops.locks)

    def entries(self) -> list[dict[str, Any]]:
        return [e for e in self.ops.journal.entries() if e["result"] != "intent"]


def pair_app(demo: DemoSource, clock: ManualClock, config: Path, peer: PeerStandIn, **view: Any):  # type: ignore[no-untyped-def]
    """The dashboard on *demo* with *peer* as the pair's other director (its reader's view: *view*)."""
    source = WithPeer(demo, FixedPeer(PeerView("lb2", reachable=True, stale=False) if not view  # type: ignore[arg-type]
                                      else PeerView("lb2", **view)))
    return make_app(source, clock, config, director=demo, peer=peer.link())


def messages(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(n.message) for n in app._notifications]


def title(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#confirm-title").render())


async def test_a_drain_is_confirmed_and_made_on_both_directors(
        demo: DemoSource, clock: ManualClock, isolated_config: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_CLIENT", "192.0.2.1 50022 22")  # what sshd sets on the peer for the stand-in
    peer = PeerStandIn(tmp_path, clock)
    app = pair_app(demo, clock, isolated_config, peer)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, RS)
        await press(app, pilot, "x")
        assert isinstance(app.screen, ConfirmScreen)
        assert f"Drain {RS} in {WEB}, on both directors (here and lb2)?" in title(app)
        assert "On both directors: the peer lb2 first, then here" in body(app)
        assert "looks unreachable" not in body(app) and peer.connects == 0  # a preview asks nothing of it
        assert not app.screen.query_one("#local-only", Checkbox).value
        await press(app, pilot, "y")
        assert weight(demo, WEB, RS) == 0 and weight(peer.demo, WEB, RS) == 0
        me = socket.gethostname()
        assert peer.asked == [["lvstui", "--peer", "none", "drain", WEB, RS, "--print-journal-id",
                               "--on-behalf-of", me]]
        [theirs] = peer.entries()
        [mine] = journal()
        assert mine["verb"] == "drain" and mine["actor"] == "tui"
        assert mine["peer"] == {"host": "lb2", "role": "asked", "result": "applied", "status": 0,
                                "entry": theirs["id"], "error": None}
        # the peer's entry names this director (and where its SSH came from), as this one names the peer
        assert theirs["peer"] == {"host": me, "role": "asking", "address": "192.0.2.1"}
        [done] = [m for m in messages(app) if "drain done" in m]
        assert done.startswith("drain done on both directors (here and lb2):")
        assert f"peer lb2: done (its journal {theirs['id']})" in done


async def test_the_peer_unreachable_refuses_with_one_line_and_changes_nothing(
        demo: DemoSource, clock: ManualClock, isolated_config: Path, tmp_path: Path) -> None:
    peer = PeerStandIn(tmp_path, clock, mode="unreachable")
    app = pair_app(demo, clock, isolated_config, peer, reachable=False, stale=True,
                   error="lb2: host key changed (refused; see ~/.ssh/known_hosts)")
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, RS)
        await press(app, pilot, "x")
        assert "the peer looks unreachable now (lb2: host key changed" in " ".join(body(app).split())
        await press(app, pilot, "y")
        assert not isinstance(app.screen, ConfirmScreen) and app.screen is app.dashboard  # still running
        assert weight(demo, WEB, RS) == 100 and weight(peer.demo, WEB, RS) == 100 and demo.writes == 0
        assert peer.connects == 1 and peer.asked == []
        [refused] = [m for m in messages(app) if "refused" in m]
        assert "\n" not in refused and "nothing was changed on either director" in refused
        assert refused.startswith("drain refused: peer lb2: host key changed") and "This director only" in refused
        [entry] = journal()
        assert entry["result"] == "refused" and entry["peer"]["result"] == "unreachable"


async def test_this_director_only_makes_it_here_and_says_local_only(
        demo: DemoSource, clock: ManualClock, isolated_config: Path, tmp_path: Path) -> None:
    peer = PeerStandIn(tmp_path, clock, mode="unreachable")
    app = pair_app(demo, clock, isolated_config, peer, reachable=False, stale=True, error="lb2: no route to host")
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, RS)
        await press(app, pilot, "x")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        screen.query_one("#local-only", Checkbox).value = True
        await pilot.pause()
        assert screen.replans == 0  # the same plan here: only what it says changes
        assert f"Drain {RS} in {WEB}, on this director only?" in title(app)
        assert "LOCAL ONLY: the peer lb2 is not changed" in body(app)
        await press(app, pilot, "y")
        assert weight(demo, WEB, RS) == 0 and weight(peer.demo, WEB, RS) == 100
        assert peer.connects == 0  # not even contacted
        [entry] = journal()
        assert entry["result"] == "applied" and entry["peer"]["result"] == "local-only"
        assert entry["peer"]["host"] == "lb2"
        assert any("LOCAL ONLY: the peer lb2 was not changed" in m for m in messages(app))


async def test_an_ipv6_peer_is_named_as_text(demo: DemoSource, clock: ManualClock, isolated_config: Path,
                                            tmp_path: Path) -> None:
    peer = PeerStandIn(tmp_path, clock, target="[2001:db8::2]:22")
    app = pair_app(demo, clock, isolated_config, peer)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, RS)
        await press(app, pilot, "x")
        assert "on both directors (here and [2001:db8::2]:22)?" in title(app)
        label = app.screen.query_one("#local-only", Checkbox).label.plain
        assert label == "This director only: do not change the peer [2001:db8::2]:22 (LOCAL ONLY)"


def controller(tmp: Path, clock: ManualClock, mode: str = "ok", *,
               readonly: bool = False) -> tuple[DemoSource, PeerStandIn, RecordingHost, OpsController]:
    demo = DemoSource(seed=7, clock=clock)
    peer = PeerStandIn(tmp, clock, mode)
    host = RecordingHost(demo.read())
    runner = OpRunner(make_operations(demo, readonly=readonly, demo=True), peer=peer.link())
    return demo, peer, host, OpsController(host, runner)


def drain(rs: str) -> c.Drain:
    return c.Drain(parse_service_id(WEB), parse_server_id(rs))


def test_a_tagged_batch_is_made_on_both_change_by_change(tmp_path: Path, clock: ManualClock) -> None:
    demo, peer, host, ops = controller(tmp_path, clock)
    ops.propose([drain(RS), drain(RS2)], "drain 2 tagged real servers", tagged=True)
    [(screen, decided)] = host.screens
    assert screen.preview.peer == "lb2" and screen.preview.peer_down is None
    decided(Decision())
    assert [a[3:6] for a in peer.asked] == [["drain", WEB, RS], ["drain", WEB, RS2]]
    assert weight(demo, WEB, RS) == weight(demo, WEB, RS2) == 0 == weight(peer.demo, WEB, RS2)
    assert ops.last_result is not None and ops.last_result.ok and ops.last_result.applied == 2
    assert peer.connects == 1  # one SSH connection for the whole batch


def test_the_peer_locked_by_another_operator_refuses_and_changes_nothing_on_either(tmp_path: Path,
                                                                                clock: ManualClock) -> None:
    demo, peer, host, ops = controller(tmp_path, clock)
    ops.propose([drain(RS), drain(RS2)], "drain 2 tagged real servers", tagged=True)
    [(_screen, decided)] = host.screens
    with peer.locked_by_another_operator():
        decided(Decision())
    assert weight(demo, WEB, RS) == weight(peer.demo, WEB, RS) == 100 and demo.writes == 0 == peer.demo.writes
    [(_severity, message)] = [t for t in host.told if t[0] == "error"]
    assert message.startswith("drain refused: peer lb2: busy: weight tcp:192.0.2.10:80 10.1.0.13:80 by "), message
    assert message.endswith(" (nothing was changed on either director)") and "\n" not in message, message
    [theirs] = peer.entries()
    assert theirs["result"] == "refused" and theirs["peer"]["role"] == "asking"
    [mine] = journal()
    assert mine["result"] == "refused" and mine["peer"]["status"] == 3


def test_the_peer_refusing_stops_the_batch_before_this_director_is_changed(tmp_path: Path,
                                                                        clock: ManualClock) -> None:
    demo, peer, host, ops = controller(tmp_path, clock, mode="refuse")
    ops.propose([drain(RS), drain(RS2)], "drain 2 tagged real servers", tagged=True)
    [(_screen, decided)] = host.screens
    decided(Decision())
    assert len(peer.asked) == 1 and weight(demo, WEB, RS) == 100 and demo.writes == 0
    [(_severity, message)] = [t for t in host.told if t[0] == "error"]
    assert message == ("drain refused: peer lb2: 10.1.0.12:80 is not in tcp:192.0.2.10:80: refused "
                       "(nothing was changed on either director)")


def test_settings_of_the_whole_table_and_readonly_never_reach_the_peer(tmp_path: Path,
                                                                      clock: ManualClock) -> None:
    _demo, peer, host, ops = controller(tmp_path, clock)
    assert ops.runner is not None and ops.runner.paired([c.SetExpireQuiescent(1)]) is None
    _demo, peer, host, ops = controller(tmp_path, clock, readonly=True)
    ops.propose([drain(RS)], "drain")
    [(screen, _)] = host.screens
    assert screen.refusal and "read-only" in (screen.preview.error or "")
    assert peer.connects == 0


def test_the_confirmation_says_the_peer_looks_down_only_once_its_reader_has_tried(tmp_path: Path,
                                                                              clock: ManualClock) -> None:
    _demo, _peer, host, ops = controller(tmp_path, clock)
    views = [PeerView("lb2", reachable=False, error="not read yet", connecting=True),
             PeerView("lb2", reachable=False, error="lb2:22: no route to host")]
    shown = []
    for view in views:
        assert host.snapshot is not None
        host.snapshot = dataclasses.replace(host.snapshot, peer=view)
        host.screens.clear()
        ops.propose([drain(RS)], "drain")
        [(screen, _)] = host.screens
        shown.append(screen.preview.peer_down)
    assert shown == [None, "lb2:22: no route to host"]
