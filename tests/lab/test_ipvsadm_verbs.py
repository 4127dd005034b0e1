"""save, timeouts and zero against ipvsadm on the same kernel (issue 14, item 6)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.lab.test_ipvs_parity import _build_table
from tests.support import ipvsadm_text

pytestmark = pytest.mark.lab
STATE = {"LVSTUI_STATE_DIR": "/tmp/lvstui-ipvsadm-verbs"}


def ipvsadm(lab: Any, *args: str) -> str:
    return str(lab.run("lb1", ["ipvsadm", *args]).check().stdout)


def test_save_is_ipvsadm_S_and_ipvsadm_R_reads_it_back(dr_lab: Any) -> None:
    lab = dr_lab
    _build_table(lab, "lb1")  # every scheduler, forwarding method, tunnel type, flag, fwmark, IPv6
    try:
        theirs = ipvsadm(lab, "-S", "-n")
        r = lab.lvstui("lb1", "save")
        assert r.rc == 0, r.describe()
        assert r.stdout == theirs
        assert len(theirs.splitlines()) > 50
        lab.sh("lb1", "ipvsadm -C").check()
        assert ipvsadm(lab, "-S", "-n") == ""
        lab.run("lb1", ["ipvsadm", "-R"], input=r.stdout).check()
        assert ipvsadm(lab, "-S", "-n") == theirs
        assert lab.lvstui("lb1", "--readonly", "save").stdout == theirs  # a read: allowed read-only
    finally:
        lab.sh("lb1", "ipvsadm -C; ipvsadm --stop-daemon master; ipvsadm --stop-daemon backup; true")


def test_timeouts_show_set_refuse_and_undo_like_ipvsadm_set(dr_lab: Any) -> None:
    lab = dr_lab
    lab.sh("lb1", "rm -rf /tmp/lvstui-ipvsadm-verbs; ipvsadm --set 600 60 120").check()
    try:
        r = lab.lvstui("lb1", "timeouts", env=STATE)
        assert r.rc == 0 and r.stdout == ipvsadm(lab, "-L", "--timeout"), r.describe()
        r = lab.lvstui("lb1", "timeouts", "--tcp", "700", "--udp", "100", env=STATE)
        assert r.rc == 0, r.describe()
        assert "IPVS timeouts: tcp 600, tcpfin 60, udp 120 -> tcp 700, tcpfin 60, udp 100" in r.stdout
        assert ipvsadm(lab, "-L", "--timeout").strip() == "Timeout (tcp tcpfin udp): 700 60 100"
        for bad in (["--tcp", "0"], ["--udp", "x"], ["--tcpfin", "9999999"]):
            r = lab.lvstui("lb1", "timeouts", *bad, env=STATE)
            assert r.rc == 2 and r.stderr.count("\n") == 1, r.describe()
        r = lab.lvstui("lb1", "--readonly", "timeouts", "--tcp", "5", env=STATE)
        assert r.rc == 3, r.describe()
        assert ipvsadm(lab, "-L", "--timeout").strip() == "Timeout (tcp tcpfin udp): 700 60 100"
        r = lab.lvstui("lb1", "undo", "--yes", env=STATE)
        assert r.rc == 0, r.describe()
        assert ipvsadm(lab, "-L", "--timeout").strip() == "Timeout (tcp tcpfin udp): 600 60 120"
        journal = lab.sh("lb1", "cat /tmp/lvstui-ipvsadm-verbs/journal.jsonl").check().stdout
        assert journal.count('"verb": "timeouts"') >= 2 and '"timeouts": {"before"' in journal
    finally:
        lab.sh("lb1", "ipvsadm --set 900 120 300")


def stats(lab: Any) -> dict[str, dict[str, int]]:
    table = ipvsadm_text.parse(ipvsadm(lab, "-Ln", "--stats", "--exact"), "--stats")
    out = {vs_id: {k: int(v) for k, v in row.values.items()} for vs_id, row in table.items()}  # type: ignore[call-overload]
    for vs_id, row in table.items():
        for rs_id, values in row.real_servers.items():
            out[f"{vs_id} {rs_id}"] = {k: int(v) for k, v in values.items()}  # type: ignore[call-overload]
    return out


TRAFFIC = """
import socket
for port in (80, 9000):
    for _ in range(6):
        with socket.create_connection((%(vip)r, port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n" if port == 80 else b"hi\\n")
            s.recv(100)
"""


def test_zero_one_service_then_all_as_ipvsadm_Z_does(dr_lab: Any) -> None:
    lab = dr_lab
    vip = lab.spec.vip
    script = f"set -e\nip addr replace {vip}/32 dev eth0\nipvsadm -C\nrm -rf /tmp/lvstui-ipvsadm-verbs\n"
    for port in (80, 9000):
        script += f"ipvsadm -A -t {vip}:{port} -s rr\n"
        script += "".join(f"ipvsadm -a -t {vip}:{port} -r {rs.ipv4}:{port} -g\n" for rs in lab.spec.real_servers)
    lab.sh("lb1", script).check()
    web, echo = f"tcp:{vip}:80", f"tcp:{vip}:9000"
    try:
        lab.run("client", [lab.venv_python, "-c", TRAFFIC % {"vip": vip}]).check()
        lab.wait_for(lambda: stats(lab)[web]["conns"] >= 6 and stats(lab)[echo]["conns"] >= 6, timeout=30,
                     what="counted connections on both services")
        r = lab.lvstui("lb1", "--readonly", "zero", web, env=STATE)
        assert r.rc == 3 and stats(lab)[web]["conns"] >= 6, r.describe()
        r = lab.lvstui("lb1", "zero", web, env=STATE)
        assert r.rc == 0 and f"zero the counters of {web} and its real servers" in r.stdout, r.describe()
        after = stats(lab)
        # What ipvsadm -Z -t VIP:80 does: the service and its real servers at 0, the other service kept.
        zeroed = {k: v for k, v in after.items() if k.startswith(web)}
        assert zeroed and all(v == 0 for row in zeroed.values() for v in row.values()), zeroed
        assert after[echo]["conns"] >= 6 and after[echo]["inpkts"] > 0
        r = lab.lvstui("lb1", "undo", "--yes", env=STATE)
        assert r.rc == 3 and "cannot be undone" in r.stderr, r.describe()
        r = lab.lvstui("lb1", "zero", env=STATE)
        assert r.rc == 0, r.describe()
        everything = stats(lab)
        ipvsadm(lab, "-Z")
        assert everything == stats(lab)  # nothing left that ipvsadm -Z would zero
        assert all(v == 0 for row in everything.values() for v in row.values())
        r = lab.lvstui("lb1", "zero", "tcp:10.9.9.9:1", env=STATE)
        assert r.rc == 3 and "does not exist" in r.stderr, r.describe()
    finally:
        lab.sh("lb1", f"ipvsadm -C; ip addr del {vip}/32 dev eth0; true")


def test_sync_daemons_start_stop_and_status_as_ipvsadm(dr_lab: Any) -> None:
    lab = dr_lab
    stop_all = "ipvsadm --stop-daemon master; ipvsadm --stop-daemon backup; rm -rf /tmp/lvstui-ipvsadm-verbs; true"
    lab.sh("lb1", stop_all).check()
    try:
        lab.sh("lb1", "ipvsadm --start-daemon master --mcast-interface lo --syncid 9").check()
        by_ipvsadm = ipvsadm(lab, "-L", "--daemon")
        lab.sh("lb1", "ipvsadm --stop-daemon master").check()
        r = lab.lvstui("lb1", "sync", "start", "master", "--interface", "lo", "--syncid", "9", env=STATE)
        assert r.rc == 0 and "start the master sync daemon (interface lo, syncid 9)" in r.stdout, r.describe()
        assert ipvsadm(lab, "-L", "--daemon") == by_ipvsadm  # the same daemon as ipvsadm --start-daemon
        r = lab.lvstui("lb1", "sync", "start", "backup", "--interface", "lo", "--syncid", "9", env=STATE)
        assert r.rc == 0, r.describe()
        both = ipvsadm(lab, "-L", "--daemon")
        assert [d["state"] for d in ipvsadm_text.parse_daemons(both)] == ["master", "backup"]
        r = lab.lvstui("lb1", "sync", "status", env=STATE)
        assert r.rc == 0 and r.stdout == both, r.describe()
        r = lab.lvstui("lb1", "sync", "start", "master", "--interface", "lo", "--syncid", "3", env=STATE)
        assert r.rc == 3 and "already runs" in r.stderr, r.describe()
        r = lab.lvstui("lb1", "--readonly", "sync", "stop", "master", env=STATE)
        assert r.rc == 3 and ipvsadm(lab, "-L", "--daemon") == both, r.describe()
        r = lab.lvstui("lb1", "sync", "stop", "master", env=STATE)
        assert r.rc == 0, r.describe()
        assert [d["state"] for d in ipvsadm_text.parse_daemons(ipvsadm(lab, "-L", "--daemon"))] == ["backup"]
        r = lab.lvstui("lb1", "undo", "--yes", env=STATE)  # the stop undone: the master runs again
        assert r.rc == 0, r.describe()
        assert ipvsadm(lab, "-L", "--daemon") == both
        lab.sh("lb1", "ipvsadm --stop-daemon backup").check()
        r = lab.lvstui("lb1", "sync", "start", "backup", "--interface", "nosuch0", env=STATE)
        assert r.rc == 1 and r.stderr.count("\n") == 1, r.describe()
        assert [d["state"] for d in ipvsadm_text.parse_daemons(ipvsadm(lab, "-L", "--daemon"))] == ["master"]
    finally:
        lab.sh("lb1", stop_all)


def test_load_changes_exactly_the_differing_lines_all_or_nothing_and_undo_restores(dr_lab: Any) -> None:
    lab = dr_lab
    _build_table(lab, "lb1")
    lab.sh("lb1", "rm -rf /tmp/lvstui-ipvsadm-verbs").check()
    try:
        original = ipvsadm(lab, "-S", "-n")
        thresholds = ipvsadm(lab, "-Ln", "--thresholds")
        changed = (original.replace("-r 10.9.1.8:80 -g -w 2147483647", "-r 10.9.1.8:80 -g -w 5")
                   .replace("-a -t 10.9.0.2:80 -r 10.9.1.7:80 -g -w 0\n", "")
                   .replace("-A -t 10.9.0.1:1000 -s rr\n", "-A -t 10.9.0.1:1000 -s wrr\n")
                   + "-A -t 10.9.0.7:443 -s rr\n-a -t 10.9.0.7:443 -r 10.9.1.7:443 -g -w 2\n")
        lab.write_file("lb1", "/tmp/changed.rules", changed)
        r = lab.lvstui("lb1", "load", "/tmp/changed.rules", "--dry-run", env=STATE)
        assert r.rc == 0 and "dry run: nothing changed" in r.stdout, r.describe()
        assert r.stdout.splitlines()[1:-1] == [
            "  edit virtual service tcp:10.9.0.1:1000: rr -> wrr",
            "  remove real server 10.9.1.7:80 from tcp:10.9.0.2:80",
            "  tcp:10.9.0.2:80 -> 10.9.1.8:80: weight 2147483647 -> 5",
            "  add virtual service tcp:10.9.0.7:443 (rr)",
            "  add real server 10.9.1.7:443 to tcp:10.9.0.7:443 (DR, weight 2)",
        ], r.stdout
        assert ipvsadm(lab, "-S", "-n") == original
        r = lab.lvstui("lb1", "--readonly", "load", "/tmp/changed.rules", "--yes", env=STATE)
        assert r.rc == 3 and ipvsadm(lab, "-S", "-n") == original, r.describe()
        r = lab.lvstui("lb1", "load", "/tmp/changed.rules", env=STATE)  # no terminal, no --yes
        assert r.rc == 3 and ipvsadm(lab, "-S", "-n") == original, r.describe()
        r = lab.lvstui("lb1", "load", "/tmp/changed.rules", "--yes", env=STATE)
        assert r.rc == 0 and "loaded: 5 changes" in r.stdout, r.describe()
        # The kernel's table is now the file's, and what the file does not give (thresholds) stayed.
        after = ipvsadm(lab, "-S", "-n")
        assert sorted(after.splitlines()) == sorted(changed.splitlines())
        kept = ipvsadm_text.parse(ipvsadm(lab, "-Ln", "--thresholds"), "--thresholds")["tcp:10.9.0.2:80"]
        assert (kept.real_servers["10.9.1.1:8080"]["upper_threshold"],
                kept.real_servers["10.9.1.1:8080"]["lower_threshold"]) == (100, 10)
        r = lab.lvstui("lb1", "load", "/tmp/changed.rules", "--yes", env=STATE)
        assert r.rc == 0 and "nothing to change" in r.stdout, r.describe()
        # All or nothing: the weight change applies first, then the kernel refuses a scheduler it
        # has no module for (the lab loads every IPVS module the kernel has; twos came with 6.2).
        if lab.sh("lb1", "test -d /sys/module/ip_vs_twos").rc != 0:
            failing = changed.replace("-r 10.9.1.8:80 -g -w 5", "-r 10.9.1.8:80 -g -w 6") + "-A -t 10.9.0.8:80 -s twos\n"
            lab.write_file("lb1", "/tmp/failing.rules", failing)
            r = lab.lvstui("lb1", "load", "/tmp/failing.rules", "--yes", env=STATE)
            assert r.rc == 1 and r.stderr.count("\n") == 1 and "undone: tcp:10.9.0.2:80 -> 10.9.1.8:80" in r.stderr, \
                r.describe()
            assert ipvsadm(lab, "-S", "-n") == after
        else:
            print("\nthis kernel has ip_vs_twos: the all-or-nothing part of the load test did not run")
        # A bad line changes nothing and names the line.
        lab.write_file("lb1", "/tmp/bad.rules", original + "-a -t 10.9.0.2:80 -r 10.9.1.99:80 -g -w x\n")
        r = lab.lvstui("lb1", "load", "/tmp/bad.rules", "--yes", env=STATE)
        assert r.rc == 2 and r.stderr.startswith(f"lvstui: /tmp/bad.rules:{len(original.splitlines()) + 1}:"), \
            r.describe()
        assert ipvsadm(lab, "-S", "-n") == after
        r = lab.lvstui("lb1", "undo", "--yes", env=STATE)
        assert r.rc == 0, r.describe()
        assert ipvsadm(lab, "-S", "-n") == original
        assert ipvsadm(lab, "-Ln", "--thresholds") == thresholds
    finally:
        lab.sh("lb1", "ipvsadm -C; ipvsadm --stop-daemon master; ipvsadm --stop-daemon backup; true")
