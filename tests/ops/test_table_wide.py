"""timeouts, zero and save planned and formatted without a kernel (tests/lab/test_ipvsadm_verbs.py
runs each against ipvsadm on the real one)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lvstui.backend.rules import save_lines
from lvstui.demo import DemoSource
from lvstui.model import Forward, RealServer, Snapshot, SyncDaemon, Timeouts, VirtualService
from lvstui.ops import changes as c
from lvstui.ops.engine import OperationFailed, Operations
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.record import change_from_record, change_record
from lvstui.ops.targets import InvalidInput, parse_service_id

DEFAULTS = Timeouts(900, 120, 300)


def snap(*services: VirtualService, timeouts: Timeouts | None = DEFAULTS) -> Snapshot:
    return Snapshot(director="test", taken_at=datetime.now(UTC), virtual_services=services, timeouts=timeouts)


def test_timeouts_change_only_what_is_given_and_say_before_and_after() -> None:
    plan = c.SetTimeouts(tcp=700, udp=100).plan(snap(), {})
    assert plan.lines() == ["IPVS timeouts: tcp 900, tcpfin 120, udp 300 -> tcp 700, tcpfin 120, udp 100"]
    assert c.SetTimeouts(tcp=900).plan(snap(), {}).lines() == []
    with pytest.raises(InvalidInput, match="1-2147483"):
        c.SetTimeouts(tcp_fin=0).plan(snap(), {})
    with pytest.raises(c.Refused, match="did not report"):
        c.SetTimeouts(tcp=5).plan(snap(timeouts=None), {})


def test_zero_names_its_service_and_refuses_a_missing_one() -> None:
    vs = VirtualService("tcp", "inet", "192.0.2.1", 80)
    assert c.ZeroCounters(parse_service_id(vs.id)).plan(snap(vs), {}).lines() == [
        "zero the counters of tcp:192.0.2.1:80 and its real servers"]
    assert c.ZeroCounters().plan(snap(vs), {}).lines() == ["zero every IPVS counter"]
    with pytest.raises(c.Refused, match="does not exist"):
        c.ZeroCounters(parse_service_id("tcp:192.0.2.9:80")).plan(snap(vs), {})


def test_both_survive_the_journal_record() -> None:
    for change in (c.ZeroCounters(), c.ZeroCounters(parse_service_id("fwmark:7")), c.SetTimeouts(tcp=5, udp=9)):
        assert change_from_record(change_record(change)) == change  # type: ignore[arg-type]


def test_a_director_without_timeouts_fails_in_one_line_and_journals_it(tmp_path: Path) -> None:
    demo = DemoSource()
    ops = Operations(demo, journal=Journal(tmp_path / "j.jsonl"), memory=WeightMemory(tmp_path / "w.json"),
                     keepalived=None, settle_seconds=0, actor="test", eqt=lambda: 0)
    with pytest.raises(OperationFailed, match="no timeouts, counters or sync daemons"):
        ops.apply(c.ZeroCounters())
    assert list(ops.journal.entries())[-1]["result"] == "failed"


def test_save_lines_are_ipvsadm_S_n_lines() -> None:
    # Each expected line is one `ipvsadm -S -n` (1.31) printed in the lab for the same service.
    persistent = VirtualService("tcp", "inet", "10.9.0.3", 443, scheduler="wlc", flags=("persistent",),
                                persistence_timeout=1800, netmask="255.255.255.0",
                                real_servers=(RealServer("10.9.1.1", 443),))
    flagged = VirtualService("udp", "inet", "10.9.0.3", 53, scheduler="sh", flags=("ops", "sh-fallback", "sh-port"))
    sip = VirtualService("udp", "inet", "10.9.0.3", 5060, scheduler="rr", flags=("persistent",),
                         persistence_timeout=60, persistence_engine="sip",
                         real_servers=(RealServer("10.9.1.3", 5060, forward=Forward.NAT),))
    tunnels = VirtualService("tcp", "inet", "10.9.0.2", 80, scheduler="wrr", real_servers=(
        RealServer("10.9.1.1", 8080, forward=Forward.NAT, weight=3, upper_threshold=100, lower_threshold=10),
        RealServer("10.9.1.2", 80, forward=Forward.TUN, weight=2, tun_type="ipip"),
        RealServer("10.9.1.3", 80, forward=Forward.TUN, tun_type="gue", tun_port=6080, tun_flags=("nocsum",)),
        RealServer("10.9.1.6", 80, forward=Forward.TUN, tun_type="gre", tun_flags=("csum",))))
    v6 = VirtualService("tcp", "inet6", "2001:db8:9::100", 80, scheduler="wrr", flags=("persistent",),
                        persistence_timeout=120, netmask="64",
                        real_servers=(RealServer("2001:db8:9::1", 80, "inet6", weight=4),))
    sctp = VirtualService("sctp", "inet", "10.9.0.3", 3868, scheduler="mh", flags=("mh-fallback", "mh-port"))
    fw6 = VirtualService(None, "inet6", None, None, fwmark=8, scheduler="wlc",
                         real_servers=(RealServer("2001:db8:9::1", 0, "inet6"),))
    assert list(save_lines(snap(persistent, flagged, sip, tunnels, v6, sctp, fw6))) == [
        "-A -t 10.9.0.3:443 -s wlc -p 1800 -M 255.255.255.0",
        "-a -t 10.9.0.3:443 -r 10.9.1.1:443 -g -w 1",
        "-A -u 10.9.0.3:53 -s sh -o -b sh-fallback,sh-port",
        "-A -u 10.9.0.3:5060 -s rr -p 60 --pe sip",
        "-a -u 10.9.0.3:5060 -r 10.9.1.3:5060 -m -w 1",
        "-A -t 10.9.0.2:80 -s wrr",
        "-a -t 10.9.0.2:80 -r 10.9.1.1:8080 -m -w 3",  # ipvsadm -S leaves thresholds out
        "-a -t 10.9.0.2:80 -r 10.9.1.2:80 -i -w 2 --tun-type ipip",
        "-a -t 10.9.0.2:80 -r 10.9.1.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum",
        "-a -t 10.9.0.2:80 -r 10.9.1.6:80 -i -w 1 --tun-type gre --tun-csum",
        "-A -t [2001:db8:9::100]:80 -s wrr -p 120 -M 64",
        "-a -t [2001:db8:9::100]:80 -r [2001:db8:9::1]:80 -g -w 4",
        "-A --sctp-service 10.9.0.3:3868 -s mh -b mh-fallback,mh-port",
        "-A -f 8 -6 -s wlc",
        "-a -f 8 -6 -r [2001:db8:9::1]:0 -g -w 1",
    ]


def test_sync_start_refuses_a_second_daemon_of_a_kind_and_stop_says_when_none_runs() -> None:
    master = SyncDaemon("master", "eth0", 9, sync_maxlen=1472, mcast_group="224.0.0.81", mcast_port=8848,
                        mcast_ttl=1)
    running = Snapshot(director="t", taken_at=datetime.now(UTC), sync_daemons=(master,))
    assert c.StartSync("backup", "eth0", 9).plan(running, {}).lines() == [
        "start the backup sync daemon (interface eth0, syncid 9)"]
    assert c.StartSync("master", "eth0", 9).plan(running, {}).lines() == []  # already so
    with pytest.raises(c.Refused, match=r"master sync daemon \(mcast=eth0, syncid=9, maxlen=1472, "
                                        r"group=224.0.0.81, port=8848, ttl=1\) already runs"):
        c.StartSync("master", "eth1", 9).plan(running, {})
    for bad in (c.StartSync("primary", "eth0"), c.StartSync("master", "eth0", 256), c.StartSync("master", "a b")):
        with pytest.raises(InvalidInput):
            bad.plan(running, {})
    plan = c.StopSync("backup").plan(running, {})
    assert plan.lines() == [] and plan.warnings == ["no backup sync daemon runs"]
    assert c.StopSync("master").plan(running, {}).lines() == ["stop the master sync daemon (interface eth0, syncid 9)"]
    for change in (c.StartSync("backup", "lo", 3), c.StopSync("master")):
        assert change_from_record(change_record(change)) == change  # type: ignore[arg-type]
