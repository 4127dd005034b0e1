"""`lvstui conns` against `ipvsadm -Lnc` on the same kernel, entry by entry, under real traffic.

The client makes entries in every state it can (guest_conns_traffic.py), and one shell call in
lb1 reads ipvsadm, lvstui (JSON and table), ipvsadm again and the kernel's per-real-server
counters.  Entries that changed or expired between the two ipvsadm reads are left out;
every other one must be in lvstui's output with the same fields.  The template flag and the
service are checked against the kernel's own counters (PersistConn, ActiveConn + InActConn),
which the kernel keeps from the flag the /proc file does not show.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from lvstui.lab import Lab, LabSpec
from tests.lab.cluster import boot
from tests.support import ipvsadm_text

pytestmark = pytest.mark.lab
REPO = str(Path(__file__).resolve().parents[2])
TRAFFIC = str(Path(__file__).with_name("guest_conns_traffic.py"))
# LVSTUI_CONNS_CAPTURE=FILE: save the /proc/net/ip_vs_conn this run read (how
# tests/data/ip_vs_conn_lab.txt, which the unit tests read, was made).
CAPTURE_ENV = "LVSTUI_CONNS_CAPTURE"
MODULES = ("sch_ingress", "cls_u32", "act_skbedit")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    spec = LabSpec.dr_cluster(directors=1, real_servers=3, client=True, services=("http", "tcp"),
                              extra_modules=MODULES)
    lab = boot(spec, tmp_path_factory.mktemp("conns"))
    try:
        yield lab
    finally:
        lab.close()


def director_setup(lab: Lab) -> str:
    vip, vip6 = lab.spec.vip, lab.spec.vip6
    rss = lab.spec.real_servers
    lines = [
        f"ip addr replace {vip}/32 dev eth0", f"ip -6 addr replace {vip6}/128 dev eth0 nodad",
        "ipvsadm -C", "ipvsadm --set 900 120 300",
        f"ipvsadm -A -t {vip}:9000 -s rr", f"ipvsadm -A -t [{vip6}]:9000 -s rr",
        f"ipvsadm -A -t {vip}:80 -s rr -p 300 -M 255.255.255.0",
        f"ipvsadm -A -t [{vip6}]:80 -s rr -p 300 -M 64",
        f"ipvsadm -A -t {vip}:9100 -s rr", f"ipvsadm -a -t {vip}:9100 -r 192.168.1.250:9100 -g",
        f"ipvsadm -A -u {vip}:5353 -s rr", f"ipvsadm -A -u [{vip6}]:5353 -s rr",
        f"ipvsadm -A -u {vip}:5454 -s rr -p 200",
        f"ipvsadm -A --sctp-service {vip}:3868 -s rr",
        "ipvsadm -A -f 7 -s rr -p 240 -M 255.255.255.0", "ipvsadm -A -f 8 -6 -s rr -p 240 -M 64",
        # mark UDP to port 6000 of the VIPs on the way in: fwmark services 7 and 8
        "tc qdisc add dev eth0 ingress",
        (f"tc filter add dev eth0 parent ffff: protocol ip prio 1 u32 match ip dst {vip}/32 "
        "match ip protocol 17 0xff match ip dport 6000 0xffff action skbedit mark 7"),
        (f"tc filter add dev eth0 parent ffff: protocol ipv6 prio 2 u32 match ip6 dst {vip6}/128 "
        "match ip6 protocol 17 0xff match ip6 dport 6000 0xffff action skbedit mark 8"),
    ]
    for rs in rss:
        lines += [f"ipvsadm -a -t {vip}:9000 -r {rs.ipv4}:9000 -g",
                  f"ipvsadm -a -t [{vip6}]:9000 -r [{rs.ipv6}]:9000 -g",
                  f"ipvsadm -a -u {vip}:5353 -r {rs.ipv4}:5353 -g",
                  f"ipvsadm -a -u [{vip6}]:5353 -r [{rs.ipv6}]:5353 -g"]
    for rs in rss[:2]:
        lines += [f"ipvsadm -a -t {vip}:80 -r {rs.ipv4}:80 -g", f"ipvsadm -a -t [{vip6}]:80 -r [{rs.ipv6}]:80 -g",
                  f"ipvsadm -a -u {vip}:5454 -r {rs.ipv4}:5454 -g",
                  f"ipvsadm -a --sctp-service {vip}:3868 -r {rs.ipv4}:3868 -g",
                  f"ipvsadm -a -f 7 -r {rs.ipv4}:0 -g", f"ipvsadm -a -f 8 -6 -r [{rs.ipv6}]:0 -g"]
    return "set -e\n" + "\n".join(lines) + "\n"


READ = """set -e
cd /tmp
ipvsadm -Lnc > a1
ipvsadm -Ln --exact --persistent-conn > pc1
PYTHONPATH={repo} {py} -m lvstui conns --json > j
ipvsadm -Ln --exact --persistent-conn > pc2
ipvsadm -Lnc > a2
cat /proc/net/ip_vs_conn > proc
PYTHONPATH={repo} {py} -m lvstui conns > t
ipvsadm -Lnc > a3
PYTHONPATH={repo} {py} -m lvstui conns --sync --json > js
for f in a1 a2 a3 t pc1 pc2 proc j js; do echo "=$f"; cat $f; done
"""


def sections(text: str) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("=") and line[1:].isalnum():
            current = line[1:]
            out[current] = []
        else:
            out[current].append(line)
    return {k: "\n".join(v) + "\n" for k, v in out.items()}


def ipvsadm_entries(text: str) -> dict[tuple[str, str, str, str], tuple[str, int]]:
    """(protocol, source, virtual, destination) -> (state, expires seconds) from ipvsadm -Lnc."""
    lines = text.splitlines()
    assert lines[0] == "IPVS connection entries"
    assert lines[1].split() == ["pro", "expire", "state", "source", "virtual", "destination"]
    out = {}
    for line in lines[2:]:
        pro, expire, state, src, virt, dest = line.split()
        minutes, seconds = expire.split(":")
        key = (pro, src, virt, dest)
        assert key not in out, line
        out[key] = (state, int(minutes) * 60 + int(seconds))
    return out


def test_conns_match_ipvsadm_entry_by_entry(lab: Lab) -> None:
    vip = lab.spec.vip
    lab.sh("lb1", director_setup(lab)).check()
    lab.sh("client", "rm -f /tmp/conns-release /tmp/conns-ready").check()
    cfg = json.dumps({"vip": vip, "vip6": lab.spec.vip6, "client": lab.spec.host("client").ipv4})
    client = lab.spawn("client", [lab.venv_python, TRAFFIC, cfg])
    try:
        lab.wait_for(lambda: lab.sh("client", "test -e /tmp/conns-ready").rc == 0, timeout=60,
                     what="the client's traffic")
        r = lab.sh("lb1", READ.format(repo=REPO, py=lab.venv_python), timeout=120)
        r.check()
    finally:
        lab.write_file("client", "/tmp/conns-release", "1")
        lab.wait(client, timeout=30)
    s = sections(r.stdout)
    first, second, third = (ipvsadm_entries(s[k]) for k in ("a1", "a2", "a3"))
    ours = json.loads(s["j"])
    table = ipvsadm_entries(s["t"])

    if os.environ.get(CAPTURE_ENV):
        Path(os.environ[CAPTURE_ENV]).write_text(s["proc"])

    stable = {k: v for k, v in first.items() if k in second and second[k][0] == v[0]}
    assert len(stable) >= 30, f"too few stable entries to compare: {len(stable)} of {len(first)}"
    by_key = {}
    for e in ours:
        key = (e["protocol"], e["source"], e["virtual"], e["destination"])
        assert key not in by_key, e
        by_key[key] = e
        assert key in first or key in second, f"lvstui shows an entry ipvsadm never showed: {e}"
    compared = 0
    for key, (state, expires) in stable.items():
        assert key in by_key, f"lvstui misses {key} ({state})"
        e = by_key[key]
        assert e["state"] == state, (key, e, state)
        # read between the two ipvsadm runs: its expiry lies between theirs (1 s of rounding)
        assert second[key][1] - 1 <= e["expires"] <= expires + 1, (key, e, first[key], second[key])
        compared += 1
    # The readable form, read between a2 and a3: the same columns as ipvsadm -Lnc.
    for key, (state, expires) in second.items():
        if key in third and third[key][0] == state:
            assert key in table, f"the table misses {key}"
            t_state, t_expires = table[key]
            assert t_state == state and third[key][1] - 1 <= t_expires <= expires + 1, (key, table[key])
            compared += 1
    assert set(table) <= set(second) | set(third)
    assert s["t"].splitlines()[:2] == s["a2"].splitlines()[:2]  # the same title and header

    # Every kind of entry the client made is there (so the comparison covered it).
    kinds = {(k[0], v[0]) for k, v in stable.items()}
    for kind in [("TCP", "ESTABLISHED"), ("TCP", "SYN_RECV"), ("TCP", "FIN_WAIT"), ("TCP", "TIME_WAIT"),
                 ("TCP", "CLOSE"), ("UDP", "UDP"), ("TCP", "ASSURED"), ("UDP", "NONE"), ("IP", "NONE")]:
        assert kind in kinds, f"no {kind} entry was made: {sorted(kinds)}"
    # the client's INIT, then INIT again: INIT1, then INIT (the kernel's SCTP state table)
    assert kinds & {("SCTP", "INIT1"), ("SCTP", "INIT")}, f"no SCTP entry: {sorted(kinds)}"
    assert any("[" in k[1] for k in stable), "no IPv6 entry"
    templates = [e for e in ours if e["template"]]
    assert {(e["protocol"], e["service"]) for e in templates} >= {
        ("TCP", f"tcp:{vip}:80"), ("TCP", f"tcp:[{lab.spec.vip6}]:80"), ("UDP", f"udp:{vip}:5454"),
        ("IP", "fwmark:7"), ("IP", "fwmark:8:inet6")}, templates
    masked = lab.spec.host("client").ipv4.rsplit(".", 1)[0] + ".0:0"
    assert any(e["source"] == masked for e in templates), "netmask /24 not applied to a template"

    # The kernel's own counters, kept from the template flag: per service and real server,
    # PersistConn = lvstui's templates, ActiveConn + InActConn = the other entries.
    before = ipvsadm_text.parse(s["pc1"], "--persistent-conn")
    after = ipvsadm_text.parse(s["pc2"], "--persistent-conn")
    got_t: Counter[tuple[str, str]] = Counter()
    got_c: Counter[tuple[str, str]] = Counter()
    for e in ours:
        assert e["service"] is not None, f"service not resolved: {e}"
        dest = e["destination"]
        if e["service"].startswith("fwmark:"):  # real servers of fwmark services have port 0
            dest = dest.rsplit(":", 1)[0] + ":0"
        (got_t if e["template"] else got_c)[(e["service"], dest)] += 1
    steady = 0
    for vs_id, row in before.items():
        for rs_id, values in row.real_servers.items():
            if after[vs_id].real_servers[rs_id] != values:
                continue  # an entry came or went during lvstui's read
            steady += 1
            assert got_t[(vs_id, rs_id)] == int(values["persistent_conns"]), (vs_id, rs_id)  # type: ignore[call-overload]
            n = int(values["active_conns"]) + int(values["inactive_conns"])  # type: ignore[call-overload]
            assert got_c[(vs_id, rs_id)] == n, (vs_id, rs_id)
            compared += 2
    assert steady >= 10, f"only {steady} real servers kept their counters during the read"

    # ip_vs_conn_sync: the same entries, each with its origin (LOCAL: no sync daemon here)
    sync = json.loads(s["js"])
    assert sync and {e["origin"] for e in sync} == {"LOCAL"}
    assert compared > 40
