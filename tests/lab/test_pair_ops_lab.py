"""Drains that survive failover (issue 15, item 5), in the lab: lvstui on lb1 with ``--peer lb2``
makes each durable change on lb2 too, through lb2's own lvstui over SSH on the pair's management
link (``--peer 10.0.0.12``: sshd on lb2 listening there, lb1's root key authorized, as
tests/lab/test_peer_lab.py sets them up), under the keepalived pair
(lb1 MASTER, lb2 BACKUP; keepalived manages the virtual server on both).

* drain rs1 on lb1: rs1 at weight 0 in both kernels, lb2's keepalived.conf made durable by
  lb2's own operations layer (its FILE_CHECK and track file), journaled on both, lb1's entry
  naming lb2's; lb1 demoted: lb2 MASTER sends the client's new connections to rs2 and rs3 only;
  restore brings rs1 back on both, and lb2 sends to it again;
* the peer unreachable (a port nothing listens on): refused with one line, nothing changed on
  either director; ``--local-only``: lb1 only, said in the output and lb1's journal;
* ``--readonly``: refused before the peer is asked;
* lb2's director lock held by another operator: lb2's lvstui refuses with its busy line, nothing
  changed on either director; lb2's journal names lb1 (``--on-behalf-of``, and the address its
  SSH came from) as lb1's names lb2;
* the dashboard on lb1 (tests/lab/guest_pair_ops_dashboard.py) drains rs1 from the keyboard: on
  both kernels, lb2's keepalived.conf durable, journaled on both; with the peer unreachable,
  refused with one line and nothing changed, or on lb1 only with "This director only".
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lvstui.lab import Lab
from lvstui.lab.lab import KEEPALIVED_CONF, REPO_DIR
from lvstui.lab.results import CommandResult
from tests.lab.cluster import module_cluster
from tests.lab.test_peer_lab import PAIR, start
from tests.lab.test_vrrp_toggle import CLIENT  # fetches the VIP in a loop, one line per answer
from tests.support import ipvsadm_text

pytestmark = pytest.mark.lab
VS, RS1 = "tcp:192.168.1.100:80", "192.168.1.21:80"
STATE = {"lb1": "/tmp/pair-state-lb1", "lb2": "/tmp/pair-state-lb2"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from module_cluster(tmp_path_factory, "pairops", ("http",), start=start, mgmt=PAIR)


def on_lb1(lab: Lab, *args: str, peer: str | None = None, env: dict[str, str] | None = None) -> CommandResult:
    """lvstui on lb1 with lb2 as its peer (lb2's lvstui from this checkout, its own state directory)."""
    command = f"env LVSTUI_STATE_DIR={STATE['lb2']} PYTHONPATH={REPO_DIR} {lab.venv_python} -m lvstui"
    return lab.lvstui("lb1", "--peer", peer or lab.spec.mgmt_ipv4("lb2"), "--peer-command", command, *args,
                      env={"LVSTUI_STATE_DIR": STATE["lb1"], **(env or {})}, timeout=180)


def weight(lab: Lab, host: str, rs: str = RS1) -> int:
    table = ipvsadm_text.parse(lab.run(host, ["ipvsadm", "-Ln", "--exact"]).check().stdout, "")
    return int(table[VS].real_servers[rs]["weight"])  # type: ignore[call-overload]


def journal(lab: Lab, host: str) -> list[dict[str, Any]]:
    path = f"{STATE[host]}/journal.jsonl"
    if lab.run(host, ["test", "-e", path]).rc != 0:
        return []
    return [json.loads(line) for line in lab.read_file(host, path).splitlines()]


def host_name(lab: Lab, host: str) -> str:
    """The host name lvstui on HOST gives (what --on-behalf-of carries)."""
    return lab.run(host, [lab.python, "-c", "import socket; print(socket.gethostname())"]).check().stdout.strip()


HOLD = ("import sys, time; from pathlib import Path; from lvstui.ops.lock import DIRECTOR, held\n"
        "with held(DIRECTOR, 'weight tcp:192.168.1.100:80 192.168.1.22:80'):\n"
        "    Path(sys.argv[1]).write_text('held'); time.sleep(600)\n")


def holds_vip(lab: Lab, host: str) -> bool:
    return "192.168.1.100/" in lab.run(host, ["ip", "-br", "addr", "show", "eth0"]).check().stdout


def answered_after(lab: Lab, moment: float) -> list[str]:
    lines = lab.read_file("client", "/tmp/pair-traffic.log").splitlines()
    return [line.split()[2] for line in lines if float(line.split()[0]) > moment and " ok " in line]


def test_drain_on_both_survives_failover_and_restore_brings_it_back(lab: Lab) -> None:
    assert holds_vip(lab, "lb1") and weight(lab, "lb1") == 1 and weight(lab, "lb2") == 1
    r = on_lb1(lab, "drain", VS, RS1, "--accept-new-host-key")
    assert r.rc == 0, r.describe()
    assert weight(lab, "lb1") == 0 and weight(lab, "lb2") == 0
    lb2_conf = lab.read_file("lb2", KEEPALIVED_CONF)
    assert "FILE_CHECK" in lb2_conf and "track_file lvstui_" in lb2_conf, lb2_conf
    lab.run("lb2", ["keepalived", "-t", "-f", KEEPALIVED_CONF]).check()
    (peer_entry,) = [e for e in journal(lab, "lb2") if e["result"] == "applied"]
    assert peer_entry["verb"] == "drain" and peer_entry["change"]["server"] == RS1
    assert peer_entry["peer"] == {"host": host_name(lab, "lb1"), "role": "asking",
                                  "address": lab.spec.mgmt_ipv4("lb1")}, peer_entry
    (here,) = [e for e in journal(lab, "lb1") if e["result"] == "applied"]
    assert here["peer"]["host"] == lab.spec.mgmt_ipv4("lb2") and here["peer"]["result"] == "applied"
    assert here["peer"]["role"] == "asked"
    assert here["peer"]["entry"] == peer_entry["id"]
    assert f"peer {lab.spec.mgmt_ipv4('lb2')}: done (its journal {peer_entry['id']})" in r.stdout, r.stdout

    client = lab.spawn("client", [lab.python, "-c", CLIENT, "/tmp/pair-traffic.log"])
    demoted = False
    try:
        lab.wait_for(lambda: len(answered_after(lab, 0)) >= 3, timeout=20, what="the client answered via lb1")
        d = lab.lvstui("lb1", "vrrp", "demote", "--yes", "--timeout", "30", env={"LVSTUI_STATE_DIR": STATE["lb1"]},
                       timeout=90)
        assert d.ok, d.describe()
        demoted = True
        lab.wait_for(lambda: holds_vip(lab, "lb2") and not holds_vip(lab, "lb1"), timeout=15,
                     what="the VIP on lb2 only")
        moved = time.time()
        lab.wait_for(lambda: len(answered_after(lab, moved)) >= 20, timeout=30, what="20 answers through lb2")
        hosts = answered_after(lab, moved)
        # lb2, MASTER now, sends no new connection to the drained rs1 (round robin over the others)
        assert "rs1" not in hosts and {"rs2", "rs3"} <= set(hosts), hosts
        assert weight(lab, "lb2") == 0

        r = on_lb1(lab, "restore", VS, RS1)
        assert r.rc == 0, r.describe()
        assert weight(lab, "lb1") == 1
        lab.wait_for(lambda: weight(lab, "lb2") == 1, timeout=10, what="rs1 back at weight 1 on lb2")
        back = time.time()
        lab.wait_for(lambda: "rs1" in answered_after(lab, back), timeout=30, what="lb2 sending to rs1 again")
        restores = [e for e in journal(lab, "lb2") if e.get("verb") == "restore" and e["result"] == "applied"]
        assert len(restores) == 1
        (here,) = [e for e in journal(lab, "lb1") if e.get("verb") == "restore" and e["result"] == "applied"]
        assert here["peer"]["entry"] == restores[0]["id"]
    finally:
        lab.stop(client)
        if demoted:
            lab.lvstui("lb1", "vrrp", "promote", "--yes", "--timeout", "30", env={"LVSTUI_STATE_DIR": STATE["lb1"]},
                       timeout=90).check()


def test_peer_unreachable_refuses_and_local_only_is_said(lab: Lab) -> None:
    before = (len(journal(lab, "lb1")), len(journal(lab, "lb2")))
    r = on_lb1(lab, "weight", VS, RS1, "5", peer=f"{lab.spec.mgmt_ipv4('lb2')}:2222")
    assert r.rc == 3, r.describe()
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1, r.describe()
    assert "nothing was changed on either director" in r.stderr and "--local-only" in r.stderr
    assert weight(lab, "lb1") == 1 and weight(lab, "lb2") == 1
    assert len(journal(lab, "lb2")) == before[1]
    refused = journal(lab, "lb1")[before[0]:]
    assert [(e["result"], e["peer"]["result"]) for e in refused] == [("refused", "unreachable")]

    r = on_lb1(lab, "weight", VS, RS1, "5", "--local-only", peer=f"{lab.spec.mgmt_ipv4('lb2')}:2222")
    assert r.rc == 0, r.describe()
    assert f"LOCAL ONLY: the peer {lab.spec.mgmt_ipv4('lb2')}:2222 was not changed" in r.stdout, r.describe()
    assert weight(lab, "lb1") == 5 and weight(lab, "lb2") == 1
    last = journal(lab, "lb1")[-1]
    assert last["result"] == "applied" and last["peer"]["result"] == "local-only", last
    assert len(journal(lab, "lb2")) == before[1]
    assert on_lb1(lab, "weight", VS, RS1, "1", "--local-only").rc == 0


def test_failing_here_undoes_exactly_the_peers_entry(lab: Lab) -> None:
    before = (len(journal(lab, "lb1")), len(journal(lab, "lb2")))
    # lb1's kernel refuses its step (a fault point of lb1's lvstui only: lb2's runs without it)
    r = on_lb1(lab, "drain", VS, RS1, env={"LVSTUI_FAULT": "kernel:EBUSY"})
    assert r.rc == 1 and len(r.stderr.strip().splitlines()) == 1, r.describe()
    there = journal(lab, "lb2")[before[1]:]
    drained = [e for e in there if e.get("verb") == "drain" and e["result"] == "applied"]
    assert len(drained) == 1, there
    assert r.stderr.rstrip().endswith(
        f"undone on the peer {lab.spec.mgmt_ipv4('lb2')} (its journal {drained[0]['id']})"), r.describe()
    assert [e.get("undo_of") for e in there if e["result"] == "applied"][-1] == drained[0]["id"], there
    assert weight(lab, "lb1") == 1 and weight(lab, "lb2") == 1
    here = [e["result"] for e in journal(lab, "lb1")[before[0]:] if e.get("result") != "intent"]
    assert here == ["failed", "peer-undone"], here


def test_readonly_refuses_before_the_peer_is_asked(lab: Lab) -> None:
    before = len(journal(lab, "lb2"))
    r = on_lb1(lab, "--readonly", "drain", VS, RS1)
    assert r.rc == 3 and "read-only" in r.stderr, r.describe()
    assert weight(lab, "lb1") == 1 and weight(lab, "lb2") == 1 and len(journal(lab, "lb2")) == before


def test_the_peer_locked_by_another_operator_refuses_and_changes_nothing(lab: Lab) -> None:
    before = (len(journal(lab, "lb1")), len(journal(lab, "lb2")))
    lab.run("lb2", ["rm", "-f", "/tmp/pair-lock-held"]).check()
    holder = lab.spawn("lb2", [lab.venv_python, "-c", HOLD, "/tmp/pair-lock-held"],
                       env={"PYTHONPATH": str(REPO_DIR), "LVSTUI_STATE_DIR": STATE["lb2"]})
    try:
        lab.wait_for(lambda: lab.run("lb2", ["test", "-e", "/tmp/pair-lock-held"]).rc == 0, timeout=30,
                     what="another operator holding lb2's director lock")
        r = on_lb1(lab, "drain", VS, RS1)
    finally:
        lab.stop(holder)
    assert r.rc == 3 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1, r.describe()
    assert f"peer {lab.spec.mgmt_ipv4('lb2')}: busy: weight tcp:192.168.1.100:80 192.168.1.22:80 by " in r.stderr
    assert r.stderr.rstrip().endswith("(nothing was changed on either director)"), r.describe()
    assert weight(lab, "lb1") == 1 and weight(lab, "lb2") == 1
    there = [e for e in journal(lab, "lb2")[before[1]:] if e["result"] != "intent"]
    assert [(e["result"], e["peer"]["role"]) for e in there] == [("refused", "asking")], there
    here = [e for e in journal(lab, "lb1")[before[0]:] if e["result"] != "intent"]
    assert [(e["result"], e["peer"]["result"], e["peer"]["status"]) for e in here] == [("refused", "failed", 3)]
    r = on_lb1(lab, "weight", VS, RS1, "1")  # released: it goes through on both
    assert r.rc == 0, r.describe()


def dashboard_drain(lab: Lab, peer: str | None = None, *extra: str) -> dict[str, Any]:
    """The dashboard on lb1 (not read-only) with lb2 as its peer drains rs1 from the keyboard
    (tests/lab/guest_pair_ops_dashboard.py); what it showed."""
    guest = str(Path(__file__).with_name("guest_pair_ops_dashboard.py"))
    command = f"env LVSTUI_STATE_DIR={STATE['lb2']} PYTHONPATH={REPO_DIR} {lab.venv_python} -m lvstui"
    r = lab.run("lb1", [lab.venv_python, guest, peer or lab.spec.mgmt_ipv4("lb2"), command, VS, RS1, *extra],
                env={"PYTHONPATH": str(REPO_DIR), "LVSTUI_STATE_DIR": STATE["lb1"]}, timeout=180)
    assert r.rc == 0, r.describe()
    shown: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    assert shown["link"] and shown["dashboard"], shown
    return shown


def test_the_dashboard_drains_on_both_directors(lab: Lab) -> None:
    peer = lab.spec.mgmt_ipv4("lb2")
    before = (len(journal(lab, "lb1")), len(journal(lab, "lb2")))
    assert weight(lab, "lb1") == 1 and weight(lab, "lb2") == 1
    shown = dashboard_drain(lab)
    assert f"on both directors (here and {peer})?" in shown["title"], shown
    assert f"On both directors: the peer {peer} first, then here" in shown["body"], shown
    assert shown["ok"] and shown["message"].startswith(f"drain done on both directors (here and {peer}):"), shown
    print(f"\nthe dashboard's drain on both directors: {shown['seconds']:.2f} s (lb2's lvstui over SSH, then lb1)")
    assert weight(lab, "lb1") == 0 and weight(lab, "lb2") == 0
    lb2_conf = lab.read_file("lb2", KEEPALIVED_CONF)
    assert "FILE_CHECK" in lb2_conf and "track_file lvstui_" in lb2_conf, lb2_conf
    lab.run("lb2", ["keepalived", "-t", "-f", KEEPALIVED_CONF]).check()
    (theirs,) = [e for e in journal(lab, "lb2")[before[1]:] if e["result"] == "applied"]
    (mine,) = [e for e in journal(lab, "lb1")[before[0]:] if e["result"] == "applied"]
    assert theirs["verb"] == "drain" and mine["actor"] == "tui" and mine["peer"]["entry"] == theirs["id"], mine
    r = on_lb1(lab, "restore", VS, RS1)  # the CLI puts it back on both
    assert r.rc == 0, r.describe()
    lab.wait_for(lambda: weight(lab, "lb1") == 1 and weight(lab, "lb2") == 1, timeout=10, what="rs1 back on both")


def test_the_dashboard_refuses_with_the_peer_unreachable_unless_this_director_only(lab: Lab) -> None:
    unreachable = f"{lab.spec.mgmt_ipv4('lb2')}:2222"
    before = (len(journal(lab, "lb1")), len(journal(lab, "lb2")))
    shown = dashboard_drain(lab, unreachable)
    assert shown["ok"] is False and "\n" not in shown["message"], shown
    said = f"{unreachable}): connection refused; nothing was changed on either director (This director only"
    assert shown["message"].startswith("drain refused: peer ") and said in shown["message"], shown
    assert weight(lab, "lb1") == 1 and weight(lab, "lb2") == 1
    assert len(journal(lab, "lb2")) == before[1]
    refused = [e for e in journal(lab, "lb1")[before[0]:] if e["result"] != "intent"]
    assert [(e["result"], e["peer"]["result"]) for e in refused] == [("refused", "unreachable")], refused

    shown = dashboard_drain(lab, unreachable, "local-only")
    assert "on this director only?" in shown["title"] and shown["ok"], shown
    assert f"LOCAL ONLY: the peer {unreachable} was not changed" in shown["message"], shown
    assert weight(lab, "lb1") == 0 and weight(lab, "lb2") == 1
    last = journal(lab, "lb1")[-1]
    assert last["result"] == "applied" and last["peer"]["result"] == "local-only", last
    assert on_lb1(lab, "restore", VS, RS1, "--local-only").rc == 0
    assert weight(lab, "lb1") == 1
