"""The operations and VRRP controllers against the narrow host protocol alone (no app, no screen).

:class:`RecordingHost` is a test fixture implementing :class:`lvstui.ui.host.DashboardHost`:
it records notifications and pushed screens, and runs "thread" work inline.  The operations
layer is the real one on the demo director.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lvstui.demo import DemoSource
from lvstui.model import Snapshot
from lvstui.ops import changes as c
from lvstui.ops.targets import parse_server_id, parse_service_id
from lvstui.ui.columns import RsRow
from lvstui.ui.confirm import ConfirmScreen, Decision
from lvstui.ui.host import OPS_APPLY, OPS_PREVIEW, VRRP, DashboardHost
from lvstui.ui.op_runner import OpRunner, make_operations
from lvstui.ui.ops_controller import OpsController
from lvstui.ui.vrrp_controller import VrrpController
from tests.ui.ui_support import ManualClock

WEB, RS = "tcp:192.0.2.10:80", "10.1.0.12:80"


class RecordingHost:
    def __init__(self, snapshot: Snapshot | None) -> None:
        self.snapshot = snapshot
        self.told: list[tuple[str, str]] = []  # (severity, message)
        self.screens: list[tuple[Any, Callable[[Any], None] | None]] = []
        self.started: list[str] = []  # worker groups started
        self.busy_groups: set[str] = set()
        self.changes = 0

    def tell(self, message: str, *, title: str = "", severity: str = "information",
             timeout: float | None = None) -> None:
        self.told.append((severity, message))

    def open_screen(self, screen: Any, callback: Callable[[Any], None] | None = None) -> None:
        self.screens.append((screen, callback))

    def current_snapshot(self) -> Snapshot | None:
        return self.snapshot

    def start_thread(self, work: Callable[[], None], *, name: str, group: str) -> None:
        self.started.append(group)
        work()

    def busy(self, group: str) -> bool:
        return group in self.busy_groups

    def from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        callback(*args)

    def changed(self) -> None:
        self.changes += 1


def setup(clock: ManualClock) -> tuple[DemoSource, RecordingHost, OpsController, RsRow]:
    demo = DemoSource(seed=7, clock=clock)
    snap = demo.read()
    host = RecordingHost(snap)
    _typed: DashboardHost = host  # the fixture satisfies the protocol (checked by mypy)
    ops = OpsController(host, OpRunner(make_operations(demo, readonly=False, demo=True)))
    vs = snap.service(WEB)
    assert vs is not None
    rs = vs.real_server(RS)
    assert rs is not None
    return demo, host, ops, RsRow(WEB, rs)


def test_preview_confirm_apply_through_the_protocol(clock: ManualClock) -> None:
    demo, host, ops, row = setup(clock)
    ops.drain(row)
    assert host.started == [OPS_PREVIEW]
    [(screen, callback)] = host.screens
    assert isinstance(screen, ConfirmScreen) and callback is not None
    assert demo.writes == 0  # nothing before "yes"
    callback(Decision(force=False, runtime_only=False))
    assert host.started == [OPS_PREVIEW, OPS_APPLY] and demo.writes == 1 and host.changes == 1
    assert ops.last_result is not None and ops.last_result.ok
    assert any("drain done" in m for _, m in host.told)


def test_busy_groups_guard_the_director(clock: ManualClock) -> None:
    demo, host, ops, row = setup(clock)
    assert demo.writes == 0
    host.busy_groups = {OPS_PREVIEW}
    ops.drain(row)  # a key pressed twice while the preview runs: one confirmation
    assert host.started == [] and host.screens == [] and host.told == []
    host.busy_groups = {OPS_APPLY}
    ops.drain(row)  # one director call at a time: said, not queued
    assert host.started == [] and host.screens == []
    assert host.told == [("warning", "an operation is still being applied: wait for its result")]
    host.busy_groups = set()
    ops.drain(row)
    assert host.started == [OPS_PREVIEW] and len(host.screens) == 1 and demo.writes == 0


def test_no_director_no_operations(clock: ManualClock) -> None:
    _demo, host, _ops, row = setup(clock)
    ops = OpsController(host, None)
    ops.drain(row)
    assert host.started == []
    assert host.told == [("error", "this source cannot be changed (no director to write to)")]


def test_tags_and_targets(clock: ManualClock) -> None:
    _demo, _host, ops, row = setup(clock)
    assert ops.targets(row) == [(WEB, RS)] and ops.targets(None) == []
    assert ops.targets(RsRow(row.vs_id, row.rs, gone=True)) == []
    assert ops.toggle_tag(row) and ops.tags == {(WEB, RS)} and ops.tags_note() == " · 1 tagged (Esc clears)"
    assert ops.targets(None) == [(WEB, RS)]  # tagged ones, wherever the cursor is
    assert ops.clear_tags() and not ops.clear_tags()
    change = c.Drain(parse_service_id(WEB), parse_server_id(RS))
    assert change.server.id == RS


def test_vrrp_refusals_and_busy(clock: ManualClock) -> None:
    host = RecordingHost(None)
    VrrpController(host, readonly=True, available=True).toggle("demote")
    assert host.told == [("error", "--readonly: VRRP demote refused")] and host.started == []
    host.told.clear()
    VrrpController(host, readonly=False, available=False).toggle("promote")
    assert host.started == [] and "this source has no keepalived" in host.told[0][1]
    host.told.clear()
    host.busy_groups = {VRRP}
    VrrpController(host, readonly=False, available=True).toggle("demote")
    assert host.started == []
    assert host.told == [("warning", "a VRRP demote/promote is under way: wait for its result")]


# --- drains in progress, judged by the connection table (captured in the lab) -------------

def _table_drain(persistent: bool, *, pins: bool = True) -> tuple[RecordingHost, OpsController, Snapshot]:
    import functools
    from datetime import UTC, datetime

    from lvstui.backend.traffic import read_servers_traffic
    from lvstui.model import RealServer, VirtualService

    capture = str(Path(__file__).parents[1] / "data" / "ip_vs_conn_lab.txt")
    web = VirtualService("tcp", "inet", "192.168.1.100", 80, flags=("persistent",) if persistent else (),
                         persistence_timeout=300 if persistent else 0,
                         real_servers=(RealServer("192.168.1.22", 80, weight=0, inactive_conns=2),))
    hold = VirtualService("tcp", "inet", "192.168.1.100", 9100,
                          real_servers=(RealServer("192.168.1.250", 9100, weight=0, active_conns=3,
                                                   inactive_conns=4),))
    snap = Snapshot(director="lb1", taken_at=datetime(2026, 12, 2, tzinfo=UTC), virtual_services=(web, hold))
    host = RecordingHost(snap)
    ops = OpsController(host, None, read_traffic=functools.partial(read_servers_traffic, path=capture),
                        pinning_sysctl=lambda: pins)
    ops._track_drains([c.Drain(parse_service_id(web.id), parse_server_id("192.168.1.22:80")),
                       c.Drain(parse_service_id(hold.id), parse_server_id("192.168.1.250:9100"))], snap)
    return host, ops, snap


def test_a_drain_is_done_when_nothing_flows_although_closed_entries_remain() -> None:
    """The counts (2 inactive: FIN_WAIT) kept a finished drain in progress for two minutes."""
    host, ops, snap = _table_drain(persistent=False)
    ops.watch_drains(snap)  # reads the table (in a thread: inline here)
    assert host.started == ["drain-traffic"] and host.told == []
    web, hold = snap.virtual_services
    note = ops.drain_note(RsRow(hold.id, hold.real_servers[0]))
    assert "192.168.1.250:9100 drained: 3 carrying traffic, 4 closed (waiting out their timers)" in note
    assert "done" not in note  # SYN_RECV: a TCP connection still opening, no ETA
    assert "0 carrying traffic, 2 closed" in ops.drain_note(RsRow(web.id, web.real_servers[0]))
    ops.watch_drains(snap)
    [(_, message)] = host.told
    assert message.startswith("192.168.1.22:80 in tcp:192.168.1.100:80 is drained: no connection carries "
                              "traffic (2 closed entries wait out their timers")
    assert ops.drain_note(RsRow(hold.id, hold.real_servers[0])).count("carrying traffic") == 1


def test_templates_that_still_pin_clients_keep_the_drain_open() -> None:
    host, ops, snap = _table_drain(persistent=True, pins=True)
    ops.watch_drains(snap)
    ops.watch_drains(snap)
    assert host.told == []  # the template would send its client back
    web = snap.virtual_services[0]
    note = ops.drain_note(RsRow(web.id, web.real_servers[0]))
    assert "1 clients pinned by persistence (still sent here: lvstui expire-quiescent on)" in note
    assert "done in about 04:57" in note
    host, ops, snap = _table_drain(persistent=True, pins=False)  # expire_quiescent_template = 1
    ops.watch_drains(snap)
    ops.watch_drains(snap)
    assert [m for _, m in host.told] and "1 persistence templates remain until they expire" in host.told[0][1]


# --- real servers drained elsewhere (another lvstui, an operator, ipvsadm) ------------------

def test_a_server_drained_elsewhere_is_judged_by_the_table_until_done(tmp_path: Any) -> None:
    """No drain of ours: the weight-0 servers of the snapshot are watched alike, the table read for them
    only until each is judged done, and a drain seen in progress is notified when it ends."""
    from lvstui.backend.traffic import read_servers_traffic
    from lvstui.ui.health import count_states

    host, _, snap = _table_drain(persistent=False)
    capture = [str(Path(__file__).parents[1] / "data" / "ip_vs_conn_lab.txt")]
    read: list[list[tuple[str, str]]] = []

    def reader(services: Any, keys: list[tuple[str, str]]) -> Any:
        read.append(keys)
        return read_servers_traffic(services, keys, path=capture[0])

    ops = OpsController(host, None, read_traffic=reader, pinning_sysctl=lambda: True)
    web, hold = snap.virtual_services
    drained = count_states(snap).drained_keys
    assert drained == {(web.id, "192.168.1.22:80"), (hold.id, "192.168.1.250:9100")}
    ops.watch_drains(snap, drained)
    assert read == [sorted(drained)]
    note = ops.drain_note(RsRow(hold.id, hold.real_servers[0]))
    assert "192.168.1.250:9100 drained: 3 carrying traffic, 4 closed (waiting out their timers)" in note
    assert "0 carrying traffic, 2 closed" in ops.drain_note(RsRow(web.id, web.real_servers[0]))
    ops.watch_drains(snap, drained)
    assert host.told == []  # web was done when first seen: nothing ended while we watched
    assert read[-1] == [(hold.id, "192.168.1.250:9100")]  # settled: not read again
    empty = tmp_path / "ip_vs_conn"
    empty.write_text("Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n")
    capture[0] = str(empty)  # hold's client closed everything
    ops.watch_drains(snap, drained)
    ops.watch_drains(snap, drained)
    [(_, message)] = host.told
    assert message.startswith("192.168.1.250:9100 in tcp:192.168.1.100:9100 is drained: no connection carries")
    reads = len(read)
    ops.watch_drains(snap, drained)
    assert len(read) == reads  # every drain judged done: the table is left alone
    ops.watch_drains(snap, drained - {(web.id, "192.168.1.22:80")})  # restored (weight back above 0) ...
    ops.watch_drains(snap, drained)  # ... and drained again: watched again
    assert read[-1] == [(web.id, "192.168.1.22:80")]


def test_the_remedy_for_pinned_clients_applies_to_a_drained_persistent_server_at_0() -> None:
    host, ops, snap = _table_drain(persistent=True)
    web, hold = snap.virtual_services
    row = RsRow(web.id, web.real_servers[0])
    ops.watch_drains(snap, eqt=None)
    assert not ops.pins_drained(row)  # unknown sysctl: nothing to offer
    ops.pin_remedy = "press P"
    ops.watch_drains(snap, eqt=0)
    assert ops.pins_drained(row) and not ops.pins_drained(RsRow(hold.id, hold.real_servers[0]))
    assert "clients pinned by persistence (still sent here: press P)" in ops.drain_note(row)
    ops.watch_drains(snap, eqt=1)
    assert not ops.pins_drained(row)
    ops.expire_quiescent(row)  # not offered: nothing proposed
    assert host.screens == [] and "preview" not in host.started


def test_without_a_way_to_the_peer_the_confirmation_names_none(clock: ManualClock) -> None:
    """A peer on screen but no PeerLink given to the runner (an embedding of the dashboard): the
    change is made here as ever; with one, tests/ui/test_ops_pair.py."""
    from lvstui.model import PeerView

    _demo, host, ops, row = setup(clock)
    assert host.snapshot is not None
    host.snapshot = dataclasses.replace(host.snapshot, peer=PeerView("lb2", reachable=True, stale=False))
    ops.drain(row)
    [(screen, _)] = host.screens
    assert screen.preview.peer is None
