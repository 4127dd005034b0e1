"""Every operation verb against the real kernel: `ipvsadm -S -n` before and after shows exactly
the intended change; every bad input exits non-zero and leaves the table as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.lab

BASE = """\
-A -t 192.168.1.100:80 -s wrr
-a -t 192.168.1.100:80 -r 192.168.1.21:80 -g -w 5
-a -t 192.168.1.100:80 -r 192.168.1.22:80 -g -w 3
-A -t 192.168.1.100:443 -s wlc -p 300
-a -t 192.168.1.100:443 -r 192.168.1.21:443 -g -w 2
-a -t 192.168.1.100:443 -r 192.168.1.23:443 -g -w 1
-A -u [2001:db8:1::100]:53 -s rr
-a -u [2001:db8:1::100]:53 -r [2001:db8:1::21]:53 -g -w 1
-A -f 7 -s rr
-a -f 7 -r 192.168.1.22:0 -g -w 1
"""
STATE = "/tmp/lvstui-test-state"
ENV = {"LVSTUI_STATE_DIR": STATE}
VS80 = "tcp:192.168.1.100:80"
VS443 = "tcp:192.168.1.100:443"
VS53 = "udp:[2001:db8:1::100]:53"


def saved(lab: Any) -> set[str]:
    return set(lab.run("lb1", ["ipvsadm", "-S", "-n"]).check().stdout.splitlines())


@pytest.fixture()
def table(dr_lab: Any) -> Any:
    dr_lab.sh("lb1", f"ipvsadm -C && rm -rf {STATE} && ipvsadm -R <<'EOF'\n{BASE}EOF").check()
    yield dr_lab
    dr_lab.sh("lb1", f"ipvsadm -C; rm -rf {STATE}")


def lvstui(lab: Any, *args: str) -> Any:
    return lab.lvstui("lb1", *args, env=ENV)


# (commands run in order, lines that disappear from `ipvsadm -S -n`, lines that appear)
CASES = {
    "drain": ([["drain", VS80, "192.168.1.21:80"]],
              {"-a -t 192.168.1.100:80 -r 192.168.1.21:80 -g -w 5"},
              {"-a -t 192.168.1.100:80 -r 192.168.1.21:80 -g -w 0"}),
    "drain then restore": ([["drain", VS80, "192.168.1.21:80"], ["restore", VS80, "192.168.1.21:80"]], set(), set()),
    "weight": ([["weight", VS80, "192.168.1.22:80", "7"]],
               {"-a -t 192.168.1.100:80 -r 192.168.1.22:80 -g -w 3"},
               {"-a -t 192.168.1.100:80 -r 192.168.1.22:80 -g -w 7"}),
    "weight +1": ([["weight", VS80, "192.168.1.22:80", "+1"]],
                  {"-a -t 192.168.1.100:80 -r 192.168.1.22:80 -g -w 3"},
                  {"-a -t 192.168.1.100:80 -r 192.168.1.22:80 -g -w 4"}),
    "weight -1": ([["weight", VS443, "192.168.1.23:443", "-1"]],
                  {"-a -t 192.168.1.100:443 -r 192.168.1.23:443 -g -w 1"},
                  {"-a -t 192.168.1.100:443 -r 192.168.1.23:443 -g -w 0"}),
    "ipv6 weight": ([["weight", VS53, "[2001:db8:1::21]:53", "9"]],
                    {"-a -u [2001:db8:1::100]:53 -r [2001:db8:1::21]:53 -g -w 1"},
                    {"-a -u [2001:db8:1::100]:53 -r [2001:db8:1::21]:53 -g -w 9"}),
    "drain-host": ([["drain-host", "192.168.1.21"]],
                   {"-a -t 192.168.1.100:80 -r 192.168.1.21:80 -g -w 5",
                    "-a -t 192.168.1.100:443 -r 192.168.1.21:443 -g -w 2"},
                   {"-a -t 192.168.1.100:80 -r 192.168.1.21:80 -g -w 0",
                    "-a -t 192.168.1.100:443 -r 192.168.1.21:443 -g -w 0"}),
    "drain-host then restore-host": ([["drain-host", "192.168.1.21"], ["restore-host", "192.168.1.21"]],
                                     set(), set()),
    "add-rs": ([["add-rs", VS80, "192.168.1.23:80", "--weight", "4"]], set(),
               {"-a -t 192.168.1.100:80 -r 192.168.1.23:80 -g -w 4"}),
    "add-rs nat thresholds": ([["add-rs", VS80, "192.168.1.24:8080", "--forward", "NAT", "--upper", "100",
                                "--lower", "10"]], set(),
                              {"-a -t 192.168.1.100:80 -r 192.168.1.24:8080 -m -w 1"}),  # -S omits thresholds
    "add-rs tun": ([["add-rs", VS80, "192.168.1.25:80", "--forward", "TUN", "--weight", "2"]], set(),
                   {"-a -t 192.168.1.100:80 -r 192.168.1.25:80 -i -w 2 --tun-type ipip"}),
    "add-rs ipv6": ([["add-rs", VS53, "[2001:db8:1::22]:53", "--weight", "3"]], set(),
                    {"-a -u [2001:db8:1::100]:53 -r [2001:db8:1::22]:53 -g -w 3"}),
    "add-rs fwmark": ([["add-rs", "fwmark:7", "192.168.1.23:0"]], set(), {"-a -f 7 -r 192.168.1.23:0 -g -w 1"}),
    "remove-rs": ([["remove-rs", VS443, "192.168.1.23:443"]],
                  {"-a -t 192.168.1.100:443 -r 192.168.1.23:443 -g -w 1"}, set()),
    "add-vs": ([["add-vs", "tcp:192.168.1.100:8080", "--scheduler", "sh", "--flags", "sh-port"]], set(),
               {"-A -t 192.168.1.100:8080 -s sh -b sh-port"}),
    "add-vs persistent netmask": ([["add-vs", "tcp:192.168.1.100:25", "--persistent", "120", "--netmask",
                                    "255.255.255.0"]], set(),
                                  {"-A -t 192.168.1.100:25 -s wlc -p 120 -M 255.255.255.0"}),
    "add-vs ipv6 sctp": ([["add-vs", "sctp:[2001:db8:1::100]:3868", "--scheduler", "mh"]], set(),
                         {"-A --sctp-service [2001:db8:1::100]:3868 -s mh"}),
    "add-vs fwmark ops": ([["add-vs", "fwmark:9", "--scheduler", "rr", "--flags", "ops"]], set(),
                          {"-A -f 9 -s rr -o"}),
    "edit-vs": ([["edit-vs", VS80, "--scheduler", "rr", "--persistent", "60"]],
                {"-A -t 192.168.1.100:80 -s wrr"}, {"-A -t 192.168.1.100:80 -s rr -p 60"}),
    "edit-vs persistence off": ([["edit-vs", VS443, "--persistent", "0"]],
                                {"-A -t 192.168.1.100:443 -s wlc -p 300"}, {"-A -t 192.168.1.100:443 -s wlc"}),
    "remove-vs": ([["remove-vs", "fwmark:7"]], {"-A -f 7 -s rr", "-a -f 7 -r 192.168.1.22:0 -g -w 1"}, set()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_verb_changes_exactly_what_it_says(table: Any, name: str) -> None:
    commands, gone, added = CASES[name]
    before = saved(table)
    for argv in commands:
        r = lvstui(table, *argv)
        assert r.rc == 0, r.describe()
    after = saved(table)
    assert before - after == gone
    assert after - before == added


def test_add_rs_thresholds_reach_the_kernel(table: Any) -> None:
    assert lvstui(table, "add-rs", VS80, "192.168.1.24:8080", "--forward", "NAT", "--upper", "100",
                  "--lower", "10").rc == 0
    listing = table.run("lb1", ["ipvsadm", "-Ln", "--thresholds"]).check().stdout
    assert any(line.split()[:4] == ["->", "192.168.1.24:8080", "100", "10"] for line in listing.splitlines())


BAD = {
    "bad address": (["drain", "tcp:192.168.1.300:80", "192.168.1.21:80"], 2, "not a valid"),
    "injection in address": (["add-rs", VS80, "1.2.3.4;reboot:80"], 2, "not a valid"),
    "port 0": (["add-rs", VS80, "192.168.1.23:0"], 2, "port 0"),
    "port 65536": (["add-rs", VS80, "192.168.1.23:65536"], 2, "out of range"),
    "vs port 65536": (["add-vs", "tcp:192.168.1.100:65536"], 2, "out of range"),
    "weight -1": (["weight", VS80, "192.168.1.21:80", "-6"], 3, "below 0"),
    "weight too big": (["weight", VS80, "192.168.1.21:80", "2147483648"], 2, "out of range"),
    "weight not a number": (["weight", VS80, "192.168.1.21:80", "five"], 2, "not a whole number"),
    "add weight not a number": (["add-rs", VS80, "192.168.1.23:80", "--weight", "1.5"], 2, "not a whole number"),
    "unknown scheduler": (["add-vs", "tcp:192.168.1.100:81", "--scheduler", "fastest"], 2, "unknown scheduler"),
    "flag for other scheduler": (["add-vs", "tcp:192.168.1.100:81", "--scheduler", "rr", "--flags", "sh-port"], 2,
                                 "needs the sh scheduler"),
    "duplicate rs": (["add-rs", VS80, "192.168.1.21:80"], 3, "already in"),
    "duplicate vs": (["add-vs", VS80], 3, "already exists"),
    "missing vs": (["drain", "tcp:192.168.1.100:81", "192.168.1.21:80"], 3, "does not exist"),
    "missing rs": (["drain", VS80, "192.168.1.29:80"], 3, "is not in"),
    "missing host": (["drain-host", "192.168.1.29"], 3, "no real server"),
    "dr port mismatch": (["add-rs", VS80, "192.168.1.23:8080"], 2, "NAT"),
    "bad forward": (["add-rs", VS80, "192.168.1.23:80", "--forward", "FAST"], 2, "unknown forwarding"),
    "lower above upper": (["add-rs", VS80, "192.168.1.23:80", "--upper", "5", "--lower", "10"], 2, "above"),
    "restore never drained": (["restore", VS443, "192.168.1.23:443"], 0, None),
    "edit missing vs": (["edit-vs", "tcp:192.168.1.100:81", "--scheduler", "rr"], 3, "does not exist"),
    "remove missing vs": (["remove-vs", "udp:192.168.1.100:80"], 3, "does not exist"),
    "netmask without persistence": (["add-vs", "tcp:192.168.1.100:82", "--netmask", "255.255.0.0"], 2,
                                     "persistent"),
    "bad netmask": (["add-vs", "tcp:192.168.1.100:82", "--persistent", "5", "--netmask", "255.0.255.0"], 2,
                    "netmask"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_changes_nothing(table: Any, name: str) -> None:
    argv, status, words = BAD[name]
    before = saved(table)
    r = lvstui(table, *argv)
    assert r.rc == status, r.describe()
    if words is not None:
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], r.stderr
    assert saved(table) == before


@pytest.mark.parametrize("argv", [
    ["drain", VS80, "192.168.1.21:80"], ["restore", VS80, "192.168.1.21:80"], ["drain-host", "192.168.1.21"],
    ["restore-host", "192.168.1.21"], ["weight", VS80, "192.168.1.21:80", "9"],
    ["add-rs", VS80, "192.168.1.23:80"], ["remove-rs", VS80, "192.168.1.22:80"], ["add-vs", "tcp:192.168.1.100:81"],
    ["edit-vs", VS80, "--scheduler", "rr"], ["remove-vs", VS80],
])
def test_readonly_refuses_every_verb(table: Any, argv: list[str]) -> None:
    before = saved(table)
    r = lvstui(table, "--readonly", *argv)
    assert r.rc == 3 and "read-only" in r.stderr, r.describe()
    assert saved(table) == before


def test_restore_uses_the_weight_remembered_across_processes_and_the_journal_records_all(table: Any) -> None:
    assert lvstui(table, "drain", VS80, "192.168.1.21:80").rc == 0
    assert lvstui(table, "drain", VS80, "192.168.1.21:80").rc == 0  # a second drain keeps the first weight
    assert lvstui(table, "restore", VS80, "192.168.1.21:80").rc == 0
    assert "-a -t 192.168.1.100:80 -r 192.168.1.21:80 -g -w 5" in saved(table)
    lvstui(table, "--readonly", "weight", VS80, "192.168.1.21:80", "1")
    journal = [json.loads(line) for line in table.read_file("lb1", f"{STATE}/journal.jsonl").splitlines()]
    assert [(e["verb"], e["result"]) for e in journal] == [
        ("drain", "intent"), ("drain", "applied"), ("drain", "intent"), ("drain", "applied"),
        ("restore", "intent"), ("restore", "applied"), ("weight", "refused")]
    assert [e["intent"] for e in journal if e["result"] == "applied"] == [
        e["id"] for e in journal if e["result"] == "intent"]  # each outcome names the intent written ahead
    journal = [e for e in journal if e["result"] != "intent"]
    assert journal[0]["steps"] == [f"{VS80} -> 192.168.1.21:80: weight 5 -> 0"]
    assert journal[0]["operator"]


def test_kernel_refusal_is_reported_and_nothing_is_half_applied(table: Any) -> None:
    # The kernel has no 'twos' scheduler module in this build: the add is refused by the kernel itself.
    before = saved(table)
    r = lvstui(table, "add-vs", "tcp:192.168.1.100:82", "--scheduler", "twos")
    assert r.rc == 1 and "kernel refused" in r.stderr, r.describe()
    assert saved(table) == before
