"""Operations that survive keepalived, in the lab: keepalived on lb1 (MASTER) and lb2 (BACKUP) manage a DR
service with TCP_CHECKs on rs1..rs3 (the TCP echo service on 9000, whose connections stay open), a client
holds connections.  lvstui runs on lb1 and must find lb1's keepalived among the two (one pid namespace).

Each test starts keepalived afresh from the same configuration and compares `ipvsadm -S -n` before and
after, then reloads keepalived (`kill -HUP`) and checks the kernel keeps what lvstui did.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lvstui.lab import Lab
from lvstui.lab.lab import KEEPALIVED_CONF, KEEPALIVED_PIDS, REPO_DIR
from tests.lab.cluster import module_cluster

pytestmark = pytest.mark.lab

VIP = "192.168.1.100"
VS = f"tcp:{VIP}:9000"
RS1, RS2, RS3 = "192.168.1.21:9000", "192.168.1.22:9000", "192.168.1.23:9000"
STATE = "/tmp/lvstui-durable-state"
ENV = {"LVSTUI_STATE_DIR": STATE}

CONF = """\
! lvstui durable-operations lab test
global_defs {
    router_id lb1
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.168.1.100/24 dev eth0
    }
}

virtual_server 192.168.1.100 9000 {
    delay_loop 1
    lb_algo wrr
    lb_kind DR
    protocol TCP

    real_server 192.168.1.21 9000 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 192.168.1.22 9000 {
        weight 2    # the bigger one
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 192.168.1.23 9000 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"""
LB2_CONF = CONF.replace("router_id lb1", "router_id lb2").replace("state MASTER", "state BACKUP") \
    .replace("priority 150", "priority 100")
BASE = {f"-A -t {VIP}:9000 -s wrr", f"-a -t {VIP}:9000 -r {RS1} -g -w 3",
        f"-a -t {VIP}:9000 -r {RS2} -g -w 2", f"-a -t {VIP}:9000 -r {RS3} -g -w 1"}

PROBE = ("rm -f /tmp/probe.stop; while [ ! -e /tmp/probe.stop ]; do "
         f"ipvsadm -Ln | grep -F ' {RS1} ' | awk '{{print $4}}'; done > /tmp/probe.txt")

CLIENT = """
import os, socket, time
held = []
for _ in range(9):
    s = socket.create_connection(("192.168.1.100", 9000), timeout=5)
    s.sendall(b"hold\\n"); s.recv(100)
    held.append(s)
print("holding", len(held), flush=True)
while not os.path.exists("/tmp/check"):
    time.sleep(0.1)
alive = 0
for s in held:
    try:
        s.sendall(b"still\\n")
        alive += bool(s.recv(100))
    except OSError as exc:
        print("lost", exc, flush=True)
print("alive", alive, flush=True)
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from module_cluster(tmp_path_factory, "durable", ("tcp",),
                              start=lambda lab: lab.start_keepalived("lb2", LB2_CONF))


def saved(lab: Lab) -> set[str]:
    return set(lab.run("lb1", ["ipvsadm", "-S", "-n"]).check().stdout.splitlines())


def conf(lab: Lab) -> str:
    return lab.read_file("lb1", KEEPALIVED_CONF)


def lvstui(lab: Lab, *args: str) -> Any:
    return lab.lvstui("lb1", *args, env=ENV, timeout=90)


def last_backup(lab: Lab) -> str:
    """Where the last change's journal entry says the previous keepalived.conf is kept."""
    entry = json.loads(lab.read_file("lb1", f"{STATE}/journal.jsonl").splitlines()[-1])
    (backup,) = entry["keepalived"]["backups"].values()
    assert backup.startswith(f"{STATE}/backups/") and backup.endswith(KEEPALIVED_CONF), backup
    return str(backup)


def reload(lab: Lab, settle: float = 3.0) -> None:
    lab.sh("lb1", f"kill -HUP $(cat {KEEPALIVED_PIDS[0]})").check()
    time.sleep(settle)


def keepalived_t(lab: Lab) -> None:
    r = lab.sh("lb1", f"keepalived -t -f {KEEPALIVED_CONF} -p /tmp/t.p -r /tmp/t.r -c /tmp/t.c 2>&1")
    assert r.rc == 0 and "missing" not in r.stdout, r.describe()


@pytest.fixture()
def ka(lab: Lab) -> Lab:
    if lab.sh("lb1", f'[ -e {KEEPALIVED_PIDS[0]} ] && kill -0 "$(cat {KEEPALIVED_PIDS[0]})"').ok:
        lab.stop_keepalived("lb1")
    lab.sh("lb1", f"ipvsadm -C; rm -rf {STATE}").check()
    lab.start_services("rs1", "rs2", "rs3")
    lab.start_keepalived("lb1", CONF)
    lab.wait_for(lambda: saved(lab) == BASE, timeout=30, what="keepalived's table with rs1..rs3 up")
    lab.wait_for(lambda: VIP in lab.run("lb1", ["ip", "-4", "addr", "show", "eth0"]).stdout, timeout=30,
                 what="the VIP on lb1")
    lab.wait_for(lambda: VIP not in lab.run("lb2", ["ip", "-4", "addr", "show", "eth0"]).stdout, timeout=30,
                 what="lb2 back to BACKUP")
    return lab


def lb2_untouched(lab: Lab) -> None:
    """lvstui on lb1 changed lb1's keepalived only."""
    assert lab.read_file("lb2", KEEPALIVED_CONF) == LB2_CONF
    table = set(lab.run("lb2", ["ipvsadm", "-S", "-n"]).check().stdout.splitlines())
    assert table == BASE, "lb2's table changed"


def test_drain_survives_reload_and_checker_transition_and_keeps_connections(ka: Lab) -> None:
    lab = ka
    lab.sh("client", "rm -f /tmp/check").check()
    client = lab.spawn("client", [lab.python, "-c", CLIENT])
    try:
        def held_on_rs1() -> bool:
            out = lab.run("lb1", ["ipvsadm", "-Ln"]).stdout
            return any(RS1 in line and int(line.split()[4]) >= 3 for line in out.splitlines())

        lab.wait_for(held_on_rs1, timeout=30, what="held connections on rs1")
        probe = lab.spawn("lb1", ["/bin/sh", "-c", PROBE])  # rs1's weight, as often as ipvsadm can
        time.sleep(0.5)
        r = lvstui(lab, "drain", VS, RS1)
        lab.sh("lb1", "touch /tmp/probe.stop").check()
        lab.wait(probe, timeout=10)
        assert r.rc == 0, r.describe()
        weights = lab.read_file("lb1", "/tmp/probe.txt").split()
        first_zero = weights.index("0")
        # the reload that set up the FILE_CHECK never put the weight back, not even for a moment
        assert set(weights[:first_zero]) == {"3"} and set(weights[first_zero:]) == {"0"}, weights
        assert len(weights) - first_zero >= 10, weights  # sampled through the reload and the settle time
        assert f"keepalived manages {VS} -> {RS1} (keepalived.conf:23)" in r.stdout, r.stdout
        assert "keepalived: keepalived.conf:" in r.stdout and ": + FILE_CHECK {" in r.stdout, r.stdout
        assert "keepalived: reloaded keepalived" in r.stdout, r.stdout
        after = saved(lab)
        assert BASE - after == {f"-a -t {VIP}:9000 -r {RS1} -g -w 3"}
        assert after - BASE == {f"-a -t {VIP}:9000 -r {RS1} -g -w 0"}
        text = conf(lab)
        assert "inhibit_on_failure" in text and "FILE_CHECK" in text and "track_file lvstui_" in text
        keepalived_t(lab)
        # the reload that set the checker up kept rs1 and its connections
        lab.sh("client", "touch /tmp/check").check()
        result = lab.wait(client, timeout=30)
        assert "alive 9" in result.stdout, result.describe()
    finally:
        if lab.poll(client) is None:
            lab.stop(client)
    reload(lab)
    assert saved(lab) == after, "a reload put the drained real server back"
    lb2_untouched(lab)
    lab.stop_services("rs1")
    time.sleep(4)  # TCP_CHECK fails (delay_loop 1, connect_timeout 1): inhibited, stays at 0
    assert f"-a -t {VIP}:9000 -r {RS1} -g -w 0" in saved(lab)
    lab.start_services("rs1")
    time.sleep(4)  # TCP_CHECK back up: the FILE_CHECK still fails, so the weight stays 0
    assert saved(lab) == after, "a checker transition put the drained real server back"
    # restore: the track file only, no reload, back to keepalived's weight
    r = lvstui(lab, "restore", VS, RS1)
    assert r.rc == 0, r.describe()
    track = f"{STATE}/keepalived/lvstui_tcp_192.168.1.100_9000_192.168.1.21_9000"
    assert "reloaded" not in r.stdout and f"{track} = 0" in r.stdout, r.stdout
    lab.wait_for(lambda: saved(lab) == BASE, timeout=10, what="rs1 back at weight 3")
    reload(lab)
    assert saved(lab) == BASE
    # a second drain needs no reload any more: keepalived follows the track file
    written = conf(lab)
    r = lvstui(lab, "drain", VS, RS1)
    assert r.rc == 0 and "reloaded" not in r.stdout, r.describe()
    assert conf(lab) == written and saved(lab) == after
    reload(lab)
    assert saved(lab) == after


def test_weight_persists_across_reload(ka: Lab) -> None:
    lab = ka
    r = lvstui(lab, "weight", VS, RS2, "7")
    assert r.rc == 0, r.describe()
    assert "keepalived: keepalived.conf:30: + weight 7    # the bigger one" in r.stdout, r.stdout
    assert "keepalived: reloaded keepalived" in r.stdout, r.stdout
    after = saved(lab)
    assert BASE - after == {f"-a -t {VIP}:9000 -r {RS2} -g -w 2"}
    assert after - BASE == {f"-a -t {VIP}:9000 -r {RS2} -g -w 7"}
    assert conf(lab) == CONF.replace("weight 2    #", "weight 7    #")
    assert lab.read_file("lb1", last_backup(lab)) == CONF
    keepalived_t(lab)
    reload(lab)
    assert saved(lab) == after
    lb2_untouched(lab)


def test_remove_rs_needs_a_drain_then_add_rs_brings_it_back(ka: Lab) -> None:
    lab = ka
    r = lvstui(lab, "remove-rs", VS, RS3)
    assert r.rc == 3 and "Drain it first" in r.stderr, r.describe()
    assert saved(lab) == BASE and conf(lab) == CONF
    assert lvstui(lab, "drain", VS, RS3).rc == 0  # no client: no active connections
    r = lvstui(lab, "remove-rs", VS, RS3)
    assert r.rc == 0, r.describe()
    assert saved(lab) == BASE - {f"-a -t {VIP}:9000 -r {RS3} -g -w 1"}
    assert "192.168.1.23" not in conf(lab) and "lvstui_" not in conf(lab)  # its track_file went too
    keepalived_t(lab)
    reload(lab)
    assert saved(lab) == BASE - {f"-a -t {VIP}:9000 -r {RS3} -g -w 1"}
    r = lvstui(lab, "add-rs", VS, RS3, "--weight", "4")
    assert r.rc == 0, r.describe()
    expected = BASE - {f"-a -t {VIP}:9000 -r {RS3} -g -w 1"} | {f"-a -t {VIP}:9000 -r {RS3} -g -w 4"}
    assert saved(lab) == expected
    assert "real_server 192.168.1.23 9000 {\n        weight 4\n        TCP_CHECK {" in conf(lab)
    keepalived_t(lab)
    reload(lab)
    assert saved(lab) == expected
    lab.stop_services("rs3")  # keepalived checks the new real server: it removes it when it fails
    lab.wait_for(lambda: f"-a -t {VIP}:9000 -r {RS3} -g -w 4" not in saved(lab), timeout=15,
                 what="keepalived's TCP_CHECK to take the added real server out")
    lab.start_services("rs3")
    lab.wait_for(lambda: saved(lab) == expected, timeout=15, what="keepalived to put it back")


def test_invalid_config_refused_with_line_runtime_only_allowed(ka: Lab) -> None:
    lab = ka
    broken = CONF.replace("    delay_loop 1\n", "    delay_loop 1\n    no_such_keyword 1\n")
    lab.write_file("lb1", KEEPALIVED_CONF, broken)  # on disk only: keepalived still runs CONF
    r = lvstui(lab, "weight", VS, RS1, "5")
    assert r.rc == 3, r.describe()
    assert "keepalived.conf:19: Unknown keyword 'no_such_keyword'" in r.stderr
    assert "nothing was changed" in r.stderr
    assert saved(lab) == BASE and conf(lab) == broken
    r = lvstui(lab, "drain", VS, RS1)
    assert r.rc == 3 and "no_such_keyword" in r.stderr and saved(lab) == BASE
    r = lvstui(lab, "weight", VS, RS1, "5", "--runtime-only")
    assert r.rc == 0, r.describe()
    assert "RUNTIME ONLY" in r.stdout and "RUNTIME ONLY" in r.stderr
    assert saved(lab) - BASE == {f"-a -t {VIP}:9000 -r {RS1} -g -w 5"} and conf(lab) == broken
    journal = [line for line in lab.read_file("lb1", f"{STATE}/journal.jsonl").splitlines()
               if '"result": "intent"' not in line]  # each change's intent, written ahead of it
    assert '"runtime_only": true' in journal[-1] and '"result": "applied"' in journal[-1]
    assert '"result": "refused"' in journal[-2]


def test_file_changed_behind_lvstuis_back_changes_nothing(ka: Lab) -> None:
    lab = ka
    code = (
        "from lvstui.backend.ipvs import IpvsClient\n"
        "from lvstui.ops import changes as c\n"
        "from lvstui.ops.engine import Operations, KeepalivedRefused\n"
        "from lvstui.ops.targets import parse_server_id, parse_service_id\n"
        f"change = c.SetWeight(parse_service_id({VS!r}), parse_server_id({RS2!r}), weight=9)\n"
        "with IpvsClient() as d:\n"
        "    ops = Operations(d)\n"
        "    preview = ops.plan(change)\n"
        "    print('preview', preview.keepalived_lines())\n"
        f"    p = {KEEPALIVED_CONF!r}\n"
        "    open(p, 'a').write('! edited by someone else\\n')\n"
        "    try:\n"
        "        ops.apply(change, preview)\n"
        "    except KeepalivedRefused as exc:\n"
        "        print('refused:', exc)\n"
    )
    r = lab.run("lb1", [lab.venv_python, "-c", code], env={"PYTHONPATH": str(REPO_DIR), **ENV}, timeout=90)
    assert r.rc == 0, r.describe()
    assert "+ weight 9" in r.stdout
    # refused before the kernel is touched (it used to be changed, then undone)
    assert f"refused: {KEEPALIVED_CONF} changed since the preview" in r.stdout, r.stdout
    assert "nothing was changed" in r.stdout
    assert saved(lab) == BASE and conf(lab) == CONF + "! edited by someone else\n"


def test_draining_the_last_healthy_real_server_needs_force(ka: Lab) -> None:
    lab = ka
    assert lvstui(lab, "drain", VS, RS1).rc == 0
    r = lvstui(lab, "drain-host", "192.168.1.22")
    assert r.rc == 0, r.describe()
    two = saved(lab)
    assert two - BASE == {f"-a -t {VIP}:9000 -r {RS1} -g -w 0", f"-a -t {VIP}:9000 -r {RS2} -g -w 0"}
    written = conf(lab)
    r = lvstui(lab, "drain", VS, RS3)
    assert r.rc == 3, r.describe()
    assert f"this takes the last healthy real server out of {VS} ({RS3})" in r.stderr
    assert "--force" in r.stderr
    assert saved(lab) == two and conf(lab) == written
    r = lvstui(lab, "drain", VS, RS3, "--force")
    assert r.rc == 0, r.describe()
    assert "last healthy real server" in r.stderr  # still said, as a warning
    drained = {f"-A -t {VIP}:9000 -s wrr"} | {f"-a -t {VIP}:9000 -r {rs} -g -w 0" for rs in (RS1, RS2, RS3)}
    assert saved(lab) == drained
    keepalived_t(lab)
    reload(lab)
    assert saved(lab) == drained
    for address in ("192.168.1.21", "192.168.1.22", "192.168.1.23"):
        assert lvstui(lab, "restore-host", address).rc == 0
    lab.wait_for(lambda: saved(lab) == BASE, timeout=10, what="every real server restored")


def test_edits_keepalived_has_not_loaded_are_not_reloaded_silently(ka: Lab) -> None:
    lab = ka
    pending = CONF.replace("        weight 1\n", "        weight 4\n")  # rs3, by hand, not reloaded yet
    lab.write_file("lb1", KEEPALIVED_CONF, pending)
    r = lvstui(lab, "weight", VS, RS2, "7")
    assert r.rc == 3, r.describe()
    assert (f"keepalived.conf holds edits keepalived has not loaded: {VS}: real server {RS3} weight 1 in "
            "keepalived, 4 in the file (keepalived.conf:35)") in r.stderr, r.stderr
    assert saved(lab) == BASE and conf(lab) == pending
    # a drain through an existing track file needs no reload: not affected; here the first drain
    # needs one, so it is refused too
    assert lvstui(lab, "drain", VS, RS1).rc == 3 and saved(lab) == BASE
    r = lvstui(lab, "weight", VS, RS2, "7", "--force")
    assert r.rc == 0, r.describe()
    assert f"the reload also applies: {VS}: real server {RS3} weight 1" in r.stderr
    expected = BASE - {f"-a -t {VIP}:9000 -r {RS2} -g -w 2", f"-a -t {VIP}:9000 -r {RS3} -g -w 1"} | {
        f"-a -t {VIP}:9000 -r {RS2} -g -w 7", f"-a -t {VIP}:9000 -r {RS3} -g -w 4"}
    lab.wait_for(lambda: saved(lab) == expected, timeout=10, what="both weights after the reload")


def test_restore_of_a_failing_real_server_waits_for_its_check(ka: Lab) -> None:
    lab = ka
    assert lvstui(lab, "drain", VS, RS1).rc == 0
    drained = saved(lab)
    lab.stop_services("rs1")
    time.sleep(4)  # TCP_CHECK fails
    r = lvstui(lab, "restore", VS, RS1)
    assert r.rc == 0, r.describe()
    assert f"{RS1} in {VS} fails its TCP_CHECK: left at weight 0" in r.stderr, r.stderr
    time.sleep(2)
    assert saved(lab) == drained, "a failing real server got its weight back"
    lab.start_services("rs1")
    lab.wait_for(lambda: saved(lab) == BASE, timeout=15, what="keepalived to restore rs1 when its check passes")
    # a new weight for a drained real server that fails its check: the file and the track file change,
    # the kernel keeps 0 until the check passes
    assert lvstui(lab, "drain", VS, RS1).rc == 0
    lab.stop_services("rs1")
    time.sleep(4)
    r = lvstui(lab, "weight", VS, RS1, "6")
    assert r.rc == 0, r.describe()
    assert f"{RS1} in {VS} fails its TCP_CHECK: left at weight 0" in r.stderr, r.stderr
    assert "keepalived: reloaded keepalived" in r.stdout and "weight 6" in conf(lab)
    time.sleep(2)
    assert saved(lab) == drained
    lab.start_services("rs1")
    lab.wait_for(lambda: f"-a -t {VIP}:9000 -r {RS1} -g -w 6" in saved(lab), timeout=15,
                 what="keepalived to give rs1 its new weight when its check passes")


def test_drain_of_a_real_server_keepalived_took_out_keeps_it_out(ka: Lab) -> None:
    lab = ka
    lab.stop_services("rs2")
    lab.wait_for(lambda: saved(lab) == BASE - {f"-a -t {VIP}:9000 -r {RS2} -g -w 2"}, timeout=15,
                 what="keepalived's TCP_CHECK to take rs2 out")
    r = lvstui(lab, "drain", VS, RS2)
    assert r.rc == 0, r.describe()
    assert "not in the kernel" in r.stderr and "keepalived: reloaded keepalived" in r.stdout, r.describe()
    lab.start_services("rs2")
    time.sleep(5)  # its TCP_CHECK passes again; the FILE_CHECK keeps it at weight 0
    assert f"-a -t {VIP}:9000 -r {RS2} -g -w 2" not in saved(lab)
    assert saved(lab) - BASE <= {f"-a -t {VIP}:9000 -r {RS2} -g -w 0"}
    assert lvstui(lab, "restore", VS, RS2).rc == 0
    lab.wait_for(lambda: saved(lab) == BASE, timeout=15, what="rs2 back at weight 2")


def test_faults_on_the_durable_path_leave_kernel_keepalived_and_journal_agreeing(ka: Lab) -> None:
    """A drain keepalived manages, with a write failing or lvstui killed at each of its steps
    (fault points: lvstui/ops/faults.py); after each, the kernel, the track file, keepalived's
    file, the journal and the exit status agree, and the next lvstui operation reconciles it."""
    import json

    from tests.support.faultcount import check, injected

    lab = ka
    track = f"{STATE}/keepalived/lvstui_tcp_192.168.1.100_9000_192.168.1.21_9000"
    drained = (BASE - {f"-a -t {VIP}:9000 -r {RS1} -g -w 3"}) | {f"-a -t {VIP}:9000 -r {RS1} -g -w 0"}

    def faulted(fault: str, *args: str) -> Any:
        injected()
        return lab.lvstui("lb1", *args, env={**ENV, "LVSTUI_FAULT": fault}, timeout=90)

    def track_value() -> str | None:
        r = lab.sh("lb1", f"cat {track} 2>/dev/null")
        return r.stdout.strip() if r.ok else None

    def pending() -> list[str]:
        text = lab.sh("lb1", f"cat {STATE}/journal.jsonl 2>/dev/null; true").stdout
        entries = [json.loads(line) for line in text.splitlines() if line.strip()]
        named = {e.get("intent") for e in entries}
        return [e["id"] for e in entries if e["result"] == "intent" and e["id"] not in named]

    def one_line(r: Any, status: int, words: str) -> None:
        lines = r.stderr.strip().splitlines()
        check(r.rc == status and len(lines) == 1 and words in lines[0], r.describe())

    # 1. the first drain edits keepalived.conf and reloads; its outcome cannot be written: it stays (exit 4)
    r = faulted("journal-outcome:ENOSPC", "drain", VS, RS1)
    one_line(r, 4, "it stays in place (keepalived was reloaded with it)")
    check(saved(lab) == drained and track_value() == "1" and "FILE_CHECK" in conf(lab), "the drain is not whole")
    check(len(pending()) == 1, "its intent is not pending")
    r = lvstui(lab, "undo", "--yes")  # reconciles it (recorded applied), then undoes it
    check(r.rc == 0 and "recovered: " in r.stderr and "recorded as applied" in r.stderr, r.describe())
    lab.wait_for(lambda: saved(lab) == BASE, timeout=10, what="rs1 back at weight 3")
    check(track_value() == "0" and pending() == [], "the undo did not put the track file back")

    # 2. the track file cannot be written: the kernel change is undone (exit 3)
    r = faulted("track-file:EROFS", "drain", VS, RS1)
    one_line(r, 3, "nothing was written for keepalived; the kernel change was undone")
    check(saved(lab) == BASE and track_value() == "0" and pending() == [], "not as before the drain")

    # 3. the outcome cannot be written after the track file: both are put back (exit 1)
    r = faulted("journal-outcome:EACCES", "drain", VS, RS1)
    one_line(r, 1, "it was undone, nothing is changed")
    check(track_value() == "0", "the track file was not put back")
    lab.wait_for(lambda: saved(lab) == BASE, timeout=10, what="rs1 at weight 3")
    check(pending() == [], "an intent is left pending")

    # 4. killed before the track file: the kernel is drained but keepalived was not told: undone
    r = faulted("track-file:kill", "drain", VS, RS1)
    check(r.rc in (-9, 137) and saved(lab) == drained and track_value() == "0", r.describe())
    r = lvstui(lab, "restore", VS, RS1)
    check(r.rc == 0 and "recovered: " in r.stderr and "undone" in r.stderr, r.describe())
    check(saved(lab) == BASE and track_value() == "0" and pending() == [], "not as before the drain")

    # 5. killed after the track file, before the outcome: the drain is whole: recorded applied
    r = faulted("journal-outcome:kill", "drain", VS, RS1)
    check(r.rc in (-9, 137) and saved(lab) == drained and track_value() == "1", r.describe())
    r = lvstui(lab, "restore", VS, RS1)
    check(r.rc == 0 and "recovered: " in r.stderr and "recorded as applied" in r.stderr, r.describe())
    lab.wait_for(lambda: saved(lab) == BASE, timeout=10, what="rs1 restored")
    check(track_value() == "0" and pending() == [], "the restore after recovery is not whole")
    reload(lab)
    check(saved(lab) == BASE, "a reload changed the table")


LOADED = """
import json, sys
from lvstui.keepalived.runtime import request_state
state = request_state(int(open(sys.argv[1]).read()), want_vrrp=False)
assert not state.errors, state.errors
print(json.dumps([[vs.key, sorted([r.key, r.weight] for r in vs.real_servers)] for vs in state.servers]))
"""


def loaded(lab: Lab) -> list[Any]:
    """The virtual servers the running keepalived loaded, from its own data dump."""
    r = lab.run("lb1", [lab.venv_python, "-c", LOADED, KEEPALIVED_PIDS[0]], env={"PYTHONPATH": str(REPO_DIR)},
                timeout=60).check()
    return list(json.loads(r.stdout))


def test_edit_with_an_include_glob_leaves_keepalived_one_virtual_server(ka: Lab) -> None:
    """Issue 13 item 1: a backup beside conf.d/web.conf matched ``include conf.d/*`` and keepalived
    loaded the virtual server twice after the next reload."""
    lab = ka
    head, web = CONF.split("virtual_server ", 1)
    lab.stop_keepalived("lb1")
    lab.sh("lb1", "mkdir -p /etc/keepalived/conf.d && rm -f /etc/keepalived/conf.d/*").check()
    lab.write_file("lb1", "/etc/keepalived/conf.d/web.conf", "virtual_server " + web)
    try:
        lab.start_keepalived("lb1", head + "include conf.d/*\n")
        lab.wait_for(lambda: saved(lab) == BASE, timeout=30, what="keepalived's table from conf.d/web.conf")
        r = lvstui(lab, "weight", VS, RS2, "7")
        assert r.rc == 0, r.describe()
        assert "keepalived: web.conf:" in r.stdout and "reloaded keepalived" in r.stdout, r.stdout
        assert lab.sh("lb1", "ls -A /etc/keepalived/conf.d").check().stdout.split() == ["web.conf"]
        keepalived_t(lab)
        reload(lab)
        want = [[VS, sorted([[RS1, 3], [RS2, 7], [RS3, 1]])]]
        assert loaded(lab) == want  # once, with the new weight: the backup is not in the glob
        assert saved(lab) == BASE - {f"-a -t {VIP}:9000 -r {RS2} -g -w 2"} | {f"-a -t {VIP}:9000 -r {RS2} -g -w 7"}
        entry = json.loads(lab.read_file("lb1", f"{STATE}/journal.jsonl").splitlines()[-1])
        (target, backup), = entry["keepalived"]["backups"].items()
        assert target == "/etc/keepalived/conf.d/web.conf" and backup.startswith(f"{STATE}/backups/")
        assert lab.read_file("lb1", backup) == "virtual_server " + web
    finally:
        lab.stop_keepalived("lb1")
        lab.sh("lb1", "rm -rf /etc/keepalived/conf.d").check()


def test_symlinked_keepalived_conf_stays_a_link(ka: Lab) -> None:
    """Issue 13 item 5: configuration management's symlink was replaced by a regular file."""
    lab = ka
    managed = "/etc/keepalived-managed/keepalived.conf"
    lab.stop_keepalived("lb1")
    lab.sh("lb1", f"mkdir -p /etc/keepalived-managed && cp {KEEPALIVED_CONF} {managed} && chmod 640 {managed} "
                  f"&& chown 7:7 {managed} && ln -sf {managed} {KEEPALIVED_CONF}").check()
    parent, vrrp_pid, checkers = KEEPALIVED_PIDS
    try:
        lab.run("lb1", ["keepalived", "-f", KEEPALIVED_CONF, "-p", parent, "-r", vrrp_pid, "-c", checkers,
                        "-l", "-D"]).check()
        lab.wait_for(lambda: saved(lab) == BASE, timeout=30, what="keepalived's table through the link")
        r = lvstui(lab, "weight", VS, RS2, "7")
        assert r.rc == 0, r.describe()
        assert f"through the link to {managed}" in r.stdout, r.stdout
        assert lab.sh("lb1", f"readlink {KEEPALIVED_CONF}").check().stdout.strip() == managed
        assert lab.read_file("lb1", managed) == CONF.replace("weight 2    #", "weight 7    #")
        assert lab.sh("lb1", f"stat -c '%a %u %g' {managed}").check().stdout.split() == ["640", "7", "7"]
        reload(lab)
        assert f"-a -t {VIP}:9000 -r {RS2} -g -w 7" in saved(lab)
    finally:
        lab.stop_keepalived("lb1")
        lab.sh("lb1", f"rm -f {KEEPALIVED_CONF}; rm -rf /etc/keepalived-managed").check()


def weights_in(text: str) -> dict[str, int]:
    """Each real server's weight as keepalived.conf says."""
    out: dict[str, int] = {}
    current = None
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["real_server"]:
            current = f"{words[1]}:{words[2]}"
        elif words[:1] == ["weight"] and current is not None and current not in out:
            out[current] = int(words[1])
    return out


def kernel_weights(lab: Lab) -> dict[str, int]:
    return {line.split()[4]: int(line.split()[-1]) for line in saved(lab) if line.startswith("-a ")}


def test_two_operators_at_once_lose_nothing(ka: Lab) -> None:
    """Issue 13 item 3: two lvstui processes editing keepalived.conf at the same moment; each either
    lands or is refused busy having changed nothing, and the file, the journal and the kernel agree."""
    lab = ka
    wanted = {RS1: 3, RS2: 2, RS3: 1}
    rounds = [((RS2, 7), (RS3, 4)), ((RS3, 5), (RS2, 6)), ((RS1, 8), (RS2, 9))]
    busy = landed = 0
    for first, second in rounds:
        procs = [lab.spawn("lb1", [lab.venv_python, "-m", "lvstui", "weight", VS, rs_, str(w)],
                           env={"PYTHONPATH": str(REPO_DIR), **ENV}) for rs_, w in (first, second)]
        results = [lab.wait(p, timeout=120) for p in procs]
        for (rs_, w), result in zip((first, second), results, strict=True):
            if result.rc == 0:
                wanted[rs_] = w
                landed += 1
            else:
                assert result.rc == 3 and result.stderr.startswith("lvstui: busy: weight "), result.describe()
                assert result.stderr.count("\n") == 1 and "nothing was changed" in result.stderr
                busy += 1
        assert weights_in(conf(lab)) == wanted
        assert kernel_weights(lab) == wanted
    print(f"two operators at once: {landed} landed, {busy} refused busy, over {len(rounds)} rounds")
    entries = [json.loads(line) for line in lab.read_file("lb1", f"{STATE}/journal.jsonl").splitlines()]
    applied = [e for e in entries if e["verb"] == "weight" and e["result"] == "applied"]
    refused = [e for e in entries if e["verb"] == "weight" and e["result"] == "refused"]
    assert len(applied) == landed and len(refused) == busy
    assert all(e["message"].startswith("busy: weight ") for e in refused)
    last = {e["change"]["server"]: e["change"]["weight"] for e in applied}
    assert {k: v for k, v in wanted.items() if k in last} == last
    keepalived_t(lab)
    reload(lab)
    assert kernel_weights(lab) == wanted  # keepalived, reloaded, keeps every edit that landed
