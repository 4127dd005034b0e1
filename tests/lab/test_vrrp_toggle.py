"""`lvstui vrrp status|demote|promote` against real keepalived on lb1 (150) and lb2 (100).

While a client fetches the VIP over HTTP in a loop: lb1 is demoted (lb2 becomes MASTER,
seen on the wire, the client still answered), the demotion survives a keepalived reload,
lb1 is promoted back; each step is in the operations journal.  Refusals: --readonly, no
terminal without --yes.  With lb2's keepalived stopped nobody can take over: the demotion
is not confirmed and is undone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from lvstui.lab import Lab
from lvstui.lab.lab import KEEPALIVED_PIDS, REPO_DIR
from lvstui.lab.results import CommandResult
from tests.lab.cluster import module_cluster
from tests.lab.keepalived_pair import TRACK, snapshot, start_pair

pytestmark = pytest.mark.lab

STATE = "/tmp/lvstui-state"
ENV = {"LVSTUI_STATE_DIR": STATE}

CLIENT = r"""
import sys, time, urllib.request
out = sys.argv[1]
while True:
    t = time.time()
    try:
        with urllib.request.urlopen("http://192.168.1.100/", timeout=1) as r:
            line = f"{t:.2f} ok {r.headers.get('X-Lab-Host')}"
    except Exception as exc:
        line = f"{t:.2f} fail {type(exc).__name__}"
    with open(out, "a") as fh:
        fh.write(line + "\n")
    time.sleep(0.2)
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from module_cluster(tmp_path_factory, "vrrptoggle", ("http",), start=start_pair)


HOLD_CONFIG_LOCK = """
import sys, time
from lvstui.ops.lock import config_lock_name, held
with held(config_lock_name(sys.argv[1]), "weight tcp:192.168.1.100:80"):
    time.sleep(120)
"""


def vrrp(lab: Lab, host: str, *args: str, timeout: float = 90) -> CommandResult:
    return lab.lvstui(host, "vrrp", *args, env=ENV, timeout=timeout)


def vrrp_state(lab: Lab, host: str) -> tuple[str, int]:
    (vi,) = snapshot(lab, host)["vrrp"]
    return vi["state"], vi["effective_priority"]


def holds_vip(lab: Lab, host: str) -> bool:
    return "192.168.1.100/" in lab.run(host, ["ip", "-br", "addr", "show", "eth0"]).check().stdout


def journal(lab: Lab) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in lab.read_file("lb1", f"{STATE}/journal.jsonl").splitlines()]


def answered_after(lab: Lab, moment: float) -> list[str]:
    lines = lab.read_file("client", "/tmp/traffic.log").splitlines()
    return [line for line in lines if float(line.split()[0]) > moment and " ok " in line]


def test_status_on_both_directors(lab: Lab) -> None:
    lab.wait_for(lambda: vrrp_state(lab, "lb1") == ("MASTER", 150), timeout=30, what="lb1 MASTER")
    doc = json.loads(vrrp(lab, "lb1", "status", "--json").check().stdout)
    assert [(i["name"], i["state"], i["priority"], i["effective_priority"]) for i in doc["instances"]] == [
        ("VI_1", "MASTER", 150, 150)
    ]
    assert doc["track_file"] == {
        "name": "lvstui_maint",
        "file": TRACK,
        "weight": -60,
        "value": 0,
        "demoted": False,
    }
    assert doc["routers_advertising"] == []  # a master does not hear itself; the backup is silent
    peer = json.loads(vrrp(lab, "lb2", "status", "--json").check().stdout)
    assert [(r["vrid"], r["source"], r["priority"], r["current"]) for r in peer["routers_advertising"]] == [
        (51, "192.168.1.11", 150, True)
    ]


def test_refusals_change_nothing(lab: Lab) -> None:
    r = lab.lvstui("lb1", "--readonly", "vrrp", "demote", "--yes", env=ENV, timeout=60)
    assert r.rc == 3 and "--readonly" in r.stderr
    r = vrrp(lab, "lb1", "demote")  # no terminal, no --yes: refuses instead of waiting for input
    assert r.rc == 3 and "no terminal to confirm on" in r.stderr, r.describe()
    assert lab.read_file("lb1", TRACK).strip() == "0"
    assert vrrp_state(lab, "lb1") == ("MASTER", 150)
    r = vrrp(lab, "lb1", "demote", "--instance", "VI_9", "--yes")
    assert r.rc == 2 and "no VRRP instance 'VI_9'" in r.stderr


def test_demote_survives_reload_then_promote_with_traffic(lab: Lab) -> None:
    lab.wait_for(lambda: vrrp_state(lab, "lb1") == ("MASTER", 150), timeout=30, what="lb1 MASTER")
    client = lab.spawn("client", [lab.python, "-c", CLIENT, "/tmp/traffic.log"])
    try:
        lab.wait_for(lambda: answered_after(lab, 0), timeout=20, what="the client answered through lb1")
        before = time.time()
        r = vrrp(lab, "lb1", "demote", "--yes", "--timeout", "30")
        assert r.ok, r.describe()
        assert "done in" in r.stdout and "MASTER seen on the wire: 192.168.1.12 priority 100" in r.stdout
        assert lab.read_file("lb1", TRACK).strip() == "1"
        assert vrrp_state(lab, "lb1") == ("BACKUP", 90)
        assert vrrp_state(lab, "lb2")[0] == "MASTER"
        lab.wait_for(
            lambda: holds_vip(lab, "lb2") and not holds_vip(lab, "lb1"),
            timeout=10,
            what="the VIP on lb2 only",
        )
        done = time.time()
        lab.wait_for(
            lambda: len(answered_after(lab, done)) >= 3, timeout=20, what="the client answered through lb2"
        )
        print(f"demote: {r.stdout.strip().splitlines()[-1]} ({done - before:.1f} s with the command)")

        # a reload keeps the demotion: the track file persists (init_file overwrite acts at start only)
        lab.sh("lb1", f"kill -HUP $(cat {KEEPALIVED_PIDS[0]})").check()
        time.sleep(5)
        assert lab.read_file("lb1", TRACK).strip() == "1"
        assert vrrp_state(lab, "lb1") == ("BACKUP", 90)
        assert holds_vip(lab, "lb2") and not holds_vip(lab, "lb1")

        r = vrrp(lab, "lb1", "promote", "--yes", "--timeout", "30")
        assert r.ok, r.describe()
        assert lab.read_file("lb1", TRACK).strip() == "0"
        assert vrrp_state(lab, "lb1") == ("MASTER", 150)
        lab.wait_for(
            lambda: holds_vip(lab, "lb1") and not holds_vip(lab, "lb2"),
            timeout=10,
            what="the VIP back on lb1 only",
        )
        back = time.time()
        lab.wait_for(
            lambda: len(answered_after(lab, back)) >= 3,
            timeout=20,
            what="the client answered through lb1 again",
        )
    finally:
        lab.stop(client)
    lines = lab.read_file("client", "/tmp/traffic.log").splitlines()
    failed = [line for line in lines if float(line.split()[0]) > before and " fail " in line]
    total = [line for line in lines if float(line.split()[0]) > before]
    print(f"client during demote/reload/promote: {len(total) - len(failed)} answered, {len(failed)} failed")
    # a VRRP switch may cost a request or two (gratuitous ARP), never the service
    assert len(failed) <= max(3, len(total) // 10), failed
    entries = [(e["op"], e["result"]) for e in journal(lab)]
    assert ("vrrp demote", "applied") in entries and ("vrrp demote", "done") in entries
    assert ("vrrp promote", "applied") in entries and ("vrrp promote", "done") in entries


def test_demote_without_a_peer_is_undone(lab: Lab) -> None:
    lab.wait_for(lambda: vrrp_state(lab, "lb1") == ("MASTER", 150), timeout=30, what="lb1 MASTER")
    lab.stop_keepalived("lb2")
    try:
        r = vrrp(lab, "lb1", "demote", "--yes", "--timeout", "6")
        assert r.rc == 124, r.describe()
        assert "not confirmed within 6 s" in r.stderr and "put back to 0" in r.stderr
        assert lab.read_file("lb1", TRACK).strip() == "0"
        lab.wait_for(lambda: vrrp_state(lab, "lb1") == ("MASTER", 150), timeout=10, what="lb1 MASTER at 150")
        assert holds_vip(lab, "lb1")
        assert ("vrrp demote", "undone") in [(e["op"], e["result"]) for e in journal(lab)]
    finally:
        from tests.lab.keepalived_pair import conf

        lab.start_keepalived("lb2", conf("lb2", 100))


@pytest.mark.parametrize(("sig", "status"), [("TERM", 143), ("INT", 130)])
def test_interrupted_demote_puts_the_track_file_back(lab: Lab, sig: str, status: int) -> None:
    """Ctrl-C or SIGTERM while demote waits for the peer (none: lb2's keepalived is stopped, so it
    would wait its whole --timeout): the track file is put back and lb1 stays MASTER at 150."""
    from lvstui.lab.lab import REPO_DIR
    from tests.lab.keepalived_pair import conf

    lab.wait_for(lambda: vrrp_state(lab, "lb1") == ("MASTER", 150), timeout=30, what="lb1 MASTER")
    lab.stop_keepalived("lb2")
    try:
        proc = lab.spawn("lb1", [lab.venv_python, "-m", "lvstui", "vrrp", "demote", "--yes", "--timeout", "120"],
                         env={"PYTHONPATH": str(REPO_DIR), **ENV})
        lab.wait_for(lambda: lab.read_file("lb1", TRACK).strip() == "1", timeout=40,
                     what="the demote to write its track file")
        if sig == "TERM":  # a second operator meanwhile: refused, nothing changed
            other = vrrp(lab, "lb1", "promote", "--yes", "--force", "--timeout", "5")
            assert other.rc == 3 and "busy: vrrp demote VI_1 by " in other.stderr, other.describe()
            assert f"(pid {proc.pid})" in other.stderr and lab.read_file("lb1", TRACK).strip() == "1"
        lab.run("lb1", ["kill", f"-{sig}", str(proc.pid)]).check()
        r = lab.wait(proc, timeout=30)
        assert r.rc == status, r.describe()
        assert f"interrupted by SIG{sig} before BACKUP was seen" in r.stderr and "put back to 0" in r.stderr, \
            r.describe()
        assert lab.read_file("lb1", TRACK).strip() == "0"
        lab.wait_for(lambda: vrrp_state(lab, "lb1") == ("MASTER", 150), timeout=10, what="lb1 MASTER at 150")
        entries = [(e["op"], e["result"]) for e in journal(lab)]
        ours = [e for e in entries if e[0] == "vrrp demote"]
        assert ours[-3:] == [("vrrp demote", "intent"), ("vrrp demote", "applied"),
                             ("vrrp demote", "interrupted")], entries
    finally:
        lab.start_keepalived("lb2", conf("lb2", 100))


def test_setup_adds_the_track_file_when_missing(lab: Lab) -> None:
    """lb2 restarted without the track file: demote says what to add; `vrrp setup` adds it, validated."""
    from lvstui.lab.lab import KEEPALIVED_CONF
    from tests.lab.keepalived_pair import conf

    original = conf("lb2", 100)
    bare = original.replace("    track_file {\n        lvstui_maint\n    }\n", "")
    bare = bare.split("track_file lvstui_maint {")[0] + bare.split("init_file 0 overwrite\n}\n", 1)[1]
    assert "lvstui_maint" not in bare
    lab.stop_keepalived("lb2")
    lab.run("lb2", ["rm", "-f", TRACK]).check()
    lab.start_keepalived("lb2", bare)
    try:
        r = vrrp(lab, "lb2", "demote", "--yes")
        assert r.rc == 3 and 'track_file lvstui_maint {\n    file "/etc/keepalived/lvstui-maint"' in r.stderr
        assert "lvstui vrrp setup" in r.stderr
        assert lab.read_file("lb2", KEEPALIVED_CONF) == bare  # nothing written
        r = vrrp(lab, "lb2", "setup")
        assert r.rc == 3 and "no terminal to confirm on" in r.stderr
        holder = lab.spawn("lb2", [lab.venv_python, "-c", HOLD_CONFIG_LOCK, KEEPALIVED_CONF],
                           env={"PYTHONPATH": str(REPO_DIR), "SUDO_USER": "bob", **ENV})
        try:  # another operator is editing keepalived.conf: refused, nothing written (issue 13 item 3)
            lab.wait_for(lambda: "bob" in lab.sh("lb2", f"cat {STATE}/locks/*.lock").stdout, timeout=30,
                         what="the other operator's lock")
            r = vrrp(lab, "lb2", "setup", "--yes")
            assert r.rc == 3 and r.stderr.startswith("lvstui: busy: weight tcp:192.168.1.100:80 by bob (pid ")
            assert "nothing written" in r.stderr and lab.read_file("lb2", KEEPALIVED_CONF) == bare
        finally:
            lab.stop(holder)
        r = vrrp(lab, "lb2", "setup", "--yes")
        assert r.ok, r.describe()
        text = lab.read_file("lb2", KEEPALIVED_CONF)
        backup = lab.sh("lb2", f"ls {STATE}/backups/*{KEEPALIVED_CONF}").check().stdout.split()
        assert len(backup) == 1 and lab.read_file("lb2", backup[0]) == bare
        assert lab.sh("lb2", "ls /etc/keepalived").check().stdout.split().count("keepalived.conf") == 1
        assert text.index("track_file lvstui_maint {") < text.index("vrrp_instance VI_1")
        assert "    track_file {\n        lvstui_maint\n    }\n" in text
        check = lab.lvstui("lb2", "keepalived", "check", KEEPALIVED_CONF, timeout=60)
        assert check.ok and "keepalived -t: ok" in check.stdout, check.describe()
        assert lab.read_file("lb2", TRACK).strip() == "0"  # keepalived reloaded and created it
        doc = json.loads(vrrp(lab, "lb2", "status", "--json").check().stdout)
        assert doc["track_file"] == {
            "name": "lvstui_maint",
            "file": TRACK,
            "weight": -60,
            "value": 0,
            "demoted": False,
        }
        again = vrrp(lab, "lb2", "setup", "--yes")
        assert again.ok and "already set up" in again.stdout
    finally:
        lab.stop_keepalived("lb2")
        lab.start_keepalived("lb2", original)
