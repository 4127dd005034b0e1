"""The services of the lab table the capture (tests/data/ip_vs_conn_lab.txt) was taken from."""

from __future__ import annotations

from lvstui.model import RealServer, VirtualService

VIP, VIP6 = "192.168.1.100", "2001:db8:1::100"
RS4 = ["192.168.1.21", "192.168.1.22", "192.168.1.23"]
RS6 = ["2001:db8:1::21", "2001:db8:1::22", "2001:db8:1::23"]


def lab_services() -> list[VirtualService]:
    """The table tests/lab/test_conns_parity.py builds (where the capture comes from)."""
    def vs(proto: str | None, addr: str | None, port: int | None, rss: list[tuple[str, int]],
           fwmark: int | None = None, family: str = "inet") -> VirtualService:
        return VirtualService(proto, family, addr, port, fwmark,
                              real_servers=tuple(RealServer(a, p, family) for a, p in rss))

    return [
        vs("tcp", VIP, 9000, [(a, 9000) for a in RS4]),
        vs("tcp", VIP6, 9000, [(a, 9000) for a in RS6], family="inet6"),
        vs("tcp", VIP, 80, [(a, 80) for a in RS4[:2]]), vs("tcp", VIP6, 80, [(a, 80) for a in RS6[:2]], family="inet6"),
        vs("tcp", VIP, 9100, [("192.168.1.250", 9100)]),
        vs("udp", VIP, 5353, [(a, 5353) for a in RS4]),
        vs("udp", VIP6, 5353, [(a, 5353) for a in RS6], family="inet6"),
        vs("udp", VIP, 5454, [(a, 5454) for a in RS4[:2]]),
        vs("sctp", VIP, 3868, [(a, 3868) for a in RS4[:2]]),
        vs(None, None, None, [(a, 0) for a in RS4[:2]], fwmark=7),
        vs(None, None, None, [(a, 0) for a in RS6[:2]], fwmark=8, family="inet6"),
    ]
