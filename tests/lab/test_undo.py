"""`lvstui undo` in the lab: it reverses a drain, a weight change, an add and a remove on the real kernel
(checked with `ipvsadm -S -n`), and a keepalived-durable drain and weight change (checked with
`ipvsadm -S -n`, keepalived's file and its track file); it refuses, with one line saying what changed,
when the real server was changed by hand since, and leaves everything as it is.

The plain-kernel half uses tests/lab/test_ops_cli.py's table on the shared `dr_lab`; the keepalived
half uses tests/lab/test_durable_keepalived.py's cluster and keepalived configuration (imported, not
copied: one cluster boot).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.lab.test_durable_keepalived import BASE as KA_BASE
from tests.lab.test_durable_keepalived import (
    CONF,
    RS1,
    RS2,
    VIP,
    conf,
    ka,
    keepalived_t,
    lab,
    lb2_untouched,
    reload,
)
from tests.lab.test_durable_keepalived import STATE as KA_STATE
from tests.lab.test_durable_keepalived import VS as KA_VS
from tests.lab.test_durable_keepalived import last_backup as ka_last_backup
from tests.lab.test_durable_keepalived import lvstui as ka_lvstui
from tests.lab.test_durable_keepalived import saved as ka_saved
from tests.lab.test_ops_cli import BASE, STATE, VS80, lvstui, saved, table

pytestmark = pytest.mark.lab

__all__ = ["ka", "lab", "table"]  # fixtures, used by name

RS21, RS22 = "192.168.1.21:80", "192.168.1.22:80"


def journal(lab: Any, state: str = STATE) -> list[dict[str, Any]]:
    """The outcomes (each change's intent, written ahead of it, left out)."""
    entries = [json.loads(line) for line in lab.read_file("lb1", f"{state}/journal.jsonl").splitlines()]
    return [e for e in entries if e["result"] != "intent"]


def undo(lab: Any, *args: str) -> Any:
    r = lvstui(lab, "undo", *args, "--yes")
    assert r.rc == 0, r.describe()
    return r


def test_undo_reverses_a_drain(table: Any) -> None:
    before = saved(table)
    assert lvstui(table, "drain", VS80, RS21).rc == 0
    assert saved(table) - before == {f"-a -t 192.168.1.100:80 -r {RS21} -g -w 0"}
    r = undo(table)
    assert f"{VS80} -> {RS21}: weight 0 -> 5" in r.stdout, r.stdout
    assert saved(table) == before
    entries = journal(table)
    assert [(e["verb"], e["result"], e.get("undo_of")) for e in entries] == [
        ("drain", "applied", None), ("restore", "applied", entries[0]["id"])]


def test_undo_reverses_a_weight_change(table: Any) -> None:
    before = saved(table)
    assert lvstui(table, "weight", VS80, RS22, "7").rc == 0
    assert saved(table) - before == {f"-a -t 192.168.1.100:80 -r {RS22} -g -w 7"}
    undo(table)
    assert saved(table) == before


def test_undo_reverses_an_add_and_a_remove(table: Any) -> None:
    before = saved(table)
    assert lvstui(table, "add-rs", VS80, "192.168.1.23:80", "--weight", "4").rc == 0
    assert saved(table) - before == {"-a -t 192.168.1.100:80 -r 192.168.1.23:80 -g -w 4"}
    undo(table)
    assert saved(table) == before
    assert lvstui(table, "remove-rs", VS80, RS22).rc == 0
    assert before - saved(table) == {f"-a -t 192.168.1.100:80 -r {RS22} -g -w 3"}
    undo(table)
    assert saved(table) == before == set(BASE.splitlines())


def test_undo_by_id_and_walking_back(table: Any) -> None:
    before = saved(table)
    assert lvstui(table, "weight", VS80, RS21, "8").rc == 0
    first = journal(table)[-1]["id"]
    assert lvstui(table, "weight", VS80, RS22, "9").rc == 0
    undo(table, first)  # the older one, named
    assert saved(table) - before == {f"-a -t 192.168.1.100:80 -r {RS22} -g -w 9"}
    r = lvstui(table, "undo", first, "--yes")
    assert r.rc == 3 and "already undone" in r.stderr and r.stderr.count("\n") == 1, r.describe()
    undo(table)  # the last one not undone yet
    assert saved(table) == before
    r = lvstui(table, "undo", "--yes")
    assert r.rc == 3 and "nothing to undo" in r.stderr, r.describe()


def test_undo_refuses_when_the_server_was_changed_by_hand_since(table: Any) -> None:
    assert lvstui(table, "drain", VS80, RS21).rc == 0
    table.run("lb1", ["ipvsadm", "-e", "-t", "192.168.1.100:80", "-r", RS21, "-g", "-w", "2"]).check()
    by_hand = saved(table)
    r = lvstui(table, "undo", "--yes")
    assert r.rc == 3, r.describe()
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "moved on since" in lines[0], r.stderr
    assert f"{RS21} in {VS80} has weight 2 (the change left 0)" in lines[0], r.stderr
    assert saved(table) == by_hand
    last = journal(table)[-1]
    assert (last["verb"], last["result"], last["undo_of"]) == ("undo", "refused", journal(table)[0]["id"])


def test_undo_read_only_and_unconfirmed_change_nothing(table: Any) -> None:
    assert lvstui(table, "drain", VS80, RS21).rc == 0
    drained = saved(table)
    r = lvstui(table, "--readonly", "undo", "--yes")
    assert r.rc == 3 and "read-only" in r.stderr and r.stderr.count("\n") == 1, r.describe()
    r = lvstui(table, "undo")  # no terminal, no --yes
    assert r.rc == 3 and "--yes" in r.stderr, r.describe()
    assert saved(table) == drained


# -- keepalived-durable changes -----------------------------------------------------------------------


def track_file(lab: Any) -> str:
    entry = journal(lab, KA_STATE)[0]
    (path,) = entry["keepalived"]["track_files"]
    return str(path)


def test_undo_reverses_a_keepalived_durable_drain(ka: Any) -> None:
    lab = ka
    r = ka_lvstui(lab, "drain", KA_VS, RS1)
    assert r.rc == 0, r.describe()
    assert ka_saved(lab) - KA_BASE == {f"-a -t {VIP}:9000 -r {RS1} -g -w 0"}
    path = track_file(lab)
    assert lab.read_file("lb1", path) == "1\n"
    r = ka_lvstui(lab, "undo", "--yes")
    assert r.rc == 0, r.describe()
    assert ka_saved(lab) == KA_BASE
    assert lab.read_file("lb1", path) == "0\n"  # keepalived's FILE_CHECK passes: rs1 back in service
    assert "FILE_CHECK" in conf(lab)  # the switch stays in place for the next drain
    keepalived_t(lab)
    reload(lab)
    assert ka_saved(lab) == KA_BASE, "a reload drained rs1 again"
    lb2_untouched(lab)


def test_undo_reverses_a_keepalived_durable_weight_change(ka: Any) -> None:
    lab = ka
    assert ka_lvstui(lab, "weight", KA_VS, RS2, "7").rc == 0
    assert conf(lab) == CONF.replace("weight 2    #", "weight 7    #")
    r = ka_lvstui(lab, "undo", "--yes")
    assert r.rc == 0, r.describe()
    assert "keepalived: reloaded keepalived" in r.stdout, r.stdout
    assert ka_saved(lab) == KA_BASE
    assert conf(lab) == CONF
    assert lab.read_file("lb1", ka_last_backup(lab)) == CONF.replace("weight 2    #", "weight 7    #")
    keepalived_t(lab)
    reload(lab)
    assert ka_saved(lab) == KA_BASE
    lb2_untouched(lab)


def test_undo_of_a_durable_drain_refused_when_changed_by_hand_since(ka: Any) -> None:
    lab = ka
    assert ka_lvstui(lab, "drain", KA_VS, RS1).rc == 0
    path = track_file(lab)
    lab.sh("lb1", f"echo 0 > {path}").check()  # someone put it back in service by hand
    lab.wait_for(lambda: f"-a -t {VIP}:9000 -r {RS1} -g -w 3" in ka_saved(lab), timeout=15,
                 what="keepalived to see the track file")
    before, text = ka_saved(lab), conf(lab)
    r = ka_lvstui(lab, "undo", "--yes")
    assert r.rc == 3 and r.stderr.count("\n") == 1 and "moved on since" in r.stderr, r.describe()
    assert "has weight 3 (the change left 0)" in r.stderr and f"track file {path} holds 0" in r.stderr, r.stderr
    assert ka_saved(lab) == before and conf(lab) == text and lab.read_file("lb1", path) == "0\n"
