"""The exporter's text: equal to prometheus_client's generate_latest, and to the snapshot it renders."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from lvstui.demo import DemoSource
from lvstui.exporter.collector import SnapshotCollector
from lvstui.exporter.metrics import RS_STATES
from lvstui.exporter.poll import PollLoop, PollState
from lvstui.exporter.render import render
from lvstui.model import KeepalivedHealth, KeepalivedProcessState, Snapshot, VrrpPeer
from tests.exporter.support import Clock, demo_state, parse, value

COUNTERS = (("connections", "conns"), ("incoming_packets", "inpkts"), ("outgoing_packets", "outpkts"),
            ("incoming_bytes", "inbytes"), ("outgoing_bytes", "outbytes"))


def reference(state: PollState) -> bytes:
    """What prometheus_client itself makes of the custom Collector."""
    loop = PollLoop(DemoSource())
    loop.state = state
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(loop))
    return generate_latest(registry)


@pytest.mark.parametrize("t", [0.0, 12.5, 35.0, 65.0, 119.0])
def test_fast_text_is_byte_for_byte_generate_latest(t: float) -> None:
    state = demo_state(t, polls=3)
    assert render(state) == reference(state)


def test_a_failed_poll_renders_the_same_both_ways_and_says_so() -> None:
    state = PollState(snapshot=None, polls=4, errors=2, error="netlink: EPERM", duration=0.25, success_at=1.5e9,
                      seq=4)
    text = render(state)
    assert text == reference(state)
    _, samples = parse(text)
    assert value(samples, "lvstui_up") == 0.0
    assert value(samples, "lvstui_poll_errors_total") == 2.0
    assert value(samples, "lvstui_polls_total") == 4.0
    assert value(samples, "lvstui_last_poll_success_timestamp_seconds") == 1.5e9
    assert not [k for k in samples if k[0].startswith("lvstui_real_server_")]  # no stale table as if current


@pytest.mark.parametrize("t", [10.0, 35.0, 65.0])
def test_every_service_and_real_server_equals_the_snapshot(t: float) -> None:
    state = demo_state(t)
    snap = state.snapshot
    assert snap is not None and snap.real_server_count > 40
    types, samples = parse(render(state))
    assert types["lvstui_real_server_connections"] == "counter"
    assert types["lvstui_real_server_weight"] == "gauge"
    assert value(samples, "lvstui_up") == 1.0
    rows = 0
    for vs in snap.virtual_services:
        for name, field in COUNTERS:
            assert value(samples, f"lvstui_virtual_service_{name}_total", service=vs.id) == getattr(vs.stats, field)
        for word in RS_STATES:
            assert value(samples, "lvstui_virtual_service_real_servers", service=vs.id, state=word) == sum(
                rs.state == word for rs in vs.real_servers)
        for rs in vs.real_servers:
            key = {"service": vs.id, "real_server": rs.id}
            for name, field in COUNTERS:
                assert value(samples, f"lvstui_real_server_{name}_total", **key) == getattr(rs.stats, field)
            assert value(samples, "lvstui_real_server_connections_active", **key) == rs.active_conns
            assert value(samples, "lvstui_real_server_connections_inactive", **key) == rs.inactive_conns
            assert value(samples, "lvstui_real_server_connections_persistent", **key) == rs.persistent_conns
            assert value(samples, "lvstui_real_server_weight", **key) == rs.weight
            assert [value(samples, "lvstui_real_server_state", state=w, **key) for w in RS_STATES] == [
                float(rs.state == w) for w in RS_STATES]
            assert rs.check is not None
            assert value(samples, "lvstui_real_server_check_up", checker=rs.check.checker, **key) == float(
                rs.check.alive)
            assert value(samples, "lvstui_real_server_failed_checkers", **key) == rs.check.failed_checkers
            rows += 1
    assert rows == snap.real_server_count
    series = [k for k in samples if k[0] == "lvstui_real_server_weight"]
    assert len(series) == rows  # nothing else: no per-connection or per-client series


def test_the_demo_incident_shows_as_down_then_up() -> None:
    """The demo's 10.1.0.14:80 fails its check from t=30 to t=50 s (lvstui/demo.py): the metrics follow."""
    def states(t: float) -> dict[str, float]:
        _, samples = parse(render(demo_state(t)))
        return {k[1][2][1]: v for k, v in samples.items() if k[0] == "lvstui_real_server_state"
                and dict(k[1])["real_server"] == "10.1.0.14:80"}

    assert states(35.0) == {"up": 0.0, "drained": 0.0, "down": 1.0, "inhibited": 0.0}
    assert states(55.0) == {"up": 1.0, "drained": 0.0, "down": 0.0, "inhibited": 0.0}


def _with_keepalived(snap: Snapshot, peer_vrid: int) -> Snapshot:
    health = KeepalivedHealth(
        status="degraded",
        processes=(KeepalivedProcessState("parent", 10, True), KeepalivedProcessState("vrrp", 11, True),
                   KeepalivedProcessState("checker", 12, False), KeepalivedProcessState("bfd", None, False, False)),
        errors=("log: no syslog",), state_at=datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC))
    peers = (VrrpPeer(vrid=peer_vrid, source="192.0.2.2", priority=100, interface="eth0", age=0.4),
             VrrpPeer(vrid=51, source="192.0.2.1", priority=150, local=True),
             VrrpPeer(vrid=51, source="192.0.2.9", priority=90, current=False, age=30.0))
    return dataclasses.replace(snap, keepalived=health, vrrp_peers=peers, drift=("a", "b", "c"))


@pytest.mark.parametrize(("peer_vrid", "split"), [(51, 1.0), (52, 0.0)])
def test_vrrp_keepalived_and_split_brain(peer_vrid: int, split: float) -> None:
    base = demo_state(20.0)
    assert base.snapshot is not None
    state = dataclasses.replace(base, snapshot=_with_keepalived(base.snapshot, peer_vrid))
    text = render(state)
    assert text == reference(state)
    _, samples = parse(text)
    (vi,) = state.snapshot.vrrp  # type: ignore[union-attr]
    assert value(samples, "lvstui_vrrp_state", vrrp_instance=vi.name, state=vi.state) == 1.0
    assert sum(v for k, v in samples.items() if k[0] == "lvstui_vrrp_state") == 1.0
    assert value(samples, "lvstui_vrrp_priority", vrrp_instance=vi.name) == vi.priority
    assert value(samples, "lvstui_vrrp_effective_priority", vrrp_instance=vi.name) == vi.effective_priority
    assert value(samples, "lvstui_vrrp_split_brain", vrrp_instance=vi.name) == split
    peers = {dict(k[1])["source"]: v for k, v in samples.items() if k[0] == "lvstui_vrrp_peer_priority"}
    assert peers == {"192.0.2.2": 100.0}  # neither our own adverts nor a router gone quiet
    assert value(samples, "lvstui_keepalived_up") == 0.0  # degraded: the checker died
    assert {dict(k[1])["role"]: v for k, v in samples.items() if k[0] == "lvstui_keepalived_process_up"} == {
        "parent": 1.0, "vrrp": 1.0, "checker": 0.0}  # bfd is not needed by this configuration
    assert value(samples, "lvstui_keepalived_state_timestamp_seconds") == datetime(
        2026, 1, 1, 12, 0, 5, tzinfo=UTC).timestamp()
    assert value(samples, "lvstui_keepalived_errors") == 1.0
    assert value(samples, "lvstui_drift") == 3.0


def test_without_keepalived_its_families_are_declared_without_samples() -> None:
    types, samples = parse(render(demo_state(5.0)))
    assert {"lvstui_keepalived_up", "lvstui_vrrp_split_brain", "lvstui_keepalived_state_timestamp_seconds"} <= set(
        types)
    assert not [k for k in samples if k[0].startswith("lvstui_keepalived_") or k[0] == "lvstui_vrrp_split_brain"]


def test_scaled_table_renders_equal_to_generate_latest() -> None:
    clock = Clock()
    loop = PollLoop(DemoSource.scaled(40, 7, clock=clock))
    clock.t = 33.0
    state = loop.poll_once()
    assert render(state) == reference(state)
    _, samples = parse(render(state))
    assert sum(1 for k in samples if k[0] == "lvstui_real_server_weight") == 280
