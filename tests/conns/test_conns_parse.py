"""Parsing /proc/net/ip_vs_conn, on lines a lab run captured (tests/data/ip_vs_conn_lab.txt).

The capture was written by tests/lab/test_conns_parity.py (LVSTUI_CONNS_CAPTURE) on the lab's
kernel, in the run where the same table matched `ipvsadm -Lnc` entry for entry.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lvstui.backend.conncount import count_states
from lvstui.backend.conns import (
    Conn,
    ConnError,
    format_expires,
    format_row,
    hex_address,
    open_lines,
    parse_line,
    parse_lines,
    read_conns,
    table_rows,
)

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "tests" / "data" / "ip_vs_conn_lab.txt"


def captured() -> list[Conn]:
    return list(read_conns(str(CAPTURE)))


def test_hex_addresses_as_ipvsadm_prints_them() -> None:
    assert hex_address("C0A80132") == ("192.168.1.50", "inet")
    assert hex_address("00000007") == ("0.0.0.7", "inet")
    assert hex_address("2001:0db8:0001:0000:0000:0000:0000:0100") == ("2001:db8:1::100", "inet6")
    assert hex_address("0000:0008:0000:0000:0000:0000:0000:0000") == ("0:8::", "inet6")
    with pytest.raises(ValueError):
        hex_address("C0A801")


def test_every_captured_line_parses_and_the_header_is_skipped() -> None:
    lines = CAPTURE.read_text().splitlines()
    assert lines[0].startswith("Pro FromIP")
    entries = captured()
    assert len(entries) == len(lines) - 1
    assert {c.protocol for c in entries} == {"TCP", "UDP", "SCTP", "IP"}
    assert {c.family for c in entries} == {"inet", "inet6"}


def test_templates_are_the_entries_with_client_port_zero() -> None:
    entries = captured()
    templates = [c for c in entries if c.template]
    # TCP /24 and /64 (state ASSURED), UDP (NONE), fwmark 7 and 8 (protocol IP, NONE)
    assert sorted((c.protocol, c.state, c.source) for c in templates) == [
        ("IP", "NONE", "192.168.1.0:0"), ("IP", "NONE", "[2001:db8:1::]:0"),
        ("TCP", "ASSURED", "192.168.1.0:0"), ("TCP", "ASSURED", "[2001:db8:1::]:0"),
        ("UDP", "NONE", "192.168.1.50:0"),  # no netmask on that service
    ]
    assert all(c.client_port != 0 for c in entries if not c.template)
    fw6 = next(c for c in templates if c.protocol == "IP" and c.family == "inet6")
    assert fw6.virtual_endpoint == "[0:8::]:0" and fw6.destination == "[2001:db8:1::22]:0"


def test_a_row_in_ipvsadm_lnc_columns() -> None:
    c = parse_line("TCP C0A80132 D00A C0A80164 2328 C0A80116 2328 ESTABLISHED     897\n")
    assert format_row(c) == ("TCP 14:57  ESTABLISHED 192.168.1.50:53258 192.168.1.100:9000 "
                             "192.168.1.22:9000")
    v6 = parse_line("UDP 2001:0db8:0001:0000:0000:0000:0000:0050 BCEC 2001:0db8:0001:0000:0000:0000:0000:0100 "
                    "1770 2001:0db8:0001:0000:0000:0000:0000:0022 1770 UDP             299")
    assert format_row(v6) == "UDP 04:59  UDP         [2001:db8:1::50]:48364 [2001:db8:1::100]:6000 [2001:db8:1::22]:6000"
    assert format_expires(0) == "00:00" and format_expires(3725) == "62:05"


def test_persistence_engine_data_and_the_sync_file() -> None:
    c = parse_line("UDP C0A80132 13C4 C0A80164 13C4 C0A80115 13C4 UDP             299 sip 616263\n")
    assert (c.pe_name, c.pe_data) == ("sip", "616263")
    s = next(parse_lines(["Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires\n",
                          "TCP C0A80132 D00A C0A80164 2328 C0A80116 2328 ESTABLISHED SYNC       897\n"], sync=True))
    assert (s.origin, s.expires, s.state) == ("SYNC", 897, "ESTABLISHED")


def test_a_broken_line_is_a_readable_error() -> None:
    with pytest.raises(ValueError, match="short connection line"):
        parse_line("TCP C0A80132 D00A\n")
    for broken in ("TCP C0A80132 D00A\n", "TCP C0A801 D00A C0A80164 2328 C0A80116 2328 ESTABLISHED 897\n",
                   "TCP C0A80132 D00A C0A80164 2328 C0A80116 2328 ESTABLISHED soon\n"):
        with pytest.raises(ValueError) as fast:
            list(table_rows([broken]))
        with pytest.raises(ValueError) as slow:
            parse_line(broken)
        assert str(fast.value) == str(slow.value)  # the same message as the parser's


def test_the_unfiltered_table_rows_are_format_row_of_each_entry() -> None:
    """``lvstui conns`` without filter formats straight from the lines: the same rows."""
    lines = CAPTURE.read_text().splitlines(keepends=True)
    assert list(table_rows(lines)) == [format_row(c) for c in parse_lines(lines)]
    sync = ["Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires\n",
            "TCP C0A80132 D00A C0A80164 2328 C0A80116 2328 ESTABLISHED SYNC       897\n", "\n"]
    assert list(table_rows(sync, sync=True)) == [format_row(c) for c in parse_lines(sync, sync=True)]


def test_no_table_is_a_connerror(tmp_path: Path) -> None:
    with pytest.raises(ConnError, match="no IPVS"):
        open_lines(str(tmp_path / "ip_vs_conn"))


def test_counts_by_real_server_and_state_cover_every_entry() -> None:
    counts = count_states(CAPTURE.read_bytes().splitlines(keepends=True))
    entries = captured()
    assert sum(s.count for s in counts) == len(entries)
    for s in counts:
        same = [c for c in entries if (c.destination, c.protocol, c.state, c.template)
                == (s.destination, s.protocol, s.state, s.template)]
        assert len(same) == s.count and max(c.expires for c in same) == s.longest_expiry
    rs250 = {(s.state, s.count) for s in counts if s.destination == "192.168.1.250:9100"}
    assert rs250 == {("SYN_RECV", 3), ("TIME_WAIT", 2), ("CLOSE", 2)}


@pytest.mark.skipif(Path("/proc/net/ip_vs_conn").exists(), reason="this kernel has IPVS")
def test_conns_without_ipvs_is_one_line_and_exit_1() -> None:
    r = subprocess.run([sys.executable, "-m", "lvstui", "conns", "--json"], capture_output=True, text=True,
                       cwd=REPO)
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "/proc/net/ip_vs_conn: no IPVS" in lines[0]
