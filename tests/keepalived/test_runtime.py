"""Runtime readers against dumps captured from a real keepalived 2.2.7 with IPVS (UML lab).

tests/keepalived/data was produced by data/capture_uml.sh: lb1 (priority 150) and lb2
(priority 100) share VRID 51 and VIP 192.168.1.100; rs1 and rs2 serve HTTP, rs3 does not;
rs2 has inhibit_on_failure.  "lb1-demoted" is after writing 1 to lb1's track file
(weight -60), "lb1-rsdown" after stopping rs2's server.
"""

from __future__ import annotations

import os
from datetime import UTC
from pathlib import Path

import pytest

from lvstui.keepalived.fifo import (
    FifoTail,
    LvsEvent,
    VrrpEvent,
    parse_fifo_line,
    parse_lvs_fifo_line,
    parse_vrrp_fifo_line,
)
from lvstui.keepalived.processes import parse_cmdline, signal_number
from lvstui.keepalived.runtime import dump_names, parse_check_data, parse_vrrp_data, parse_vrrp_json
from lvstui.keepalived.validate import find_keepalived
from tests.keepalived.support import DATA


def read(name: str) -> str:
    return (DATA / name).read_text()


# ---- FIFOs -------------------------------------------------------------------------------------


def test_vrrp_fifo_lines_captured() -> None:
    events = [parse_vrrp_fifo_line(line) for line in read("lb1.vrrp_fifo.txt").splitlines()]
    assert events == [
        VrrpEvent("INSTANCE", "VI_1", "BACKUP", 150),
        VrrpEvent("INSTANCE", "VI_1", "MASTER", 150),
        VrrpEvent("INSTANCE", "VI_1", "BACKUP", 90),  # demoted by the track file
        VrrpEvent("INSTANCE", "VI_1", "MASTER", 150),
        VrrpEvent("INSTANCE", "VI_1", "STOP", 150),
    ]


@pytest.mark.parametrize("line,expected", [
    (b'INSTANCE "VI_1" MASTER 150\x00\n', VrrpEvent("INSTANCE", "VI_1", "MASTER", 150)),
    ('INSTANCE "VI_1" MASTER_PRIORITY 90', VrrpEvent("INSTANCE", "VI_1", "MASTER_PRIORITY", 90)),
    ('GROUP "VG 1" FAULT 0\n', VrrpEvent("GROUP", "VG 1", "FAULT", 0)),
    ('INSTANCE "VI_1" DELETED', VrrpEvent("INSTANCE", "VI_1", "DELETED", None)),
    ("garbage", None),
    ('INSTANCE VI_1 MASTER 1', None),
])
def test_vrrp_fifo_line_forms(line: str | bytes, expected: VrrpEvent | None) -> None:
    assert parse_vrrp_fifo_line(line) == expected


def test_lvs_fifo_lines_captured() -> None:
    events = [parse_lvs_fifo_line(line) for line in read("lb1.lvs_fifo.txt").splitlines()]
    assert events[0] == LvsEvent("VS", True, "tcp", "192.168.1.100", 80)
    assert events[0].vs_key == "tcp:192.168.1.100:80"
    downs = [(e.rs_address, e.rs_port, e.up) for e in events[1:] if e]
    assert downs == [("192.168.1.23", 80, False), ("192.168.1.22", 80, False)]


def test_lvs_fifo_line_forms() -> None:
    ev = parse_lvs_fifo_line(b"RS [2001:db8::5]:udp:53 [2001:db8::1]:udp:53 UP\x00")
    assert ev == LvsEvent("RS", True, "udp", "2001:db8::1", 53, None, "2001:db8::5", 53)
    assert ev.vs_key == "udp:[2001:db8::1]:53"
    assert parse_lvs_fifo_line("VS [10.0.0.1]:tcp:80 MAYBE") is None
    assert parse_lvs_fifo_line("RS [10.0.0.1]:tcp:80 UP") is None
    assert isinstance(parse_fifo_line('INSTANCE "x" BACKUP 1'), VrrpEvent)
    assert isinstance(parse_fifo_line("VS [10.0.0.1]:tcp:80 DOWN"), LvsEvent)


# ---- DATA and JSON dumps ------------------------------------------------------------------------


def test_vrrp_data_master_and_backup() -> None:
    (lb1,) = parse_vrrp_data(read("lb1.keepalived.data"))
    (lb2,) = parse_vrrp_data(read("lb2.keepalived.data"))
    assert (lb1.name, lb1.state, lb1.priority, lb1.effective_priority) == ("VI_1", "MASTER", 150, 150)
    assert (lb2.state, lb2.priority) == ("BACKUP", 100)
    assert lb1.vips == ("192.168.1.100/24",)
    assert (lb1.interface, lb1.virtual_router_id) == ("eth0", 51)
    assert lb1.last_transition is not None and lb1.last_transition.tzinfo == UTC
    assert lb1.last_transition.year == 2026


def test_vrrp_data_demoted_shows_effective_priority() -> None:
    (vi,) = parse_vrrp_data(read("lb1-demoted.keepalived.data"))
    assert (vi.state, vi.priority, vi.effective_priority) == ("BACKUP", 150, 90)


def test_vrrp_json_agrees_with_data() -> None:
    for name in ("lb1", "lb2", "lb1-demoted"):
        (from_json,) = parse_vrrp_json(read(f"{name}.keepalived.json"))
        (from_data,) = parse_vrrp_data(read(f"{name}.keepalived.data"))
        assert (from_json.name, from_json.state, from_json.priority, from_json.effective_priority,
                from_json.vips, from_json.interface, from_json.virtual_router_id) == \
               (from_data.name, from_data.state, from_data.priority, from_data.effective_priority,
                from_data.vips, from_data.interface, from_data.virtual_router_id)
        assert from_json.last_transition == from_data.last_transition
    (demoted,) = parse_vrrp_json(read("lb1-demoted.keepalived.json"))
    assert demoted.master_priority == 100  # lb2 is the master it sees
    with pytest.raises(ValueError, match="not JSON"):
        parse_vrrp_json("{oops")


def test_check_data_alive_failed_and_removed() -> None:
    (vs,) = parse_check_data(read("lb1.keepalived_check.data"))
    assert (vs.key, vs.alive, vs.quorum_up, vs.scheduler) == ("tcp:192.168.1.100:80", True, True, "wrr")
    rs = {r.address: r for r in vs.real_servers}
    assert [r.weight for r in vs.real_servers] == [3, 2, 1]
    assert rs["192.168.1.21"].alive and rs["192.168.1.21"].checkers[0].type == "TCP_CHECK"
    assert rs["192.168.1.21"].checkers[0].up
    dead = rs["192.168.1.23"]  # nothing listens on rs3
    assert (dead.alive, dead.failed_checkers, dead.in_ipvs, dead.inhibited) == (False, 1, False, False)
    assert not dead.checkers[0].up
    assert rs["192.168.1.22"].inhibit_on_failure


def test_check_data_inhibited_real_server_stays_in_ipvs() -> None:
    (vs,) = parse_check_data(read("lb1-rsdown.keepalived_check.data"))
    rs2 = {r.address: r for r in vs.real_servers}["192.168.1.22"]
    assert (rs2.alive, rs2.in_ipvs, rs2.inhibited) == (False, True, True)
    # and the kernel agrees: rs2 is in IPVS with weight 0, rs3 is absent
    table = read("lb1-rsdown.ipvsadm.txt")
    assert "192.168.1.22:80              Route   0" in table
    assert "192.168.1.23" not in table


def test_check_data_groups_and_fwmarks() -> None:
    text = read("lb1.keepalived_check.data").replace("VS VIP = 192.168.1.100, VPORT = 80", "VS FWMARK = 7")
    text = text.replace("[192.168.1.100]:tcp:80 ->", "FWM 7 ->")
    (vs,) = parse_check_data(text)
    assert vs.key == "fwmark:7"
    assert [len(r.checkers) for r in vs.real_servers] == [1, 1, 1]
    (grp,) = parse_check_data(text.replace("VS FWMARK = 7", "VS GROUP = VSG_1"))
    assert grp.key == "group:VSG_1"


def test_signal_numbers_captured_match_this_build() -> None:
    captured = dict(line.split() for line in read("signum.txt").splitlines())
    assert captured["DATA"] == "10" and captured["RELOAD"] == "1"
    if find_keepalived() is not None:  # same Debian build on this machine
        for name, number in captured.items():
            assert signal_number(name) == int(number)
        with pytest.raises(RuntimeError):
            signal_number("NO_SUCH_SIGNAL")


def test_parse_cmdline_of_captured_processes() -> None:
    line = next(x for x in read("ps.txt").splitlines() if "keepalived -f" in x)
    argv = line.split()[2:]
    opts = parse_cmdline(argv)
    assert opts == {"config": "/run/ka/lb1/keepalived.conf", "parent": "/run/ka/lb1/keepalived.pid",
                    "vrrp": "/run/ka/lb1/vrrp.pid", "checker": "/run/ka/lb1/check.pid"}
    assert parse_cmdline(["keepalived", "--use-file=/x", "-i", "main", "-s", "ns1", "-D"]) == \
        {"config": "/x", "config_id": "main", "namespace": "ns1"}


def test_fifo_tail_reads_whole_lines_and_survives_writer_restart(tmp_path: Path) -> None:
    path = tmp_path / "vrrp.fifo"
    os.mkfifo(path)
    with FifoTail(path) as tail:
        assert tail.poll(0.05) == []  # no writer yet: nothing, and no blocking
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)  # as keepalived opens it
        os.write(fd, b'INSTANCE "VI_1" BACK')
        assert tail.poll(0.2) == []  # half a line waits for the rest
        os.write(fd, b'UP 100\x00\nnoise\nVS [10.0.0.1]:tcp:80 DOWN\n')
        assert tail.poll(0.2) == [VrrpEvent("INSTANCE", "VI_1", "BACKUP", 100),
                                  LvsEvent("VS", False, "tcp", "10.0.0.1", 80)]
        os.close(fd)  # keepalived restarts: its end closes
        assert tail.poll(0.2) == []
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)  # as keepalived opens it
        os.write(fd, b'INSTANCE "VI_1" MASTER 100\n')
        events = tail.poll(0.2) or tail.poll(0.2)
        os.close(fd)
        assert events == [VrrpEvent("INSTANCE", "VI_1", "MASTER", 100)]


def test_dump_names_with_data_use_instance() -> None:
    assert dump_names() == {"vrrp": "keepalived.data", "check": "keepalived_check.data",
                            "json": "keepalived.json"}
    named = dump_names(namespace="lb1", instance="web", use_instance=True)
    assert (named["vrrp"], named["check"]) == ("keepalived.lb1_web.data", "keepalived_check.lb1_web.data")
    assert dump_names(namespace="lb1", use_instance=True)["vrrp"] == "keepalived.lb1.data"
    assert dump_names(namespace="lb1")["vrrp"] == "keepalived.data"


def test_fifo_tail_waits_for_a_missing_fifo(tmp_path: Path) -> None:
    path = tmp_path / "later.fifo"
    with FifoTail(path) as tail:
        assert tail.poll(0.05) == []
        os.mkfifo(path)
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        os.write(fd, b'INSTANCE "V" FAULT 1\n')
        assert tail.poll(0.2) == [VrrpEvent("INSTANCE", "V", "FAULT", 1)]
        os.close(fd)


CAPTURE_CONF = """\
virtual_server 192.168.1.100 80 {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 192.168.1.21 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 192.168.1.22 8080 {
        weight 2
        inhibit_on_failure
        TCP_CHECK {
            connect_port 80
        }
    }
    real_server 192.168.1.23 80 {
        TCP_CHECK {
        }
    }
    real_server 192.168.1.24 80 {
    }
}
"""


def test_join_configuration_with_checker_state(tmp_path: Path) -> None:
    """The capture configuration (DR; rs2 written with port 8080, which keepalived resets to 80)."""
    from lvstui.keepalived.join import join_state
    from lvstui.keepalived.loader import load
    from lvstui.keepalived.view import build_view

    path = tmp_path / "keepalived.conf"
    path.write_text(CAPTURE_CONF)
    view = build_view(load(path))
    joined = join_state(view, parse_check_data(read("lb1-rsdown.keepalived_check.data")))
    assert [(j.real_server.address, j.status, j.failed_checkers) for j in joined] == [
        ("192.168.1.21", "up", ()),
        ("192.168.1.22", "inhibited", ("TCP_CHECK",)),
        ("192.168.1.23", "down", ("TCP_CHECK",)),
        ("192.168.1.24", "unknown", ()),  # not in keepalived's dump (not in the running config)
    ]
    before = join_state(view, parse_check_data(read("lb1.keepalived_check.data")))
    assert [j.status for j in before] == ["up", "up", "down", "unknown"]
