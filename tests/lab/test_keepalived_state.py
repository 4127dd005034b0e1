"""keepalived's runtime state in `lvstui snapshot --json`, against real keepalived in the lab.

lb1 (150) and lb2 (100) run keepalived (tests/lab/keepalived_pair.py); rs1..rs3 serve HTTP.
Checked: VRRP instances with priorities on both directors and the peer seen on the wire;
keepalived's three processes and its log lines (syslog, filtered on lb1's pids although lb2
logs to the same socket); a real server whose service stops is DOWN by its TCP_CHECK within
a few seconds and stays listed with in_kernel false (or inhibited with inhibit_on_failure),
then UP again; a real server an operator removed is drift, not a failed check; a director
without a running keepalived says so as data; and how many signals the composed source
sends over a run of polls (the poll cost).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from lvstui.lab import Lab
from lvstui.lab.lab import REPO_DIR
from tests.lab.cluster import module_cluster
from tests.lab.keepalived_pair import pids, real_server, snapshot, start_pair

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from module_cluster(tmp_path_factory, "kastate", ("http",), start=start_pair)


def settled(lab: Lab) -> dict:  # type: ignore[type-arg]
    def ok() -> dict | None:  # type: ignore[type-arg]
        doc = snapshot(lab, "lb1")
        states = [real_server(doc, f"192.168.1.2{i}:80")["state"] for i in (1, 2, 3)]
        return doc if states == ["up"] * 3 and doc["vrrp"] and doc["vrrp"][0]["state"] == "MASTER" else None

    return lab.wait_for(ok, timeout=30, what="lb1 MASTER with rs1..rs3 up")  # type: ignore[no-any-return]


def test_vrrp_health_and_logs_in_snapshot_json(lab: Lab) -> None:
    doc = settled(lab)
    (vi,) = doc["vrrp"]
    assert (
        vi["name"],
        vi["state"],
        vi["priority"],
        vi["effective_priority"],
        vi["vips"],
        vi["interface"],
        vi["virtual_router_id"],
    ) == ("VI_1", "MASTER", 150, 150, ["192.168.1.100/24"], "eth0", 51)
    assert vi["last_transition"] is not None
    ka = doc["keepalived"]
    parent, vrrp, checker = pids(lab, "lb1")
    assert ka["status"] == "running" and ka["netns"] in (
        None,
        "lb1",
    )  # /run/netns is not seen from inside lb1
    assert [(p["role"], p["pid"], p["alive"]) for p in ka["processes"]] == [
        ("parent", parent, True),
        ("vrrp", vrrp, True),
        ("checker", checker, True),
    ]
    assert ka["log_source"] == "/var/log/syslog"
    assert ka["log_lines"], ka
    ours = {str(p) for p in (parent, vrrp, checker)}
    theirs = {str(p) for p in pids(lab, "lb2")}
    assert all(any(f"[{p}]" in line for p in ours) for line in ka["log_lines"])
    assert not any(f"[{p}]" in line for line in ka["log_lines"] for p in theirs)
    # the lb2 keepalived logs to the same syslog: it is there, and filtered out above
    assert any(
        f"[{p}]" in line for line in lab.read_file("lb1", "/var/log/syslog").splitlines() for p in theirs
    )
    assert doc["drift"] == []
    rs1 = real_server(doc, "192.168.1.21:80")
    assert (rs1["state"], rs1["in_kernel"], rs1["check"]["checker"], rs1["check"]["alive"]) == (
        "up",
        True,
        "TCP_CHECK",
        True,
    )

    peer = snapshot(lab, "lb2")
    (vi2,) = peer["vrrp"]
    assert (vi2["state"], vi2["priority"], vi2["effective_priority"], vi2["master_priority"]) == (
        "BACKUP",
        100,
        100,
        150,
    )
    # lb1's adverts, heard by lb2's one-shot snapshot only if they arrived during its read: poll a
    # longer-lived source instead (the listener runs for the life of the source)
    code = (
        "import time, json\n"
        "from lvstui.backend.director import DirectorSource\n"
        "with DirectorSource() as s:\n"
        "    s.read(); time.sleep(2.5); snap = s.read()\n"
        "print(json.dumps([(p.vrid, p.source, p.priority, p.current, p.local) for p in snap.vrrp_peers]))\n"
    )
    r = lab.run("lb2", [lab.venv_python, "-c", code], env={"PYTHONPATH": str(REPO_DIR)}, timeout=60)
    assert r.ok, r.describe()
    assert [51, "192.168.1.11", 150, True, False] in json.loads(r.stdout)


def test_real_server_down_by_its_checker_then_up(lab: Lab) -> None:
    settled(lab)
    lab.stop_services("rs1", "rs2")
    stopped = time.monotonic()
    try:

        def down() -> dict | None:  # type: ignore[type-arg]
            doc = snapshot(lab, "lb1")
            rs1, rs2 = real_server(doc, "192.168.1.21:80"), real_server(doc, "192.168.1.22:80")
            # settled: keepalived's checker has failed rs2 AND its inhibit has reached the kernel
            # (the check dump can be a poll ahead of the weight; the state is "inhibited" then too)
            both = rs1["state"] == "down" and rs2["state"] == "inhibited" and rs2["weight"] == 0
            return doc if both else None

        doc = lab.wait_for(down, timeout=30, what="rs1 down and rs2 inhibited by their checkers")
        seen_after = time.monotonic() - stopped
        rs1, rs2 = real_server(doc, "192.168.1.21:80"), real_server(doc, "192.168.1.22:80")
        # keepalived removed rs1 from IPVS: still listed, from the configuration
        assert (rs1["in_kernel"], rs1["check"]["alive"], rs1["check"]["checker"]) == (
            False,
            False,
            "TCP_CHECK",
        )
        assert rs1["check"]["failed_checkers"] == 1 and "TCP_CHECK failed" in rs1["check"]["detail"]
        assert "192.168.1.21" not in lab.run("lb1", ["ipvsadm", "-Ln"]).check().stdout
        # inhibit_on_failure: kept in IPVS with weight 0
        assert (rs2["in_kernel"], rs2["weight"], rs2["check"]["alive"]) == (True, 0, False)
        assert doc["drift"] == []  # keepalived did this itself: no drift
        # delay_loop 1 + connect_timeout 1, seen by a one-shot snapshot (UML is slow: a generous bound)
        assert seen_after < 12, seen_after
        print(f"rs1 down / rs2 inhibited seen {seen_after:.1f} s after their services stopped")
    finally:
        lab.start_services("rs1", "rs2")
    settled(lab)


def test_operator_removal_and_weight_are_drift(lab: Lab) -> None:
    settled(lab)
    lab.run("lb1", ["ipvsadm", "-d", "-t", "192.168.1.100:80", "-r", "192.168.1.23:80"]).check()
    lab.run(
        "lb1", ["ipvsadm", "-e", "-t", "192.168.1.100:80", "-r", "192.168.1.21:80", "-g", "-w", "5"]
    ).check()
    try:
        doc = snapshot(lab, "lb1")
        rs3, rs1 = real_server(doc, "192.168.1.23:80"), real_server(doc, "192.168.1.21:80")
        assert (rs3["state"], rs3["in_kernel"], rs3["check"]["alive"]) == ("down", False, True)
        assert rs1["weight"] == 5
        drift = doc["drift"]
        assert any(
            line.startswith("192.168.1.23:80 in tcp:192.168.1.100:80") and "removed by an operator" in line
            for line in drift
        ), drift
        assert any(
            line.startswith("192.168.1.21:80 in tcp:192.168.1.100:80")
            and "weight 5 in the kernel" in line
            and "keepalived's is 1" in line
            for line in drift
        ), drift
        assert len(drift) == 2, drift
    finally:
        lab.run(
            "lb1", ["ipvsadm", "-a", "-t", "192.168.1.100:80", "-r", "192.168.1.23:80", "-g", "-w", "1"]
        ).check()
        lab.run(
            "lb1", ["ipvsadm", "-e", "-t", "192.168.1.100:80", "-r", "192.168.1.21:80", "-g", "-w", "1"]
        ).check()
    assert snapshot(lab, "lb1")["drift"] == []


def test_no_keepalived_is_data(lab: Lab) -> None:
    # client: a configuration but no keepalived running
    lab.write_file("client", "/etc/keepalived/keepalived.conf", "global_defs {\n}\n")
    doc = snapshot(lab, "client")
    assert doc["keepalived"]["status"] == "not running"
    assert doc["keepalived"]["errors"] == ["keepalived: not running"]
    assert doc["error"] is None and doc["drift"] == []
    plain = snapshot(lab, "lb1", "--no-keepalived")
    assert plain["keepalived"] is None and plain["vrrp"] == []


def test_poll_cost(lab: Lab) -> None:
    """20 polls at 0.25 s: keepalived is signalled on the first, on changes and every `refresh`, not 20 times."""
    settled(lab)
    code = (
        "import time, json\n"
        "from lvstui.backend.ipvs import IpvsClient\n"
        "from lvstui.backend.director import DirectorSource\n"
        "from lvstui.keepalived.watcher import KeepalivedWatcher\n"
        "def run(source, n=20):\n"
        "    times = []\n"
        "    for _ in range(n):\n"
        "        t = time.perf_counter(); source.read(); times.append(time.perf_counter() - t)\n"
        "        time.sleep(0.25)\n"
        "    return times\n"
        "with IpvsClient() as k:\n"
        "    plain = run(k)\n"
        "w = KeepalivedWatcher(refresh=2.0)\n"
        "with DirectorSource(IpvsClient(), w) as s:\n"
        "    t = time.perf_counter(); s.read(); first = time.perf_counter() - t\n"
        "    composed = run(s)\n"
        "    dumps = w.dumps\n"
        "print(json.dumps({'plain': plain, 'composed': composed, 'first': first, 'dumps': dumps}))\n"
    )
    r = lab.run("lb1", [lab.venv_python, "-c", code], env={"PYTHONPATH": str(REPO_DIR)}, timeout=120)
    assert r.ok, r.describe()
    m = json.loads(r.stdout)
    med = sorted(m["composed"])[10]
    print(
        f"poll cost in UML: plain kernel read median {sorted(m['plain'])[10] * 1000:.1f} ms, composed median "
        f"{med * 1000:.1f} ms, max {max(m['composed']) * 1000:.1f} ms, first (with dump) {m['first'] * 1000:.0f} ms; "
        f"keepalived signalled {m['dumps']} times in 21 polls over ~6 s"
    )
    # first poll + one per 2 s refresh (~3) + slack; never once per poll
    assert 2 <= m["dumps"] <= 6, m["dumps"]
