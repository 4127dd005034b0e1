"""lvstui's netlink reader against ipvsadm, field by field, on the real IPVS kernel in the lab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import ipvsadm_text

pytestmark = pytest.mark.lab

GUEST_SCRIPT = str(Path(__file__).with_name("guest_parity.py"))
REPO = str(Path(__file__).resolve().parents[2])

SCHEDULERS = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"]

# Every kind of service and real server the kernel has.  10.9.x addresses are never routed:
# these services exist only to be read back.
TABLE = [
    # every scheduler, IPv4 TCP
    *[f"-A -t 10.9.0.1:{1000 + i} -s {s}" for i, s in enumerate(SCHEDULERS)],
    *[f"-a -t 10.9.0.1:{1000 + i} -r 10.9.1.{i + 1}:80 -g -w {i}" for i, s in enumerate(SCHEDULERS)],
    # forwarding methods and thresholds
    "-A -t 10.9.0.2:80 -s wrr",
    "-a -t 10.9.0.2:80 -r 10.9.1.1:8080 -m -w 3 -x 100 -y 10",
    "-a -t 10.9.0.2:80 -r 10.9.1.2:80 -i -w 2",
    "-a -t 10.9.0.2:80 -r 10.9.1.3:80 -i --tun-type gue --tun-port 6080 --tun-nocsum",
    "-a -t 10.9.0.2:80 -r 10.9.1.4:80 -i --tun-type gue --tun-port 6081 --tun-csum",
    "-a -t 10.9.0.2:80 -r 10.9.1.5:80 -i --tun-type gue --tun-port 6082 --tun-remcsum",
    "-a -t 10.9.0.2:80 -r 10.9.1.6:80 -i --tun-type gre --tun-csum",
    "-a -t 10.9.0.2:80 -r 10.9.1.7:80 -g -w 0",
    "-a -t 10.9.0.2:80 -r 10.9.1.8:80 -g -w 2147483647",
    # persistence, netmask, one-packet, scheduler flags, persistence engine
    "-A -t 10.9.0.3:443 -s wlc -p 1800 -M 255.255.255.0",
    "-a -t 10.9.0.3:443 -r 10.9.1.1:443 -g",
    "-A -u 10.9.0.3:53 -s sh -b sh-fallback,sh-port -o",
    "-a -u 10.9.0.3:53 -r 10.9.1.1:53 -g",
    "-A --sctp-service 10.9.0.3:3868 -s mh -b mh-fallback,mh-port",
    "-a --sctp-service 10.9.0.3:3868 -r 10.9.1.2:3868 -g",
    "-A -u 10.9.0.3:5060 -s rr -p 60 --pe sip",
    "-a -u 10.9.0.3:5060 -r 10.9.1.3:5060 -m",
    # fwmark, IPv4 and IPv6
    "-A -f 7 -s rr -p 300",
    "-a -f 7 -r 10.9.1.1:0 -g",
    "-A -f 8 -6 -s wlc",
    "-a -f 8 -6 -r [2001:db8:9::1]:0 -g",
    # IPv6 address services
    "-A -t [2001:db8:9::100]:80 -s wrr -p 120 -M 64",
    "-a -t [2001:db8:9::100]:80 -r [2001:db8:9::1]:80 -g -w 4",
    "-a -t [2001:db8:9::100]:80 -r [2001:db8:9::2]:8080 -m -w 1 -x 50 -y 5",
    "-A -u [2001:db8:9::100]:53 -s lc",
    "-a -u [2001:db8:9::100]:53 -r [2001:db8:9::3]:53 -i",
    "-A --sctp-service [2001:db8:9::100]:3868 -s nq",
]


def _build_table(lab: Any, host: str) -> None:
    lab.sh(host, "ipvsadm -C; ipvsadm --stop-daemon master; ipvsadm --stop-daemon backup; true").check()
    script = "\n".join(f"ipvsadm {line}" for line in TABLE)
    script += "\nipvsadm --set 600 60 120"
    script += "\nipvsadm --start-daemon master --mcast-interface lo --syncid 9"
    script += "\nipvsadm --start-daemon backup --mcast-interface lo --syncid 9"
    lab.sh(host, "set -e\n" + script).check()


def _collect(lab: Any, host: str) -> dict[str, Any]:
    r = lab.run(host, [lab.venv_python, GUEST_SCRIPT], timeout=180, env={"PYTHONPATH": REPO})
    r.check()
    return json.loads(r.stdout)


def _rs_expect(rs: dict[str, Any]) -> dict[str, Any]:
    return {
        "forward": rs["forward"], "weight": rs["weight"], "active_conns": rs["active_conns"],
        "inactive_conns": rs["inactive_conns"], "upper_threshold": rs["upper_threshold"],
        "lower_threshold": rs["lower_threshold"], "persistent_conns": rs["persistent_conns"],
        **rs["stats"], **rs["rates"],
    }


def assert_parity(data: dict[str, Any]) -> int:
    """Compare every field ipvsadm prints with lvstui's JSON; return the number of values compared."""
    snap = data["snapshot"]
    ours = {vs["id"]: vs for vs in snap["virtual_services"]}
    compared = 0
    for mode in ipvsadm_text.MODES:
        theirs = ipvsadm_text.parse(data["ipvsadm"][mode], mode)
        assert list(theirs) == list(ours), f"services differ in mode {mode!r}"
        for vs_id, row in theirs.items():
            vs = ours[vs_id]
            if mode in ("--stats", "--rate"):
                expect = {**vs["stats"], **vs["rates"]}
                for key, value in row.values.items():
                    assert expect[key] == value, f"{vs_id} {key}: lvstui {expect[key]} ipvsadm {value}"
                    compared += 1
            else:
                flags = [f for f in vs["flags"] if f not in ("persistent", "ops")]
                assert row.values["scheduler"] == vs["scheduler"], vs_id
                assert row.values["sched_flags"] == flags, vs_id
                assert row.values["ops"] == ("ops" in vs["flags"]), vs_id
                assert row.values["persistence_timeout"] == vs["persistence_timeout"], vs_id
                assert ("persistent" in vs["flags"]) == (vs["persistence_timeout"] > 0), vs_id
                assert row.values["persistence_engine"] == vs["persistence_engine"], vs_id
                default_mask = "128" if vs["family"] == "inet6" else "255.255.255.255"
                assert (row.values["netmask"] or default_mask) == vs["netmask"], vs_id
                compared += 6
            assert list(row.real_servers) == [rs["id"] for rs in vs["real_servers"]], vs_id
            for rs in vs["real_servers"]:
                expect = _rs_expect(rs)
                for key, value in row.real_servers[rs["id"]].items():
                    assert expect[key] == value, f"{vs_id} -> {rs['id']} {key}: lvstui {expect[key]} ipvsadm {value}"
                    compared += 1
    assert snap["timeouts"] == ipvsadm_text.parse_timeouts(data["ipvsadm"]["timeout"])
    assert sorted(snap["sync_daemons"], key=lambda d: d["state"]) == sorted(
        ipvsadm_text.parse_daemons(data["ipvsadm"]["daemon"]), key=lambda d: d["state"])
    return compared


def assert_pyroute2_agrees(data: dict[str, Any]) -> None:
    """pyroute2's decoding of the same replies: the 64-bit counters and the fields beside them."""
    ours = data["snapshot"]["virtual_services"]
    ref = data["pyroute2"]["services"]
    by_key = {}
    for vs in ours:
        key = (vs["scheduler"], vs["port"] or 0, vs["fwmark"] or None)
        by_key.setdefault(key, []).append(vs)
    assert len(ref) == len(ours)
    fwd = {"NAT": 0, "LOCAL": 1, "TUN": 2, "DR": 3}
    for svc in ref:
        candidates = by_key[(svc["sched"], svc["port"] or 0, svc["fwmark"] or None)]
        matched = [vs for vs in candidates
                   if [vs["stats"][k] for k in ("conns", "inpkts", "outpkts", "inbytes", "outbytes")]
                   + [vs["rates"][k] for k in ("cps", "inpps", "outpps", "inbps", "outbps")] == svc["stats64"]
                   and sorted((d["addr"], d["port"]) for d in svc["dests"])
                   == sorted((rs["address"], rs["port"]) for rs in vs["real_servers"])]
        assert matched, f"no lvstui service matches pyroute2's {svc}"
        vs = matched[0]
        assert (svc["pe"] or None) == vs["persistence_engine"]
        for d in svc["dests"]:
            rs = next(r for r in vs["real_servers"] if (r["address"], r["port"]) == (d["addr"], d["port"]))
            assert d["weight"] == rs["weight"] and d["fwd"] & 7 == fwd[rs["forward"]]
            assert (d["active"], d["inactive"], d["persist"]) == (
                rs["active_conns"], rs["inactive_conns"], rs["persistent_conns"])
            assert d["stats64"] == [rs["stats"][k] for k in ("conns", "inpkts", "outpkts", "inbytes", "outbytes")] + [
                rs["rates"][k] for k in ("cps", "inpps", "outpps", "inbps", "outbps")]


def test_every_kind_of_service_matches_ipvsadm(dr_lab: Any) -> None:
    _build_table(dr_lab, "lb1")
    try:
        data = _collect(dr_lab, "lb1")
        compared = assert_parity(data)
        assert compared > 300
        assert_pyroute2_agrees(data)
        ids = {vs["id"] for vs in data["snapshot"]["virtual_services"]}
        assert {"fwmark:7", "fwmark:8:inet6", "udp:[2001:db8:9::100]:53",
                "sctp:[2001:db8:9::100]:3868", "sctp:10.9.0.3:3868"} <= ids
        schedulers = {vs["scheduler"] for vs in data["snapshot"]["virtual_services"]}
        assert set(SCHEDULERS) <= schedulers
        tun = {rs["id"]: rs for vs in data["snapshot"]["virtual_services"] if vs["id"] == "tcp:10.9.0.2:80"
               for rs in vs["real_servers"]}
        assert (tun["10.9.1.3:80"]["tun_type"], tun["10.9.1.3:80"]["tun_port"], tun["10.9.1.3:80"]["tun_flags"]) == (
            "gue", 6080, ["nocsum"])
        assert (tun["10.9.1.5:80"]["tun_type"], tun["10.9.1.5:80"]["tun_flags"]) == ("gue", ["remcsum"])
        assert (tun["10.9.1.6:80"]["tun_type"], tun["10.9.1.6:80"]["tun_flags"]) == ("gre", ["csum"])
        assert tun["10.9.1.8:80"]["weight"] == 2147483647
    finally:
        dr_lab.sh("lb1", "ipvsadm -C; ipvsadm --stop-daemon master; ipvsadm --stop-daemon backup; true")


def test_counters_under_real_dr_traffic_match_ipvsadm(dr_lab: Any) -> None:
    vip = dr_lab.spec.vip
    setup = f"""
set -e
ip addr replace {vip}/32 dev eth0
ipvsadm -C
ipvsadm -A -t {vip}:80 -s rr
ipvsadm -A -t {vip}:9000 -s wlc
"""
    for rs in dr_lab.spec.real_servers:
        setup += f"ipvsadm -a -t {vip}:80 -r {rs.ipv4}:80 -g\nipvsadm -a -t {vip}:9000 -r {rs.ipv4}:9000 -g\n"
    dr_lab.sh("lb1", setup).check()
    client = """
import socket, sys, time, urllib.request
vip = sys.argv[1]
seen = {}
for _ in range(30):
    who = urllib.request.urlopen(f"http://{vip}/", timeout=5).read().decode().strip()
    seen[who] = seen.get(who, 0) + 1
held = [socket.create_connection((vip, 9000), timeout=5) for _ in range(6)]
for s in held:
    s.sendall(b"hello\\n")
    s.recv(100)
print(sorted(seen.items()), flush=True)
time.sleep(600)
"""
    handle = dr_lab.spawn("client", [dr_lab.venv_python, "-c", client, vip])
    try:
        def held_connections() -> int:
            table = ipvsadm_text.parse(dr_lab.run("lb1", ["ipvsadm", "-Ln", "--exact"]).check().stdout, "")
            return sum(int(rs["active_conns"]) for rs in table[f"tcp:{vip}:9000"].real_servers.values())

        dr_lab.wait_for(lambda: held_connections() == 6, timeout=60, what="6 held connections through the VIP")
        data = _collect(dr_lab, "lb1")
        assert_parity(data)
        assert_pyroute2_agrees(data)
        web = next(vs for vs in data["snapshot"]["virtual_services"] if vs["id"] == f"tcp:{vip}:80")
        held = next(vs for vs in data["snapshot"]["virtual_services"] if vs["id"] == f"tcp:{vip}:9000")
        assert web["stats"]["conns"] == 30
        assert web["stats"]["inpkts"] > 0 and web["stats"]["outpkts"] == 0  # DR: replies bypass the director
        assert all(rs["stats"]["conns"] == 10 for rs in web["real_servers"])  # round robin
        assert sum(rs["active_conns"] for rs in held["real_servers"]) == 6
    finally:
        dr_lab.stop(handle)
        dr_lab.sh("lb1", f"ipvsadm -C; ip addr del {vip}/32 dev eth0")


def test_no_cap_net_admin_is_a_clear_one_line_error(dr_lab: Any) -> None:
    r = dr_lab.run("lb1", ["setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-net_admin", "--",
                           dr_lab.venv_python, "-m", "lvstui", "snapshot", "--json"], env={"PYTHONPATH": REPO})
    assert r.rc != 0
    assert r.stdout == ""
    assert r.stderr.strip() == (
        "lvstui: reading IPVS needs root (CAP_NET_ADMIN): run lvstui as root or with sudo")
