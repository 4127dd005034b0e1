"""The drain's definition of 'still carries client traffic', on lines captured in the lab."""

from __future__ import annotations

from pathlib import Path

from lvstui.backend.conns import Conn, parse_line, read_conns
from lvstui.backend.traffic import ProtocolTraffic, carries_traffic, server_traffic

CAPTURE = Path(__file__).resolve().parents[2] / "tests" / "data" / "ip_vs_conn_lab.txt"


def entries_to(address: str) -> list[Conn]:
    return [c for c in read_conns(str(CAPTURE)) if c.dest == address]


def test_rs2_carries_tcp_udp_and_sctp_and_three_clients_are_pinned() -> None:
    t = server_traffic(iter(entries_to("192.168.1.22")))  # a stream, read once
    assert t.of("TCP") == ProtocolTraffic("TCP", carrying=1, closed=3, longest_carrying=897, longest_closed=117)
    assert t.of("UDP") == ProtocolTraffic("UDP", carrying=5, closed=0, longest_carrying=297)
    assert t.of("SCTP") == ProtocolTraffic("SCTP", carrying=1, closed=0, longest_carrying=60)
    assert (t.templates, t.longest_template) == (3, 297)  # TCP /24, UDP, fwmark 7
    assert not t.done and t.carrying == 7
    assert t.eta is None  # an open TCP connection: no one knows when the client closes
    assert t.all_expired_in == 897


def test_closed_tcp_waiting_out_its_timers_does_not_count() -> None:
    # rs2 without its established connection: FIN_WAIT entries left, UDP and SCTP still live
    rest = [c for c in entries_to("192.168.1.22") if c.state != "ESTABLISHED"]
    t = server_traffic(rest)
    assert t.of("TCP").carrying == 0 and t.of("TCP").closed == 3 and t.of("TCP").eta == 0
    assert not t.done and t.eta == 297  # the longest UDP entry
    only_closed = [c for c in rest if c.protocol == "TCP" or c.template]
    t = server_traffic(only_closed)
    assert t.done and t.eta == 0 and t.templates == 3 and t.all_expired_in == 297


def test_syn_recv_counts_time_wait_and_close_do_not() -> None:
    t = server_traffic(entries_to("192.168.1.250"))  # raw SYN / SYN+FIN / SYN+ACK+RST, no server
    assert t.of("TCP") == ProtocolTraffic("TCP", carrying=3, closed=4, longest_carrying=57, longest_closed=117)
    assert t.eta is None and not t.done


def test_every_tcp_state_name_of_the_kernel() -> None:
    def tcp(state: str) -> Conn:
        return parse_line(f"TCP C0A80132 D00A C0A80164 2328 C0A80116 2328 {state} 10")

    flowing = ["ESTABLISHED", "SYN_SENT", "SYN_RECV", "SYNACK", "CLOSE_WAIT", "LISTEN", "NONE", "NEWSTATE"]
    closed = ["FIN_WAIT", "TIME_WAIT", "CLOSE", "LAST_ACK"]
    assert [carries_traffic(tcp(s)) for s in flowing] == [True] * len(flowing)
    assert [carries_traffic(tcp(s)) for s in closed] == [False] * len(closed)
    template = parse_line("TCP C0A80100 0000 C0A80164 0050 C0A80116 0050 ASSURED 297")
    assert template.template and not carries_traffic(template)


def test_sctp_closed_and_rejected_are_over_udp_counts_until_expiry() -> None:
    def line(proto: str, state: str, expires: int) -> Conn:
        return parse_line(f"{proto} C0A80132 A029 C0A80164 0F1C C0A80116 0F1C {state} {expires}")

    t = server_traffic([line("SCTP", "CLOSED", 9), line("SCTP", "REJECTED", 9), line("SCTP", "ESTABLISHED", 40),
                        line("UDP", "UDP", 12), line("UDP", "UDP", 0)])
    assert t.of("SCTP") == ProtocolTraffic("SCTP", carrying=1, closed=2, longest_carrying=40, longest_closed=9)
    assert t.of("UDP").carrying == 2 and t.eta == 40


def test_nothing_at_all_is_done_now() -> None:
    t = server_traffic([])
    assert t.done and t.eta == 0 and t.all_expired_in == 0 and t.templates == 0


def test_read_server_traffic_of_one_service_and_real_server() -> None:
    from lvstui.backend.traffic import read_server_traffic
    from tests.conns.lab_table import lab_services

    t = read_server_traffic(lab_services(), "tcp:192.168.1.100:9000", "192.168.1.22:9000", str(CAPTURE))
    assert t.of("TCP") == ProtocolTraffic("TCP", carrying=1, closed=1, longest_carrying=897, longest_closed=117)
    assert t.templates == 0 and t.eta is None
    t = read_server_traffic(lab_services(), "fwmark:7", "192.168.1.22:0", str(CAPTURE))
    assert (t.of("UDP").carrying, t.templates, t.eta) == (2, 1, 297)
