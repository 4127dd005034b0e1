"""VRRP advertisement parsing (RFC 3768 v2, RFC 5798 v3) and the per-VRID bookkeeping.

Packets are built here byte by byte from the RFCs' layouts, with the checksum computed
independently of lvstui's code, and two were captured in the lab (keepalived 2.2.7,
lb1 priority 150 and lb2 priority 100, VRID 51, VIP 192.168.1.100).
"""

from __future__ import annotations

import ipaddress
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lvstui.keepalived.vrrp_adverts import (
    AdvertError,
    AdvertListener,
    build_vrrp,
    parse_ipv4_packet,
    parse_vrrp,
)

# captured with a raw socket in lb2 (lb1 MASTER) and in lb1 (lb2 MASTER after a demotion)
LB1_MASTER = bytes.fromhex("45c0002800090000ff7018d7c0a8010be000001221339601000186bdc0a801640000000000000000")
LB2_MASTER = bytes.fromhex("45c00028000e0000ff7018d1c0a8010ce0000012213364010001b8bdc0a801640000000000000000")


def ones_complement(data: bytes) -> int:
    """RFC 1071, written out independently: 16-bit words, end-around carry, complement."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def test_captured_keepalived_adverts() -> None:
    a = parse_ipv4_packet(LB1_MASTER)
    assert (
        a.version,
        a.vrid,
        a.priority,
        a.advert_interval,
        a.addresses,
        a.source,
        a.ttl,
        a.auth_type,
        a.checksum_ok,
    ) == (2, 51, 150, 1.0, ("192.168.1.100",), "192.168.1.11", 255, 0, True)
    b = parse_ipv4_packet(LB2_MASTER)
    assert (b.vrid, b.priority, b.source, b.checksum_ok) == (51, 100, "192.168.1.12", True)


def test_corrupted_packet_has_a_bad_checksum() -> None:
    bad = bytearray(LB1_MASTER)
    bad[22] = 200  # the priority byte, checksum left as it was
    a = parse_ipv4_packet(bytes(bad))
    assert a.priority == 200 and not a.checksum_ok


def test_v2_built_byte_by_byte() -> None:
    # RFC 3768 5.1: version 2 | type 1, VRID, priority, count, auth type, adver int, checksum,
    # addresses, 8 bytes of authentication data
    body = (
        bytes([0x21, 7, 200, 2, 0, 3, 0, 0])
        + ipaddress.ip_address("10.0.0.1").packed
        + ipaddress.ip_address("10.0.0.2").packed
        + b"\x00" * 8
    )
    packet = body[:6] + struct.pack("!H", ones_complement(body)) + body[8:]
    assert build_vrrp(2, 7, 200, ["10.0.0.1", "10.0.0.2"], interval=3) == packet
    a = parse_vrrp(packet, "10.0.0.9")
    assert (a.version, a.vrid, a.priority, a.advert_interval, a.addresses, a.checksum_ok) == (
        2,
        7,
        200,
        3.0,
        ("10.0.0.1", "10.0.0.2"),
        True,
    )


def test_v3_ipv4_built_byte_by_byte() -> None:
    # RFC 5798 5.1: version 3 | type 1, VRID, priority, count, rsvd(4) | max adver int (12, centiseconds),
    # checksum over the IPv4 pseudo-header and the message
    msg = bytes([0x31, 9, 120, 1]) + struct.pack("!H", 150) + b"\x00\x00" + bytes([192, 168, 1, 100])
    pseudo = bytes([192, 168, 1, 11]) + bytes([224, 0, 0, 18]) + bytes([0, 112]) + struct.pack("!H", len(msg))
    packet = msg[:6] + struct.pack("!H", ones_complement(pseudo + msg)) + msg[8:]
    assert build_vrrp(3, 9, 120, ["192.168.1.100"], interval=1.5, source="192.168.1.11") == packet
    a = parse_vrrp(packet, "192.168.1.11", "224.0.0.18")
    assert (a.version, a.vrid, a.priority, a.advert_interval, a.addresses, a.checksum_ok) == (
        3,
        9,
        120,
        1.5,
        ("192.168.1.100",),
        True,
    )
    assert not parse_vrrp(packet, "192.168.1.12", "224.0.0.18").checksum_ok  # the pseudo-header counts
    ip = bytes([0x45, 0, 0, 20 + len(packet), 0, 1, 0, 0, 255, 112, 0, 0, 192, 168, 1, 11, 224, 0, 0, 18])
    assert parse_ipv4_packet(ip + packet).checksum_ok


def test_v3_ipv6() -> None:
    src, dst = ipaddress.ip_address("fe80::1"), ipaddress.ip_address("ff02::12")
    vip = ipaddress.ip_address("2001:db8:1::100")
    msg = bytes([0x31, 51, 100, 1]) + struct.pack("!H", 100) + b"\x00\x00" + vip.packed
    pseudo = src.packed + dst.packed + struct.pack("!I", len(msg)) + bytes([0, 0, 0, 112])
    packet = msg[:6] + struct.pack("!H", ones_complement(pseudo + msg)) + msg[8:]
    a = parse_vrrp(packet, "fe80::1", "ff02::12", family=6)
    assert (a.vrid, a.priority, a.addresses, a.checksum_ok) == (51, 100, ("2001:db8:1::100",), True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x21\x01", "too short"),
        (bytes([0x41, 1, 100, 0, 0, 1, 0, 0]), "unknown VRRP version 4"),
        (bytes([0x22, 1, 100, 0, 0, 1, 0, 0]), "not an advertisement"),
        (bytes([0x21, 0, 100, 0, 0, 1, 0, 0]), "VRID 0"),
        (bytes([0x21, 1, 100, 3, 0, 1, 0, 0, 10, 0, 0, 1]), "too short for 3 addresses"),
    ],
)
def test_invalid_messages(data: bytes, message: str) -> None:
    with pytest.raises(AdvertError, match=message):
        parse_vrrp(data)


def test_not_vrrp_ip_packet() -> None:
    tcp = bytearray(LB1_MASTER)
    tcp[9] = 6
    with pytest.raises(AdvertError, match="protocol 6"):
        parse_ipv4_packet(bytes(tcp))
    with pytest.raises(AdvertError, match="not an IPv4"):
        parse_ipv4_packet(b"\x60" + LB1_MASTER[1:])


@given(
    version=st.sampled_from([2, 3]),
    vrid=st.integers(1, 255),
    prio=st.integers(0, 255),
    addrs=st.lists(st.ip_addresses(v=4).map(str), min_size=0, max_size=5),
    interval=st.integers(1, 40),
)
def test_build_then_parse(version: int, vrid: int, prio: int, addrs: list[str], interval: int) -> None:
    packet = build_vrrp(version, vrid, prio, addrs, interval=float(interval), source="192.0.2.1")
    a = parse_vrrp(packet, "192.0.2.1")
    assert (a.version, a.vrid, a.priority, list(a.addresses), a.advert_interval, a.checksum_ok) == (
        version,
        vrid,
        prio,
        addrs,
        float(interval),
        True,
    )


def test_listener_bookkeeping() -> None:
    listener = AdvertListener()  # not started: record() is what its thread calls
    lb1 = parse_ipv4_packet(LB1_MASTER)
    lb2 = parse_ipv4_packet(LB2_MASTER)
    listener.record(lb1, "eth0", now=100.0)
    listener.record(lb1, "eth0", now=101.0)
    (peer,) = listener.peers()
    assert (peer.vrid, peer.source, peer.priority, peer.count, peer.first_seen, peer.interface) == (
        51,
        "192.168.1.11",
        150,
        2,
        100.0,
        "eth0",
    )
    assert peer.current(now=104.0) and not peer.current(now=105.0)  # three 1 s intervals (+0.5 s)
    assert listener.masters(now=102.0)[51].source == "192.168.1.11"
    listener.record(lb2, "eth0", now=102.0)  # both advertising: the higher priority is the master
    assert listener.masters(now=102.5)[51].priority == 150
    assert listener.masters(now=104.8)[51].source == "192.168.1.12"  # lb1 went quiet
    assert [a.source for a in listener.since(101.5)] == ["192.168.1.12"]
    resign = parse_vrrp(build_vrrp(2, 51, 0, ["192.168.1.100"]), "192.168.1.12")
    listener.record(resign, now=103.0)
    assert listener.masters(now=103.1)[51].source == "192.168.1.11"  # priority 0: lb2 is leaving
    assert listener.masters(now=105.0) == {}  # and lb1 has been quiet for over three intervals


def test_listener_failure_is_data(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*_a: object, **_k: object) -> socket.socket:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(socket, "socket", refuse)
    with AdvertListener() as listener:
        assert (
            listener.error
            == "cannot listen to VRRP adverts: Operation not permitted (needs root or CAP_NET_RAW)"
        )
        assert not listener.running and listener.peers() == ()
