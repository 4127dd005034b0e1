"""The pair's other director over real SSH in the lab (issue 15, items 1-3): lvstui on lb1 with
``snapshot --peer root@10.0.0.12`` under a keepalived pair (lb1 MASTER, lb2 BACKUP), lb2 running
sshd. As on real pairs, the two directors have a management network (eth1, 10.0.0.0/24) besides
the LAN (eth0) that carries VRRP and the clients' traffic; lb2's sshd listens only there.

* lb2's host key unknown: the peer is an error in the document, the snapshot still printed;
  accepted explicitly: lb2 is BACKUP there, the VIP on lb1, lb2's table is lb2's own
  ``ipvsadm -Ln``, and a weight changed by hand on lb2 shows in ``differences``;
* without lvstui on the peer (the command does not answer): its table from ``ipvsadm -S -n``;
* split brain: lb2 cut off the LAN (its port leaves the bridge, the management link stays):
  lb2 hears no advert and takes over while lb1 stays MASTER; both MASTER is named in
  ``split_brain`` from both directors' state (the peer is still read over the management link),
  and clears once lb2 is back on the LAN and hears lb1 again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from lvstui.lab import Lab, LabProcess
from lvstui.lab.lab import KEEPALIVED_CONF, REPO_DIR
from tests.lab.cluster import module_cluster
from tests.lab.keepalived_pair import start_pair
from tests.support import ipvsadm_text

pytestmark = pytest.mark.lab
VS = "tcp:192.168.1.100:80"
PAIR = ("lb1", "lb2")  # on the management network too
SSHD_CONFIG = (
    "ListenAddress {listen}:22\nHostKey /etc/lab-ssh/host_ed25519\nPermitRootLogin prohibit-password\n"
    "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nUseDNS no\n"
    "PidFile /run/sshd.pid\nLogLevel ERROR\n")


def start(lab: Lab) -> None:
    start_pair(lab)
    lab.sh("lb1", "mkdir -p /root/.ssh && chmod 700 /root/.ssh && rm -f /root/.ssh/known_hosts /root/.ssh/id_ed25519* "
                  "&& ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519", timeout=60).check()
    # on the management address where lb2 has one (SSH kept off the LAN), else on every address
    listen = lab.spec.mgmt_ipv4("lb2") if "lb2" in lab.spec.mgmt else "0.0.0.0"
    serve_ssh(lab, "lb2", lab.read_file("lb1", "/root/.ssh/id_ed25519.pub"), listen)


def serve_ssh(lab: Lab, host: str, pub: str, listen: str = "0.0.0.0") -> None:
    """sshd on *host*'s port 22 of *listen* (a fresh host key), root's login with the key *pub*."""
    lab.sh(host, "mkdir -p /run/sshd /etc/lab-ssh /root/.ssh && chmod 700 /root/.ssh && : > /root/.bashrc && "
                 "rm -f /etc/lab-ssh/host_ed25519* && ssh-keygen -q -t ed25519 -N '' -f /etc/lab-ssh/host_ed25519",
           timeout=60).check()
    lab.write_file(host, "/etc/lab-ssh/sshd_config", SSHD_CONFIG.format(listen=listen))
    lab.write_file(host, "/root/.ssh/authorized_keys", pub, mode=0o600)
    lab.spawn(host, ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/lab-ssh/sshd_config"])
    lab.wait_for(lambda: lab.sh(host, f"ss -Hltn | grep -qF '{listen}:22 '").ok, timeout=30, what=f"sshd in {host}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from module_cluster(tmp_path_factory, "peer", ("http",), start=start, mgmt=PAIR)


def peer_target(lab: Lab) -> str:
    """lb2 over the management link, as ``--peer`` names it (and lvstui names the peer)."""
    return f"root@{lab.spec.mgmt_ipv4('lb2')}"


def lvstui_command(lab: Lab) -> str:
    return f"env PYTHONPATH={REPO_DIR} {lab.venv_python} -m lvstui"


def peer_snapshot(lab: Lab, *extra: str, command: str | None = None) -> dict[str, Any]:
    cmd = command or lvstui_command(lab)
    r = lab.lvstui("lb1", "snapshot", "--json", "--peer", peer_target(lab), "--peer-command", cmd,
                   "--peer-wait", "40", *extra, timeout=120)
    assert r.rc == 0, r.describe()
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def trust_lb2(lab: Lab) -> None:
    """lb2's host key accepted explicitly (a no-op once known), so a test does not depend on
    test_the_peer_beside_this_director having run before it."""
    assert peer_snapshot(lab, "--accept-new-host-key")["peer"]["error"] is None


def table(services: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    return {vs["id"]: {rs["id"]: rs["weight"] for rs in vs["real_servers"]} for vs in services}


def test_unknown_host_key_is_an_error_in_the_document_not_a_failure(lab: Lab) -> None:
    doc = peer_snapshot(lab)
    peer = doc["peer"]
    assert peer["reachable"] is False and peer["virtual_services"] == [] and peer["stale"] is True
    assert "unknown host key" in peer["error"] and "--accept-new-host-key" in peer["error"]
    assert doc["virtual_services"], "lb1's own snapshot is printed all the same"
    assert lab.sh("lb1", "test -e /root/.ssh/known_hosts").rc != 0


def test_the_peer_beside_this_director(lab: Lab) -> None:
    doc = peer_snapshot(lab, "--accept-new-host-key")
    peer = doc["peer"]
    assert peer["error"] is None and peer["reachable"] is True and peer["via"] == "lvstui", peer
    # over the management link: lb2's sshd listens there only; lb1 knows it as lb2-mgmt too
    assert lab.run("lb2", ["ss", "-Hltn", "sport", "=", ":22"]).check().stdout.split()[3::5] == ["10.0.0.12:22"]
    assert lab.run("lb1", ["getent", "ahostsv4", "lb2-mgmt"]).check().stdout.split()[0] == "10.0.0.12"
    assert [(v["state"], v["virtual_router_id"]) for v in doc["vrrp"]] == [("MASTER", 51)]
    # lb1 started BACKUP and took over when no advert came: logged, counted, with its reason
    assert doc["vrrp"][0]["transitions_last_hour"] >= 1, doc["keepalived"]["transitions"]
    assert doc["vrrp"][0]["last_transition_reason"] == "Receive advertisement timeout", doc["keepalived"]["transitions"]
    assert [(v["state"], v["virtual_router_id"]) for v in peer["vrrp"]] == [("BACKUP", 51)]
    assert "192.168.1.100" in doc["vrrp"][0]["vips"][0]
    assert doc["split_brain"] == []
    # the peer's table is lb2's own, as ipvsadm prints it there
    own = ipvsadm_text.parse(lab.run("lb2", ["ipvsadm", "-Ln", "--exact"]).check().stdout, "")
    assert table(peer["virtual_services"]) == {
        vs: {rs: int(str(v["weight"])) for rs, v in row.real_servers.items()} for vs, row in own.items()}
    assert peer["differences"] == []
    # known now: a second run needs no acceptance
    assert peer_snapshot(lab)["peer"]["error"] is None


def test_a_difference_made_by_hand_on_the_peer(lab: Lab) -> None:
    trust_lb2(lab)
    lab.sh("lb2", "ipvsadm -e -t 192.168.1.100:80 -r 192.168.1.21:80 -g -w 7").check()
    try:
        peer = peer_snapshot(lab)["peer"]
        assert {"kind": "weight", "ids": [VS, "192.168.1.21:80"], "here": "1", "peer": "7"} in peer["differences"]
        # without lvstui there: ipvsadm -S -n, the same difference (no thresholds, no VRRP)
        peer = peer_snapshot(lab, command="/nonexistent/lvstui")["peer"]
        assert peer["via"] == "ipvsadm" and peer["vrrp"] == [] and peer["error"] is None, peer
        assert {"kind": "weight", "ids": [VS, "192.168.1.21:80"], "here": "1", "peer": "7"} in peer["differences"]
        assert [d for d in peer["differences"] if d["kind"] != "weight"] == []
    finally:
        lab.sh("lb2", "ipvsadm -e -t 192.168.1.100:80 -r 192.168.1.21:80 -g -w 1")


def test_a_difference_between_the_keepalived_configurations(lab: Lab) -> None:
    """lb2's keepalived.conf edited (not reloaded: the kernels still agree): what lb2 would set up
    after its next restart or a reload differs from lb1's, and says so."""
    trust_lb2(lab)
    original = lab.read_file("lb2", KEEPALIVED_CONF)
    rs3 = "    real_server 192.168.1.23 80 {\n        weight 1\n"
    assert original.count(rs3) == 1
    lab.write_file("lb2", KEEPALIVED_CONF, original.replace(rs3, rs3.replace("weight 1", "weight 3")))
    try:
        peer = peer_snapshot(lab)["peer"]
        assert peer["differences"] == [
            {"kind": "config-weight", "ids": [VS, "192.168.1.23:80"], "here": "1", "peer": "3"}], peer["differences"]
    finally:
        lab.write_file("lb2", KEEPALIVED_CONF, original)
    assert peer_snapshot(lab)["peer"]["differences"] == []


def holds_vip(lab: Lab, host: str) -> bool:
    return "192.168.1.100/" in lab.run(host, ["ip", "-br", "addr", "show", "eth0"]).check().stdout


@contextmanager
def lb2_cut_off(lab: Lab) -> Iterator[dict[str, float]]:
    """lb2 off the LAN (the management link kept): it hears no advert and takes over while lb1
    stays MASTER, both holding the VIP. Yields the guest's clock at the cut ("cut"), and after
    it at the reconnection ("back"); on leaving, lb2 is back on the LAN and has given up the VIP."""
    clock = {"cut": lab.disconnect("lb2")}
    try:
        lab.wait_for(lambda: holds_vip(lab, "lb2"), timeout=30, what="lb2, off the LAN, to take the VIP")
        assert holds_vip(lab, "lb1"), "lb1 does not hear lb2 either: it stays MASTER"
        yield clock
    finally:
        clock["back"] = lab.reconnect("lb2")
    lab.wait_for(lambda: not holds_vip(lab, "lb2"), timeout=30, what="lb2, back on the LAN, to give up the VIP")


WATCH = "/tmp/pair-watch.jsonl"


def watch_pair(lab: Lab) -> LabProcess:
    """``snapshot --json --peer`` on lb1 every 0.5 s from one process (so each document is as fresh
    as the reader makes it, not a process start-up late), into WATCH; running once the peer is read."""
    argv = [lab.venv_python, "-m", "lvstui", "snapshot", "--json", "--peer", peer_target(lab),
            "--peer-command", lvstui_command(lab), "--peer-wait", "40", "--repeat", "100000", "--interval", "0.5"]
    proc = lab.spawn("lb1", ["/bin/sh", "-c", f'exec "$@" >{WATCH}', "sh", *argv], env={"PYTHONPATH": str(REPO_DIR)})
    lab.wait_for(lambda: any(d["peer"]["reachable"] and d["peer"]["vrrp"] for d in watched(lab)),
                 timeout=90, interval=0.5, what="the pair watch to read the peer")
    return proc


def watched(lab: Lab, since: float = 0.0) -> list[dict[str, Any]]:
    """The documents WATCH holds taken at or after *since* (the guest's clock), whole lines only."""
    docs = [json.loads(line) for line in lab.read_file("lb1", WATCH).split("\n")[:-1]]
    return [d for d in docs if taken(d) >= since]


def taken(doc: dict[str, Any]) -> float:
    return datetime.fromisoformat(doc["taken_at"]).timestamp()


def states(vrrp: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(v["virtual_router_id"], v["state"]) for v in vrrp]


def test_split_brain_is_named_and_clears(lab: Lab) -> None:
    trust_lb2(lab)
    watch = watch_pair(lab)
    try:
        with lb2_cut_off(lab) as clock:
            doc = lab.wait_for(lambda: next((d for d in watched(lab, clock["cut"]) if d["split_brain"]), None),
                               timeout=60, interval=0.2, what="split brain in lb1's snapshots")
            print(f"\nsplit brain in lb1's snapshot {taken(doc) - clock['cut']:.1f} s after lb2 was cut off the LAN "
                  f"(snapshots every 0.5 s, lb2 read over the management link): {doc['split_brain']}")
            # lb2 is still read over the management link: both directors' own state says MASTER
            assert doc["peer"]["reachable"] is True and doc["peer"]["error"] is None, doc["peer"]
            assert states(doc["vrrp"]) == [(51, "MASTER")] and states(doc["peer"]["vrrp"]) == [(51, "MASTER")]
            assert doc["split_brain"] == [{"vrid": 51, "instances": ["VI_1", "VI_1"],
                                           "masters": ["here", peer_target(lab)], "seen_by": "state"}]
        back = clock["back"]
        clear = lab.wait_for(
            lambda: next((d for d in watched(lab, back) if not d["split_brain"]
                          and states(d["peer"]["vrrp"]) == [(51, "BACKUP")]), None),
            timeout=60, interval=0.2, what="split brain to clear once lb2 hears lb1 again")
        assert states(clear["vrrp"]) == [(51, "MASTER")] and clear["peer"]["reachable"] is True
        print(f"cleared: lb2 BACKUP again and no split brain {taken(clear) - back:.1f} s after its LAN link "
              "was back and lb2 had given up the VIP")
    finally:
        lab.stop(watch)


def test_connection_sync_reports_the_backups_counts(lab: Lab) -> None:
    trust_lb2(lab)
    # lb1 (VRRP MASTER, carrying the client's traffic) sends, lb2 receives, syncid 7
    lab.sh("lb1", "ipvsadm --start-daemon master --mcast-interface eth0 --syncid 7").check()
    lab.sh("lb2", "ipvsadm --start-daemon backup --mcast-interface eth0 --syncid 7").check()
    try:
        doc = peer_snapshot(lab)
        assert doc["peer"]["connection_sync"]["verdict"] in ("idle", "syncing"), doc["peer"]["connection_sync"]
        script = ("import urllib.request\n"
                  "for _ in range(30):\n"
                  "    urllib.request.urlopen('http://192.168.1.100/', timeout=5).read()\n")
        lab.run("client", [lab.python, "-I", "-S", "-c", script], timeout=120).check()
        sync = lab.wait_for(lambda: (s := peer_snapshot(lab)["peer"]["connection_sync"])["verdict"] == "syncing"
                            and s, timeout=60, interval=2, what="the backup to hold the master's connections")
        own = ipvsadm_text.parse(lab.run("lb2", ["ipvsadm", "-Ln", "--exact"]).check().stdout, "")
        backup_conns = sum(int(str(v["active_conns"])) + int(str(v["inactive_conns"])) for v in own[VS].real_servers.values())
        print(f"\nconnection sync: {sync['detail']}; lb2's own ipvsadm: {backup_conns} entries on {VS}")
        assert sync["master"] == "here" and backup_conns > 0
        [row] = [s for s in sync["services"] if s["service"] == VS]
        assert row["backup"] > 0 and row["master"] >= 20
    finally:
        lab.sh("lb1", "ipvsadm --stop-daemon master")
        lab.sh("lb2", "ipvsadm --stop-daemon backup")
    assert peer_snapshot(lab)["peer"]["connection_sync"]["verdict"] == "off"


def pair_dashboard(lab: Lab, until: str = "backup") -> dict[str, Any]:
    """What the dashboard on lb1 shows with ``--peer root@10.0.0.12`` (tests/lab/guest_pair_dashboard.py)."""
    trust_lb2(lab)
    guest = str(Path(__file__).with_name("guest_pair_dashboard.py"))
    r = lab.run("lb1", [lab.venv_python, guest, peer_target(lab), lvstui_command(lab), "60", until],
                env={"PYTHONPATH": str(REPO_DIR)}, timeout=180)
    assert r.rc == 0, r.describe()
    shown: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    assert shown["wrapped"] == "WithPeer"
    print(f"\npair panel after {shown['frames']} frames: {shown['panel']}")
    return shown


def test_the_dashboard_shows_the_peer(lab: Lab) -> None:
    """`lvstui --peer root@10.0.0.12` on lb1: the pair panel names lb2, read over its snapshot
    stream, both directors' VRRP (lb1 MASTER holding the VIP, lb2 BACKUP), and b lists the (no)
    differences."""
    peer = peer_target(lab)
    shown = pair_dashboard(lab)
    panel = shown["panel"]
    assert panel[0].startswith(f"Peer {peer} · lvstui · read ") and "tables equal" in panel[0], panel
    assert panel[1].startswith("VI_1 #51  here MASTER ") and f"  {peer} BACKUP 100  " in panel[1], panel
    assert "192.168.1.100" in panel[1] and panel[1].endswith(" on here"), panel
    assert "SPLIT BRAIN" not in shown["header"] and "MASTER" in shown["header"]
    assert "Differences between the two tables (0)" in shown["pair_screen"], shown["pair_screen"]


def test_the_dashboard_shows_split_brain(lab: Lab) -> None:
    """lb2 cut off the LAN (still read over the management link): both MASTER, and the dashboard
    on lb1 says SPLIT BRAIN in its header and names VRID 51 on a line of its own."""
    peer = peer_target(lab)
    with lb2_cut_off(lab):
        shown = pair_dashboard(lab, "split-brain")
        assert "SPLIT BRAIN VRID 51" in shown["header"], shown
        assert shown["panel"][0].strip().startswith(f"SPLIT BRAIN VRID 51 (VI_1): MASTER on here and {peer} ("), shown
        print(f"split brain on screen {shown['after']:.1f} s after the dashboard started")
