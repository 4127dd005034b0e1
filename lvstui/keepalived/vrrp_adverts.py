"""VRRP advertisements seen on the wire: who holds each virtual router, at what priority.

Only the MASTER of a virtual router sends advertisements (RFC 3768 §6.4.3, RFC 5798
§6.4.3); backups are silent.  So listening to IP protocol 112 tells, per VRID, which
router is master and its priority: the peer director's view without logging into it.
keepalived turns off multicast loopback, so a director does not hear its own adverts;
sources that are addresses of this machine are marked ``local`` anyway.

Parsers are pure (bytes in, :class:`Advert` out).  :class:`AdvertListener` is a raw
socket read by a daemon thread (CAP_NET_RAW needed; without it the failure is kept as
data in :attr:`AdvertListener.error`), so a poll never blocks on the network.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Self

__all__ = [
    "IPPROTO_VRRP",
    "Advert",
    "AdvertError",
    "AdvertListener",
    "PeerRouter",
    "build_vrrp",
    "local_addresses",
    "parse_ipv4_packet",
    "parse_vrrp",
    "vrrp_checksum",
]

IPPROTO_VRRP = 112
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's value; Python 3.11 does not export it
VRRP_TYPE_ADVERT = 1


class AdvertError(ValueError):
    """A packet that is not a valid VRRP advertisement."""


@dataclass(frozen=True, slots=True)
class Advert:
    version: int  # 2 (RFC 3768) or 3 (RFC 5798)
    vrid: int
    priority: int  # 0: the master is resigning; 255: address owner
    advert_interval: float  # seconds (v2: whole seconds; v3: centiseconds)
    addresses: tuple[str, ...]
    source: str = ""
    ttl: int = 255
    auth_type: int = 0  # v2 only
    checksum_ok: bool = True


def _sum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def vrrp_checksum(vrrp: bytes, source: str = "", destination: str = "") -> int:
    """The one's complement checksum of a VRRP message whose checksum field is zero.

    Version 2 sums the VRRP message alone; version 3 adds the IP pseudo-header
    (source, destination, protocol 112, length), as RFC 5798 §5.2.8 says.
    """
    body = vrrp
    if vrrp and vrrp[0] >> 4 == 3:
        src = ipaddress.ip_address(source).packed
        dst = ipaddress.ip_address(destination).packed
        if len(src) == 4:
            pseudo = src + dst + struct.pack("!BBH", 0, IPPROTO_VRRP, len(vrrp))
        else:
            pseudo = src + dst + struct.pack("!I3xB", len(vrrp), IPPROTO_VRRP)
        body = pseudo + vrrp
    return (~_sum16(body)) & 0xFFFF


def parse_vrrp(
    data: bytes, source: str = "", destination: str = "224.0.0.18", ttl: int = 255, family: int = 4
) -> Advert:
    """Parse a VRRP message (the IP payload).  Raises AdvertError for anything else."""
    if len(data) < 8:
        raise AdvertError(f"VRRP message too short ({len(data)} bytes)")
    version, kind = data[0] >> 4, data[0] & 0x0F
    if version not in (2, 3):
        raise AdvertError(f"unknown VRRP version {version}")
    if kind != VRRP_TYPE_ADVERT:
        raise AdvertError(f"VRRP type {kind} is not an advertisement")
    vrid, priority, count = data[1], data[2], data[3]
    if vrid == 0:
        raise AdvertError("VRID 0 is not valid")
    size = 4 if family == 4 else 16
    auth_type = 0
    if version == 2:
        auth_type = data[4]
        interval = float(data[5])
        if len(data) < 8 + count * size:
            raise AdvertError(f"VRRPv2 message too short for {count} addresses")
    else:
        interval = (struct.unpack("!H", data[4:6])[0] & 0x0FFF) / 100.0
        if len(data) < 8 + count * size:
            raise AdvertError(f"VRRPv3 message too short for {count} addresses")
    addresses = tuple(
        str(ipaddress.ip_address(data[8 + i * size : 8 + (i + 1) * size])) for i in range(count)
    )
    zeroed = data[:6] + b"\0\0" + data[8:]  # the checksum covers the whole VRRP message
    try:
        expected = vrrp_checksum(zeroed, source, destination) if version == 2 or source else None
    except ValueError:
        expected = None
    got = struct.unpack("!H", data[6:8])[0]
    return Advert(
        version=version,
        vrid=vrid,
        priority=priority,
        advert_interval=interval,
        addresses=addresses,
        source=source,
        ttl=ttl,
        auth_type=auth_type,
        checksum_ok=expected is None or expected == got,
    )


def parse_ipv4_packet(packet: bytes) -> Advert:
    """Parse what an IPv4 raw socket returns: the IP header, then the VRRP message."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        raise AdvertError("not an IPv4 packet")
    ihl = (packet[0] & 0x0F) * 4
    total = struct.unpack("!H", packet[2:4])[0]
    if packet[9] != IPPROTO_VRRP:
        raise AdvertError(f"IP protocol {packet[9]} is not VRRP (112)")
    if ihl < 20 or len(packet) < ihl:
        raise AdvertError("truncated IPv4 header")
    end = total if ihl < total <= len(packet) else len(packet)
    src = str(ipaddress.IPv4Address(packet[12:16]))
    dst = str(ipaddress.IPv4Address(packet[16:20]))
    return parse_vrrp(packet[ihl:end], src, dst, ttl=packet[8], family=4)


def build_vrrp(
    version: int,
    vrid: int,
    priority: int,
    addresses: list[str],
    interval: float = 1.0,
    source: str = "",
    destination: str = "224.0.0.18",
    auth_type: int = 0,
) -> bytes:
    """A valid advertisement (for tests and for documentation of the layout)."""
    packed = b"".join(ipaddress.ip_address(a).packed for a in addresses)
    if version == 2:
        head = struct.pack("!BBBBBBH", 0x21, vrid, priority, len(addresses), auth_type, int(interval), 0)
        msg = head + packed + b"\0" * 8
    else:
        head = struct.pack("!BBBBHH", 0x31, vrid, priority, len(addresses), round(interval * 100) & 0x0FFF, 0)
        msg = head + packed
    csum = vrrp_checksum(msg, source, destination)
    return msg[:6] + struct.pack("!H", csum) + msg[8:]


def local_addresses() -> frozenset[str]:
    """The addresses of this network namespace's interfaces (psutil)."""
    try:
        import psutil  # lazy for start-up speed (and optional): only this needs it

        return frozenset(
            a.address.split("%")[0]
            for addrs in psutil.net_if_addrs().values()
            for a in addrs
            if a.family in (socket.AF_INET, socket.AF_INET6)
        )
    except Exception:  # noqa: BLE001 - best effort: nothing is marked local
        return frozenset()


@dataclass(frozen=True, slots=True)
class PeerRouter:
    """The last advert of one router for one VRID, and when it was seen."""

    vrid: int
    source: str
    priority: int
    version: int
    advert_interval: float
    addresses: tuple[str, ...]
    first_seen: float  # time.monotonic()
    last_seen: float
    count: int
    local: bool = False
    interface: str = ""

    def age(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.last_seen

    def current(self, now: float | None = None) -> bool:
        """Still master: an advert within three intervals (the master-down interval, roughly)."""
        return self.priority > 0 and self.age(now) <= 3 * max(self.advert_interval, 0.1) + 0.5


class AdvertListener:
    """A daemon thread that reads VRRP adverts from a raw socket and keeps the last per (VRID, source).

    ``start()`` never raises: an error (no CAP_NET_RAW...) is kept in :attr:`error`.
    """

    def __init__(self, ipv6: bool = True) -> None:
        self._lock = threading.Lock()
        self._peers: dict[tuple[int, str], PeerRouter] = {}
        self._history: list[tuple[float, Advert]] = []
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._local = local_addresses()
        self.error: str | None = None
        self.invalid = 0
        self._ipv6 = ipv6

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> AdvertListener:
        families = [socket.AF_INET] + ([socket.AF_INET6] if self._ipv6 and socket.has_ipv6 else [])
        for family in families:
            try:
                sock = socket.socket(family, socket.SOCK_RAW, IPPROTO_VRRP)
                sock.settimeout(0.2)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
                else:
                    sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            except (OSError, AttributeError) as exc:
                if family == socket.AF_INET:
                    errno = getattr(exc, "errno", None)
                    self.error = f"cannot listen to VRRP adverts: {getattr(exc, 'strerror', None) or exc}" + (
                        " (needs root or CAP_NET_RAW)" if errno in (1, 13) else ""
                    )
                    return self
                continue
            self._socks.append(sock)
            thread = threading.Thread(target=self._run, args=(sock, family), name="vrrp-adverts", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=1)
        for sock in self._socks:
            sock.close()
        self._socks.clear()

    @property
    def running(self) -> bool:
        return bool(self._socks) and not self._stop.is_set()

    def _run(self, sock: socket.socket, family: int) -> None:
        while not self._stop.is_set():
            try:
                data, anc, _flags, addr = sock.recvmsg(4096, 256)
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                time.sleep(0.2)
                continue
            ifindex = 0
            try:
                if family == socket.AF_INET:
                    for level, kind, value in anc:
                        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= 4:
                            ifindex = struct.unpack("i", value[:4])[0]
                    advert = parse_ipv4_packet(data)
                else:
                    dst, hops = "ff02::12", 255
                    for level, kind, value in anc:
                        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(value) >= 20:
                            dst = str(ipaddress.IPv6Address(value[:16]))
                            ifindex = struct.unpack("I", value[16:20])[0]
                        elif (
                            level == socket.IPPROTO_IPV6 and kind == socket.IPV6_HOPLIMIT and len(value) >= 4
                        ):
                            hops = struct.unpack("i", value[:4])[0]
                    advert = parse_vrrp(data, addr[0].split("%")[0], dst, ttl=hops, family=6)
            except AdvertError:
                self.invalid += 1
                continue
            try:
                ifname = socket.if_indextoname(ifindex) if ifindex else ""
            except OSError:
                ifname = ""
            self.record(advert, ifname)

    def record(self, advert: Advert, interface: str = "", now: float | None = None) -> None:
        """Account for one advert (the listener thread calls this; tests may too)."""
        now = time.monotonic() if now is None else now
        key = (advert.vrid, advert.source)
        with self._lock:
            old = self._peers.get(key)
            self._peers[key] = PeerRouter(
                vrid=advert.vrid,
                source=advert.source,
                priority=advert.priority,
                version=advert.version,
                advert_interval=advert.advert_interval,
                addresses=advert.addresses,
                first_seen=old.first_seen if old else now,
                last_seen=now,
                count=(old.count if old else 0) + 1,
                local=advert.source in self._local,
                interface=interface or (old.interface if old else ""),
            )
            self._history.append((now, advert))
            if len(self._history) > 1000:
                del self._history[:500]

    def peers(self) -> tuple[PeerRouter, ...]:
        """Every router seen, by VRID then source."""
        with self._lock:
            return tuple(sorted(self._peers.values(), key=lambda p: (p.vrid, p.source)))

    def since(self, moment: float) -> list[Advert]:
        """Adverts received after ``moment`` (time.monotonic())."""
        with self._lock:
            return [a for t, a in self._history if t > moment]

    def masters(self, now: float | None = None) -> dict[int, PeerRouter]:
        """Per VRID, the router currently advertising (the highest priority if several: a split brain)."""
        out: dict[int, PeerRouter] = {}
        for peer in self.peers():
            if peer.current(now) and (peer.vrid not in out or peer.priority > out[peer.vrid].priority):
                out[peer.vrid] = peer
        return out
