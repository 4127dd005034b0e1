"""Which virtual service an entry belongs to, and the filters of `lvstui conns`."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvstui.backend.connfilter import ConnFilter, parse_endpoint, parse_service
from lvstui.backend.conns import ServiceIndex, read_conns
from tests.conns.lab_table import VIP, VIP6, lab_services

CAPTURE = Path(__file__).resolve().parents[2] / "tests" / "data" / "ip_vs_conn_lab.txt"


def test_every_captured_entry_resolves_to_its_service() -> None:
    index = ServiceIndex(lab_services())
    got = {}
    for c in read_conns(str(CAPTURE)):
        got.setdefault(index.resolve(c), set()).add((c.protocol, c.virtual_port))
    assert None not in got
    assert got["fwmark:7"] == {("IP", 0), ("UDP", 6000)}  # the template and the marked datagrams
    assert got["fwmark:8:inet6"] == {("IP", 0), ("UDP", 6000)}
    assert got[f"tcp:[{VIP6}]:80"] == {("TCP", 80)}
    assert got[f"udp:{VIP}:5454"] == {("UDP", 5454)}


def test_unknown_services_resolve_to_none() -> None:
    index = ServiceIndex([])
    assert {index.resolve(c) for c in read_conns(str(CAPTURE))} == {None}


def test_filters() -> None:
    index = ServiceIndex(lab_services())
    entries = list(read_conns(str(CAPTURE)))

    def pick(vs: str | None = None, rs: str | None = None, state: str | None = None,
             client: str | None = None) -> list[str]:
        f = ConnFilter.parse(vs, rs, state, client)
        return sorted(c.destination for c in entries if f.accepts(c, index))

    assert pick("tcp:192.168.1.100:9100", state="syn_recv") == ["192.168.1.250:9100"] * 3
    # the template and two closed HTTP connections (persistence sent both to rs2)
    assert pick("TCP:[2001:0db8:1::100]:80", "[2001:db8:1::22]:80") == ["[2001:db8:1::22]:80"] * 3
    # a fwmark service's real server has port 0: its entries carry the packet's port (or 0)
    assert pick("fwmark:7", "192.168.1.22:0") == ["192.168.1.22:0", "192.168.1.22:6000", "192.168.1.22:6000"]
    assert pick("fwmark:7") == pick("fwmark:7", "192.168.1.22:0")  # persistence: one client, one server
    assert pick(client="192.168.1.0/32", state="ASSURED") == ["192.168.1.22:80"]  # the masked template
    assert len(pick(client="2001:db8:1::/64")) == sum(1 for c in entries if c.family == "inet6")


def test_bad_words_are_readable_errors() -> None:
    for vs in ["tcp:1.2.3.4", "icmp:1.2.3.4:80", "fwmark:x", "fwmark:0", "1.2.3.4:80", "tcp:2001:db8::1:80"]:
        with pytest.raises(ValueError):
            parse_service(vs)
    with pytest.raises(ValueError, match="CIDR"):
        ConnFilter.parse(None, None, None, "10.0.0.0/33")
    assert parse_endpoint("[2001:0db8::1]:8080") == ("2001:db8::1", 8080)
    assert parse_service("fwmark:8:inet6") == "fwmark:8:inet6" and parse_service("fwmark:8") == "fwmark:8"
