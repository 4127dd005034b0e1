"""Differences between the two directors' tables, and split brain, on model values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lvstui.keepalived.loader import load
from lvstui.keepalived.state import configured_services
from lvstui.keepalived.view import build_view
from lvstui.model import (
    ConfiguredServer,
    ConfiguredService,
    Forward,
    PeerView,
    RealServer,
    Snapshot,
    SplitBrain,
    VirtualService,
    VrrpInstance,
    VrrpPeer,
)
from lvstui.peer.compare import config_differences, differences, split_brain

T = datetime(2026, 12, 2, tzinfo=UTC)
RS1 = RealServer("192.168.1.21", 80, weight=5)
RS2 = RealServer("192.168.1.22", 80, weight=5)
WEB = VirtualService("tcp", "inet", "192.168.1.100", 80, scheduler="wrr", real_servers=(RS1, RS2))
DNS = VirtualService("udp", "inet", "192.168.1.100", 53, scheduler="rr", real_servers=(RS1,))


def snap(*services: VirtualService, vrrp: tuple[VrrpInstance, ...] = (),
         peers: tuple[VrrpPeer, ...] = ()) -> Snapshot:
    return Snapshot("d", T, virtual_services=services, vrrp=vrrp, vrrp_peers=peers)


def kinds(here: Snapshot, peer: Snapshot, **kw: bool) -> list[tuple[str, tuple[str, ...], str, str]]:
    return [(d.kind, d.ids, d.here, d.peer) for d in differences(here, peer, **kw)]


def test_the_same_table_has_no_differences_whatever_the_counters() -> None:
    busy = replace(WEB, real_servers=(replace(RS1, active_conns=900), RS2))
    assert differences(snap(WEB, DNS), snap(busy, DNS)) == ()


def test_services_and_servers_on_one_director_only() -> None:
    got = kinds(snap(WEB, DNS), snap(replace(WEB, real_servers=(RS1, RealServer("192.168.1.23", 80)))))
    assert got == [("server-here-only", (WEB.id, RS2.id), "weight 5", ""),
                   ("server-peer-only", (WEB.id, "192.168.1.23:80"), "", "weight 1"),
                   ("service-here-only", (DNS.id,), "rr", "")]
    assert kinds(snap(), snap(DNS)) == [("service-peer-only", (DNS.id,), "", "rr")]


def test_weight_forward_thresholds_scheduler_flags_persistence() -> None:
    peer = replace(WEB, scheduler="wlc", flags=("persistent",), persistence_timeout=300,
                   real_servers=(replace(RS1, weight=0, forward=Forward.NAT, upper_threshold=10), RS2))
    got = kinds(snap(WEB), snap(peer))
    assert got == [("scheduler", (WEB.id,), "wrr", "wlc"), ("flags", (WEB.id,), "none", "persistent"),
                   ("persistence", (WEB.id,), "off", "300 s, netmask 255.255.255.255"),
                   ("weight", (WEB.id, RS1.id), "5", "0"), ("forward", (WEB.id, RS1.id), "DR", "NAT"),
                   ("thresholds", (WEB.id, RS1.id), "upper 0, lower 0", "upper 10, lower 0")]
    # a peer read with ipvsadm -S -n has no thresholds: not compared then
    assert "thresholds" not in [k for k, *_ in kinds(snap(WEB), snap(peer), thresholds=False)]


VI = VrrpInstance("VI_1", "MASTER", 150, 150, virtual_router_id=51)


def peer_view(*vrrp: VrrpInstance, stale: bool = False) -> PeerView:
    return PeerView("lb2", reachable=not stale, snapshot=snap(vrrp=vrrp), stale=stale, via="lvstui")


def test_split_brain_from_both_directors_state() -> None:
    found = split_brain(snap(vrrp=(VI,)), peer_view(replace(VI, name="VI_lb2", priority=100)))
    assert [(b.vrid, b.instances, b.masters, b.seen_by) for b in found] == [(51, ("VI_1", "VI_lb2"), ("here", "lb2"),
                                                                             "state")]
    assert split_brain(snap(vrrp=(VI,)), peer_view(replace(VI, state="BACKUP"))) == ()
    # a stale peer snapshot says nothing about now
    assert split_brain(snap(vrrp=(VI,)), peer_view(VI, stale=True)) == ()


def test_split_brain_from_the_adverts_heard_here() -> None:
    mine = VrrpPeer(51, "192.168.1.11", 150, local=True)
    other = VrrpPeer(51, "192.168.1.12", 100)
    assert split_brain(snap(vrrp=(VI,), peers=(mine, other)))[0].masters == ("here", "192.168.1.12")
    assert split_brain(snap(vrrp=(VI,), peers=(mine, replace(other, current=False)))) == ()
    # a BACKUP here hearing one master: normal; hearing two: split brain between them
    backup = replace(VI, state="BACKUP")
    assert split_brain(snap(vrrp=(backup,), peers=(other,))) == ()
    two = split_brain(snap(vrrp=(backup,), peers=(other, replace(other, source="192.168.1.13"))))
    assert [(b.masters, b.seen_by) for b in two] == [(("192.168.1.12", "192.168.1.13"), "adverts")]


def test_connection_sync_compares_the_backups_counts_with_the_masters() -> None:
    from lvstui.model import SyncDaemon
    from lvstui.peer.compare import sync_check

    busy = replace(WEB, real_servers=(replace(RS1, active_conns=8, inactive_conns=2), RS2))
    synced = replace(WEB, real_servers=(replace(RS1, inactive_conns=7), RS2))
    master, backup = SyncDaemon("master", "eth0", 7), SyncDaemon("backup", "eth0", 7)

    def check(here: Snapshot, peer: Snapshot, via: str = "lvstui"):  # type: ignore[no-untyped-def]
        return sync_check(here, PeerView("lb2", True, snapshot=peer, stale=False, via=via))

    got = check(replace(snap(busy), sync_daemons=(master,)), replace(snap(synced), sync_daemons=(backup,)))
    assert (got.verdict, got.master) == ("syncing", "here")
    assert got.detail == "the backup on lb2 holds 7 of the 10 connections on here (70%; syncid 7)"
    assert [(s.service, s.master, s.backup) for s in got.services] == [(WEB.id, 10, 7)]
    # the backup holds little: not syncing; the same daemons seen from the other director
    got = check(replace(snap(WEB), sync_daemons=(backup,)), replace(snap(busy), sync_daemons=(master,)))
    assert (got.verdict, got.master) == ("not-syncing", "lb2")
    assert check(snap(busy), snap(WEB)).verdict == "off"
    assert check(replace(snap(busy), sync_daemons=(master,)), snap(WEB)).verdict == "one-sided"
    mismatch = check(replace(snap(busy), sync_daemons=(master,)),
                     replace(snap(WEB), sync_daemons=(SyncDaemon("backup", "eth0", 9),)))
    assert mismatch.verdict == "syncid-mismatch" and "nothing is synced" in mismatch.detail
    assert check(replace(snap(WEB), sync_daemons=(master,)), replace(snap(WEB), sync_daemons=(backup,))
                 ).verdict == "idle"
    assert check(snap(busy), snap(WEB), via="ipvsadm") is None  # no counters to compare


def test_a_poll_with_a_peer_judges_the_adverts_once_and_says_what_split_brain_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The director's source judges the adverts heard here (as DirectorSource does); WithPeer adds
    the peer's keepalived state to that, without judging the adverts again, to the same verdict."""
    from lvstui.peer import compare
    from lvstui.peer.source import WithPeer
    from tests.ui.pair_support import FixedDirector, FixedPeer

    judged: list[Snapshot] = []
    adverts = compare._from_adverts

    def counted(here: Snapshot) -> tuple[SplitBrain, ...]:
        judged.append(here)
        return adverts(here)

    monkeypatch.setattr(compare, "_from_adverts", counted)
    mine, other = VrrpPeer(51, "192.168.1.11", 150, local=True), VrrpPeer(51, "192.168.1.12", 100)
    vi2 = replace(VI, name="VI_2", virtual_router_id=52)
    cases = [
        (snap(vrrp=(VI,), peers=(mine, other)), peer_view(replace(VI, state="BACKUP"))),  # adverts only
        (snap(vrrp=(VI,), peers=(mine, other)), peer_view(replace(VI, name="VI_lb2"))),  # both: the state's
        (snap(vrrp=(VI, vi2), peers=(mine, other)), peer_view(replace(vi2, name="VI_lb2"))),  # one each
        (snap(vrrp=(VI,)), peer_view(VI, stale=True)),  # none
    ]
    verdicts = []
    for here, view in cases:
        expected = split_brain(here, view)
        judged.clear()
        got = WithPeer(FixedDirector(here, lambda: 0.0), FixedPeer(view)).read().split_brain
        assert got == expected and len(judged) == 1, (here, view)
        verdicts.append([(b.vrid, b.seen_by) for b in got])
    assert verdicts == [[(51, "adverts")], [(51, "state")], [(51, "adverts"), (52, "state")], []]


def configured(*services: ConfiguredService) -> tuple[ConfiguredService, ...]:
    return services


C_RS1 = ConfiguredServer("192.168.1.21:80", 5, checks=("TCP_CHECK timeout 1",))
C_RS2 = ConfiguredServer("192.168.1.22:80", 5, checks=("TCP_CHECK timeout 1",))
C_WEB = ConfiguredService("tcp:192.168.1.100:80", "wrr", "DR", "off", (C_RS1, C_RS2))
C_DNS = ConfiguredService("udp:192.168.1.100:53", "rr", "DR", "off", (C_RS1,))


def test_the_same_configuration_has_no_differences_and_an_unread_one_none() -> None:
    assert config_differences(configured(C_WEB, C_DNS), configured(C_WEB, C_DNS)) == ()
    assert config_differences(configured(C_WEB), None) == config_differences(None, configured(C_WEB)) == ()


def test_every_kind_of_configuration_difference() -> None:
    theirs = replace(C_WEB, scheduler="wlc", persistence="300 s", real_servers=(
        replace(C_RS1, weight=0, forward="NAT", checks=()), ConfiguredServer("192.168.1.23:80", 2)))
    mail = ConfiguredService("tcp:192.168.1.100:25", "rr")
    found = [(d.kind, d.ids, d.here, d.peer) for d in config_differences(configured(C_WEB, C_DNS),
                                                                       configured(theirs, mail))]
    web, rs1 = "tcp:192.168.1.100:80", "192.168.1.21:80"
    assert found == [
        ("config-scheduler", (web,), "wrr", "wlc"),
        ("config-persistence", (web,), "off", "300 s"),
        ("config-weight", (web, rs1), "5", "0"),
        ("config-forward", (web, rs1), "DR", "NAT"),
        ("config-checks", (web, rs1), "TCP_CHECK timeout 1", "none"),
        ("config-server-here-only", (web, "192.168.1.22:80"), "weight 5", ""),
        ("config-server-peer-only", (web, "192.168.1.23:80"), "", "weight 2"),
        ("config-service-here-only", ("udp:192.168.1.100:53",), "rr", ""),
        ("config-service-peer-only", ("tcp:192.168.1.100:25",), "", "rr"),
    ]


KEEPALIVED_CONF = """\
virtual_server 192.168.1.100 80 {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    persistence_timeout 300
    real_server 192.168.1.21 8080 {
        weight 5
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 192.168.1.22 80 {
        weight 0
        lvs_method NAT
    }
}
virtual_server fwmark 7 {
    protocol TCP
    real_server 192.168.1.23 443 {
    }
}
"""


def test_configured_services_from_a_real_configuration(tmp_path: Path) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text(KEEPALIVED_CONF)
    web, fwm = configured_services(build_view(load(path)))
    # a DR real server takes the service's port in IPVS, whatever its block says (as keepalived does)
    assert web == ConfiguredService("tcp:192.168.1.100:80", "wrr", "DR", "300 s", (
        ConfiguredServer("192.168.1.21:80", 5, "", ("TCP_CHECK timeout 1",)),
        ConfiguredServer("192.168.1.22:80", 0, "NAT", ())))
    assert fwm.id == "fwmark:7" and fwm.scheduler == "wlc" and fwm.forward == "NAT"
    assert fwm.real_servers == (ConfiguredServer("192.168.1.23:443", 1),)
