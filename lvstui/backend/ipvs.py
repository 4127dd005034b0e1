"""Read the kernel's IPVS table into a :class:`~lvstui.model.Snapshot`, and change it.

Attribute numbers follow the kernel's ``include/uapi/linux/ip_vs.h`` (the same
table pyroute2's ``pyroute2.netlink.generic.ipvs`` encodes).  Decoding reads
only the attributes lvstui uses, straight from the receive buffer; the 64-bit
``*_STATS64`` nest is preferred, and the padding attribute the kernel puts
between 64-bit values (``IPVS_STATS_ATTR_PAD``) is skipped by number rather
than mistaken for a counter.
"""

from __future__ import annotations

import errno
import socket
import struct
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Self, TypedDict

from lvstui.backend import BackendError
from lvstui.backend.layout import LayoutDecoder, be16_fix
from lvstui.backend.netlink import (
    NLM_F_CREATE,
    NLM_F_EXCL,
    GenlSocket,
    NetlinkError,
    attr_table,
    iter_attrs,
    nla,
    nla_be16,
    nla_nested,
    nla_str,
    nla_u8,
    nla_u16,
    nla_u32,
)
from lvstui.capabilities import Capabilities
from lvstui.model import (
    Forward,
    Rates,
    RealServer,
    Snapshot,
    Stats,
    SyncDaemon,
    Timeouts,
    VirtualService,
)

Buf = bytes | bytearray | memoryview

GENL_NAME = "IPVS"
GENL_VERSION = 1

# commands
CMD_NEW_SERVICE, CMD_SET_SERVICE, CMD_DEL_SERVICE, CMD_GET_SERVICE = 1, 2, 3, 4
CMD_NEW_DEST, CMD_SET_DEST, CMD_DEL_DEST, CMD_GET_DEST = 5, 6, 7, 8
CMD_NEW_DAEMON, CMD_DEL_DAEMON, CMD_GET_DAEMON = 9, 10, 11
CMD_SET_CONFIG, CMD_GET_CONFIG = 12, 13
CMD_GET_INFO = 15
CMD_ZERO = 16

# IPVS_CMD_ATTR_*
CMD_ATTR_SERVICE, CMD_ATTR_DEST, CMD_ATTR_DAEMON = 1, 2, 3
CMD_ATTR_TIMEOUT_TCP, CMD_ATTR_TIMEOUT_TCP_FIN, CMD_ATTR_TIMEOUT_UDP = 4, 5, 6

# IPVS_SVC_ATTR_*
SVC_AF, SVC_PROTOCOL, SVC_ADDR, SVC_PORT, SVC_FWMARK = 1, 2, 3, 4, 5
SVC_SCHED_NAME, SVC_FLAGS, SVC_TIMEOUT, SVC_NETMASK = 6, 7, 8, 9
SVC_STATS, SVC_PE_NAME, SVC_STATS64 = 10, 11, 12

# IPVS_DEST_ATTR_*
DEST_ADDR, DEST_PORT, DEST_FWD_METHOD, DEST_WEIGHT = 1, 2, 3, 4
DEST_U_THRESH, DEST_L_THRESH = 5, 6
DEST_ACTIVE_CONNS, DEST_INACT_CONNS, DEST_PERSIST_CONNS = 7, 8, 9
DEST_STATS, DEST_ADDR_FAMILY, DEST_STATS64 = 10, 11, 12
DEST_TUN_TYPE, DEST_TUN_PORT, DEST_TUN_FLAGS = 13, 14, 15

# IPVS_DAEMON_ATTR_*
DAEMON_STATE, DAEMON_MCAST_IFN, DAEMON_SYNC_ID, DAEMON_SYNC_MAXLEN = 1, 2, 3, 4
DAEMON_MCAST_GROUP, DAEMON_MCAST_GROUP6, DAEMON_MCAST_PORT, DAEMON_MCAST_TTL = 5, 6, 7, 8

# IPVS_INFO_ATTR_*
INFO_VERSION, INFO_CONN_TAB_SIZE = 1, 2

# service flags (IP_VS_SVC_F_*)
F_PERSISTENT = 0x0001
F_HASHED = 0x0002
F_ONEPACKET = 0x0004
F_SCHED1 = 0x0008
F_SCHED2 = 0x0010
F_SCHED3 = 0x0020

PROTOCOLS = {socket.IPPROTO_TCP: "tcp", socket.IPPROTO_UDP: "udp", 132: "sctp"}
PROTOCOL_NUMBERS = {v: k for k, v in PROTOCOLS.items()}
FAMILIES: dict[int, str] = {socket.AF_INET: "inet", socket.AF_INET6: "inet6"}
FAMILY_NUMBERS = {v: k for k, v in FAMILIES.items()}
TUN_TYPES = {0: "ipip", 1: "gue", 2: "gre"}
TUN_TYPE_NUMBERS = {v: k for k, v in TUN_TYPES.items()}
TUN_FLAG_CSUM = 0x1
TUN_FLAG_REMCSUM = 0x2

_U16 = struct.Struct("=H").unpack_from
_NLA_HEADER = struct.Struct("=HH").unpack_from
_BE16 = struct.Struct("!H").unpack_from
_U32 = struct.Struct("=I").unpack_from
_U64 = struct.Struct("=Q").unpack_from
_FLAGS = struct.Struct("=II").unpack_from

# stats attribute number -> index in (conns, inpkts, outpkts, inbytes, outbytes, cps, inpps, outpps, inbps, outbps)
_STATS_SLOTS = 10


def sched_flag_names(flags: int, scheduler: str) -> list[str]:
    """Name the scheduler flags the way ipvsadm does (``sh-fallback``, ``mh-port``, ``flag-3``)."""
    names = []
    if flags & F_SCHED1:
        names.append({"sh": "sh-fallback", "mh": "mh-fallback"}.get(scheduler, "flag-1"))
    if flags & F_SCHED2:
        names.append({"sh": "sh-port", "mh": "mh-port"}.get(scheduler, "flag-2"))
    if flags & F_SCHED3:
        names.append("flag-3")
    return names


def service_flag_names(flags: int, scheduler: str) -> tuple[str, ...]:
    names = []
    if flags & F_PERSISTENT:
        names.append("persistent")
    if flags & F_ONEPACKET:
        names.append("ops")
    names.extend(sched_flag_names(flags, scheduler))
    return tuple(names)


_STATS64_PACKED = struct.Struct("=" + "HHQ" * _STATS_SLOTS)
_STATS64_HEADERS = tuple(v for i in range(1, _STATS_SLOTS + 1) for v in (12, i))


def _decode_stats(buf: Buf, start: int, end: int) -> list[int] | tuple[int, ...]:
    if end - start == _STATS64_PACKED.size:
        # the kernel's usual stats64 nest: ten u64 attributes in order, no padding attributes
        packed = _STATS64_PACKED.unpack_from(buf, start)
        if tuple(v for i in range(0, 3 * _STATS_SLOTS, 3) for v in packed[i:i + 2]) == _STATS64_HEADERS:
            return packed[2::3]
    values = [0] * _STATS_SLOTS
    for attr_type, off, length in iter_attrs(buf, start, end):
        if 1 <= attr_type <= _STATS_SLOTS:  # 11 is IPVS_STATS_ATTR_PAD: skip it
            if length >= 8:
                values[attr_type - 1] = _U64(buf, off)[0]
            elif length >= 4:
                values[attr_type - 1] = _U32(buf, off)[0]
    return values


def _stats_from(buf: Buf, table: dict[int, tuple[int, int]], stats64: int, stats32: int) -> tuple[Stats, Rates]:
    if stats64 in table:
        off, length = table[stats64]
        values = _decode_stats(buf, off, off + length)
    elif stats32 in table:
        off, length = table[stats32]
        values = _decode_stats(buf, off, off + length)
    else:
        values = [0] * _STATS_SLOTS
    return Stats(*values[:5]), Rates(*values[5:])


def _addr(buf: Buf, off: int, length: int, family: int) -> str:
    if family == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, bytes(buf[off:off + 16]))
    return socket.inet_ntop(socket.AF_INET, bytes(buf[off:off + 4]))


def _string(buf: Buf, off: int, length: int) -> str:
    raw = bytes(buf[off:off + length])
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


class _ServiceKey:
    """What the kernel needs to find a service again (for dest dumps and changes)."""

    __slots__ = ("addr", "af", "fwmark", "port", "protocol")

    def __init__(self, af: int, protocol: int, addr: bytes, port: int, fwmark: int) -> None:
        self.af, self.protocol, self.addr, self.port, self.fwmark = af, protocol, addr, port, fwmark

    def encode(self) -> bytes:
        parts = [nla_u16(SVC_AF, self.af)]
        if self.fwmark:
            parts.append(nla_u32(SVC_FWMARK, self.fwmark))
        else:
            parts += [nla_u16(SVC_PROTOCOL, self.protocol), nla(SVC_ADDR, self.addr), nla_be16(SVC_PORT, self.port)]
        return b"".join(parts)


class _ServiceFields(TypedDict):
    """A virtual service's fields as the kernel sends them (all but its real servers)."""

    protocol: str | None
    family: str
    address: str | None
    port: int | None
    fwmark: int | None
    scheduler: str
    flags: tuple[str, ...]
    persistence_timeout: int
    netmask: str
    persistence_engine: str | None
    stats: Stats
    rates: Rates


def _decode_service(buf: Buf, start: int, end: int) -> tuple[_ServiceKey, _ServiceFields]:
    t = attr_table(buf, start, end)
    af = _U16(buf, t[SVC_AF][0])[0]
    fwmark = _U32(buf, t[SVC_FWMARK][0])[0] if SVC_FWMARK in t else 0
    protocol = _U16(buf, t[SVC_PROTOCOL][0])[0] if SVC_PROTOCOL in t else 0
    port = _BE16(buf, t[SVC_PORT][0])[0] if SVC_PORT in t else 0
    raw_addr = b""
    address: str | None = None
    if SVC_ADDR in t and not fwmark:
        off, length = t[SVC_ADDR]
        raw_addr = bytes(buf[off:off + length])
        address = _addr(buf, off, length, af)
    scheduler = _string(buf, *t[SVC_SCHED_NAME]) if SVC_SCHED_NAME in t else ""
    flags = _FLAGS(buf, t[SVC_FLAGS][0])[0] if SVC_FLAGS in t else 0
    timeout = _U32(buf, t[SVC_TIMEOUT][0])[0] if SVC_TIMEOUT in t else 0
    if SVC_NETMASK in t:
        off, _ = t[SVC_NETMASK]
        if af == socket.AF_INET6:
            netmask = str(_U32(buf, off)[0])
        else:
            netmask = socket.inet_ntop(socket.AF_INET, bytes(buf[off:off + 4]))
    else:
        netmask = "128" if af == socket.AF_INET6 else "255.255.255.255"
    pe_name = _string(buf, *t[SVC_PE_NAME]) if SVC_PE_NAME in t else None
    stats, rates = _stats_from(buf, t, SVC_STATS64, SVC_STATS)
    key = _ServiceKey(af, protocol, raw_addr, port, fwmark)
    fields: _ServiceFields = {
        "protocol": None if fwmark else PROTOCOLS.get(protocol, str(protocol)),
        "family": FAMILIES.get(af, str(af)),
        "address": address,
        "port": None if fwmark else port,
        "fwmark": fwmark or None,
        "scheduler": scheduler,
        "flags": service_flag_names(flags, scheduler),
        "persistence_timeout": timeout if flags & F_PERSISTENT else 0,
        "netmask": netmask,
        "persistence_engine": pe_name or None,
        "stats": stats,
        "rates": rates,
    }
    return key, fields


_DEST_SCHEMA = {
    DEST_ADDR: "addr", DEST_PORT: "be16", DEST_FWD_METHOD: "u32", DEST_WEIGHT: "i32", DEST_U_THRESH: "u32",
    DEST_L_THRESH: "u32", DEST_ACTIVE_CONNS: "u32", DEST_INACT_CONNS: "u32", DEST_PERSIST_CONNS: "u32",
    DEST_ADDR_FAMILY: "u16", DEST_STATS64: "stats64", DEST_TUN_TYPE: "u8", DEST_TUN_PORT: "be16",
    DEST_TUN_FLAGS: "u16",
}
_DEST_NESTS = frozenset({DEST_STATS, DEST_STATS64})
_DEST_REQUIRED = (DEST_ADDR, DEST_PORT, DEST_FWD_METHOD, DEST_WEIGHT, DEST_U_THRESH, DEST_L_THRESH,
                  DEST_ACTIVE_CONNS, DEST_INACT_CONNS, DEST_PERSIST_CONNS)
_FWD_BY_VALUE = {f.kernel_value: f for f in Forward}


def new_dest_decoder() -> LayoutDecoder:
    return LayoutDecoder(_DEST_SCHEMA, _DEST_NESTS)


def _decode_dest(buf: Buf, start: int, end: int, service_af: int,
                 decoder: LayoutDecoder | None = None) -> RealServer:
    """Fast path: the whole message in one struct call (see layout.py); else attribute by attribute."""
    hit = decoder.decode(buf, start, end) if decoder is not None else None
    if hit is not None:
        layout, v = hit
        f = layout.fields
        if layout.stats is not None and all(a in f for a in _DEST_REQUIRED):
            forward = _FWD_BY_VALUE.get(v[f[DEST_FWD_METHOD][1]] & 7)
            if forward is not None and forward is not Forward.TUN:
                af = v[f[DEST_ADDR_FAMILY][1]] if DEST_ADDR_FAMILY in f else service_af
                raw = v[f[DEST_ADDR][1]]
                address = (socket.inet_ntop(socket.AF_INET6, raw[:16]) if af == socket.AF_INET6
                           else socket.inet_ntop(socket.AF_INET, raw[:4]))
                st = layout.stats
                return RealServer(
                    address=address,
                    port=be16_fix(v[f[DEST_PORT][1]]),
                    family=FAMILIES.get(af, str(af)),
                    forward=forward,
                    weight=v[f[DEST_WEIGHT][1]],
                    upper_threshold=v[f[DEST_U_THRESH][1]],
                    lower_threshold=v[f[DEST_L_THRESH][1]],
                    active_conns=v[f[DEST_ACTIVE_CONNS][1]],
                    inactive_conns=v[f[DEST_INACT_CONNS][1]],
                    persistent_conns=v[f[DEST_PERSIST_CONNS][1]],
                    stats=Stats(v[st[0]], v[st[1]], v[st[2]], v[st[3]], v[st[4]]),
                    rates=Rates(v[st[5]], v[st[6]], v[st[7]], v[st[8]], v[st[9]]),
                )
    return _decode_dest_slow(buf, start, end, service_af)


def _decode_dest_slow(buf: Buf, start: int, end: int, service_af: int) -> RealServer:
    t = attr_table(buf, start, end)
    af = _U16(buf, t[DEST_ADDR_FAMILY][0])[0] if DEST_ADDR_FAMILY in t else service_af
    address = _addr(buf, *t[DEST_ADDR], af)
    u32 = _U32
    fwd = u32(buf, t[DEST_FWD_METHOD][0])[0]
    forward = Forward.from_kernel(fwd)
    stats, rates = _stats_from(buf, t, DEST_STATS64, DEST_STATS)
    tun_type: str | None = None
    tun_port = 0
    tun_flags: tuple[str, ...] = ()
    if forward is Forward.TUN:
        tun_type = TUN_TYPES.get(buf[t[DEST_TUN_TYPE][0]], "ipip") if DEST_TUN_TYPE in t else "ipip"
        if tun_type != "ipip":
            tun_port = _BE16(buf, t[DEST_TUN_PORT][0])[0] if DEST_TUN_PORT in t else 0
            raw_flags = _U16(buf, t[DEST_TUN_FLAGS][0])[0] if DEST_TUN_FLAGS in t else 0
            if raw_flags & TUN_FLAG_REMCSUM:
                tun_flags = ("remcsum",)
            elif raw_flags & TUN_FLAG_CSUM:
                tun_flags = ("csum",)
            else:
                tun_flags = ("nocsum",)
    return RealServer(
        address=address,
        port=_BE16(buf, t[DEST_PORT][0])[0],
        family=FAMILIES.get(af, str(af)),
        forward=forward,
        weight=struct.unpack_from("=i", buf, t[DEST_WEIGHT][0])[0],
        upper_threshold=u32(buf, t[DEST_U_THRESH][0])[0],
        lower_threshold=u32(buf, t[DEST_L_THRESH][0])[0],
        active_conns=u32(buf, t[DEST_ACTIVE_CONNS][0])[0],
        inactive_conns=u32(buf, t[DEST_INACT_CONNS][0])[0],
        persistent_conns=u32(buf, t[DEST_PERSIST_CONNS][0])[0],
        stats=stats,
        rates=rates,
        tun_type=tun_type,
        tun_port=tun_port,
        tun_flags=tun_flags,
    )


def _nested_of(buf: Buf, start: int, end: int, attr: int) -> tuple[int, int] | None:
    for attr_type, off, length in iter_attrs(buf, start, end):
        if attr_type == attr:
            return off, off + length
    return None


def _dest_order(rs: RealServer) -> tuple[int, bytes, int]:
    family = socket.AF_INET6 if rs.family == "inet6" else socket.AF_INET
    return family, socket.inet_pton(family, rs.address), rs.port


def _service_order(vs: VirtualService) -> tuple[int, int, int, bytes, int]:
    """ipvsadm's listing order: address services by family, protocol, address, port; then fwmarks."""
    if vs.fwmark:
        return 1, vs.fwmark, 0 if vs.family == "inet" else 1, b"", 0
    family = socket.AF_INET6 if vs.family == "inet6" else socket.AF_INET
    assert vs.address is not None and vs.protocol is not None
    return 0, family, PROTOCOL_NUMBERS.get(vs.protocol, 0), socket.inet_pton(family, vs.address), vs.port or 0


def explain(exc: BaseException) -> str:
    """Turn a socket/netlink failure into the one line an operator needs."""
    code = getattr(exc, "errno", None)
    if code in (errno.EPERM, errno.EACCES):
        return ("reading IPVS needs root (CAP_NET_ADMIN): run lvstui as root or with sudo")
    if code == errno.ENOENT:
        return ("IPVS is not available in this kernel: load it with `modprobe ip_vs` "
                "(and a scheduler, e.g. `modprobe ip_vs_wlc`); try `lvstui --demo` or `lvstui lab` to look around")
    if code == errno.EPROTONOSUPPORT or code == errno.EAFNOSUPPORT:
        return "this kernel has no generic netlink: IPVS cannot be read here"
    return f"netlink error talking to IPVS: {exc}"


class IpvsClient:
    """One generic-netlink socket to IPVS: reads snapshots and applies changes.

    Not thread-safe: one poller thread owns one client.
    """

    name = "kernel"
    capabilities = Capabilities(conn_table=True)  # the kernel alone: no keepalived view; writes use a client of their own

    def __init__(self, director: str | None = None) -> None:
        try:
            self._sock = GenlSocket(GENL_NAME)
        except OSError as exc:
            raise BackendError(explain(exc)) from exc
        self.director = director or socket.gethostname()
        self._dest_decoder = new_dest_decoder()
        self._service_cache: dict[bytes, tuple[_ServiceKey, _ServiceFields, VirtualService]] = {}
        self._dest_cache: dict[bytes, tuple[int, RealServer]] = {}

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------

    def read(self) -> Snapshot:
        """One full, consistent-as-the-kernel-allows read of the IPVS table."""
        try:
            return self._read()
        except OSError as exc:
            raise BackendError(explain(exc)) from exc

    def _read(self) -> Snapshot:
        """Dump the services, then each service's real servers (the kernel has no dump of all of them).

        Objects are reused between polls where the kernel's bytes did not change (an idle real server,
        an idle service): decoding is skipped, and the screens can tell "unchanged" by identity.
        """
        sock = self._sock
        old_services, new_services = self._service_cache, {}
        old_dests: dict[bytes, tuple[int, RealServer]] = self._dest_cache
        new_dests: dict[bytes, tuple[int, RealServer]] = {}
        raw_services: list[bytes] = []
        for buf, off, end in sock.dump(CMD_GET_SERVICE, GENL_VERSION):
            span = _nested_of(buf, off, end, CMD_ATTR_SERVICE)
            if span is not None:
                raw_services.append(bytes(buf[span[0]:span[1]]))
        result = []
        for raw_service in raw_services:
            cached = old_services.get(raw_service)
            if cached is not None:
                key, fields, previous = cached
            else:
                key, fields = _decode_service(raw_service, 0, len(raw_service))
                previous = None
            try:
                dests = self._dump_dests(key, old_dests, new_dests)
            except NetlinkError as exc:
                if exc.errno == errno.ESRCH:  # the service went away between the two dumps
                    continue
                raise
            if previous is not None and len(previous.real_servers) == len(dests) and all(
                    a is b for a, b in zip(previous.real_servers, dests)):
                vs = previous
            else:
                vs = VirtualService(real_servers=tuple(dests), **fields)
            new_services[raw_service] = (key, fields, vs)
            result.append(vs)
        result.sort(key=_service_order)
        self._service_cache, self._dest_cache = new_services, new_dests
        version, tab_size = self._info()
        return Snapshot(
            director=self.director,
            taken_at=datetime.now(UTC),
            monotonic=time.monotonic(),
            virtual_services=tuple(result),
            sync_daemons=self._daemons(),
            timeouts=self._timeouts(),
            ipvs_version=version,
            conn_table_size=tab_size,
            source="kernel",
        )

    def read_services(self, keys: Iterable[Any]) -> Snapshot:
        """A partial snapshot holding only the given services (absent ones are left out).

        ``keys`` have ``protocol``, ``family``, ``address``, ``port`` and ``fwmark`` (a model
        VirtualService or an operations ServiceKey). One GET_SERVICE and one real-server dump per
        service: what an operation needs to plan and to read its result back, in milliseconds
        instead of a full table read.
        """
        try:
            services = []
            for k in keys:
                vs = self._read_one(k)
                if vs is not None:
                    services.append(vs)
        except OSError as exc:
            raise BackendError(explain(exc)) from exc
        return Snapshot(director=self.director, taken_at=datetime.now(UTC), monotonic=time.monotonic(),
                        virtual_services=tuple(services), source="kernel", extra={"partial": True})

    def _read_one(self, k: Any) -> VirtualService | None:
        af = FAMILY_NUMBERS[k.family]
        if k.fwmark:
            key = _ServiceKey(af, 0, b"", 0, k.fwmark)
        else:
            key = _ServiceKey(af, PROTOCOL_NUMBERS[k.protocol], _pack_addr(k.address, k.family), k.port, 0)
        request = nla_nested(CMD_ATTR_SERVICE, key.encode())
        fields = None
        try:
            for buf, off, end in self._sock.request(CMD_GET_SERVICE, GENL_VERSION, request):
                span = _nested_of(buf, off, end, CMD_ATTR_SERVICE)
                if span is not None:
                    key, fields = _decode_service(buf, *span)
        except NetlinkError as exc:
            if exc.errno in (errno.ESRCH, errno.ENOENT):
                return None
            raise
        if fields is None:
            return None
        dests = self._dump_dests(key, self._dest_cache, {})
        return VirtualService(real_servers=tuple(dests), **fields)

    def _dump_dests(self, key: _ServiceKey, old: dict[bytes, tuple[int, RealServer]],
                    new: dict[bytes, tuple[int, RealServer]]) -> list[RealServer]:
        """One service's real servers in ipvsadm's order; objects from ``old`` reused where the
        kernel's bytes are the same, and every one recorded in ``new`` for the next poll."""
        dests = []
        request = nla_nested(CMD_ATTR_SERVICE, key.encode())
        for buf, off, _end in self._sock.dump(CMD_GET_DEST, GENL_VERSION, request):
            length, attr_type = _NLA_HEADER(buf, off)
            if attr_type & 0x3FFF != CMD_ATTR_DEST:
                continue
            raw = bytes(buf[off + 4:off + length])
            hit = old.get(raw)
            if hit is None or hit[0] != key.af:
                hit = (key.af, _decode_dest(raw, 0, len(raw), key.af, self._dest_decoder))
            new[raw] = hit
            dests.append(hit[1])
        dests.sort(key=_dest_order)
        return dests

    def _info(self) -> tuple[str, int]:
        for buf, off, end in self._sock.request(CMD_GET_INFO, GENL_VERSION):
            t = attr_table(buf, off, end)
            v = _U32(buf, t[INFO_VERSION][0])[0] if INFO_VERSION in t else 0
            size = _U32(buf, t[INFO_CONN_TAB_SIZE][0])[0] if INFO_CONN_TAB_SIZE in t else 0
            return f"{(v >> 16) & 0xFF}.{(v >> 8) & 0xFF}.{v & 0xFF}", size
        return "", 0

    def _timeouts(self) -> Timeouts | None:
        for buf, off, end in self._sock.request(CMD_GET_CONFIG, GENL_VERSION):
            t = attr_table(buf, off, end)
            tcp, tcp_fin, udp = (_U32(buf, t[attr][0])[0] if attr in t else 0
                                 for attr in (CMD_ATTR_TIMEOUT_TCP, CMD_ATTR_TIMEOUT_TCP_FIN,
                                              CMD_ATTR_TIMEOUT_UDP))
            return Timeouts(tcp=tcp, tcp_fin=tcp_fin, udp=udp)
        return None

    def _daemons(self) -> tuple[SyncDaemon, ...]:
        daemons = []
        for buf, off, end in self._sock.dump(CMD_GET_DAEMON, GENL_VERSION):
            span = _nested_of(buf, off, end, CMD_ATTR_DAEMON)
            if span is None:
                continue
            t = attr_table(buf, *span)
            state = _U32(buf, t[DAEMON_STATE][0])[0] if DAEMON_STATE in t else 0
            group = None
            if DAEMON_MCAST_GROUP6 in t:
                group = _addr(buf, t[DAEMON_MCAST_GROUP6][0], 16, socket.AF_INET6)
            elif DAEMON_MCAST_GROUP in t:
                group = _addr(buf, t[DAEMON_MCAST_GROUP][0], 4, socket.AF_INET)
            daemons.append(SyncDaemon(
                state={1: "master", 2: "backup"}.get(state, str(state)),
                mcast_ifn=_string(buf, *t[DAEMON_MCAST_IFN]) if DAEMON_MCAST_IFN in t else "",
                syncid=_U32(buf, t[DAEMON_SYNC_ID][0])[0] if DAEMON_SYNC_ID in t else 0,
                sync_maxlen=_U16(buf, t[DAEMON_SYNC_MAXLEN][0])[0] if DAEMON_SYNC_MAXLEN in t else 0,
                mcast_group=group,
                mcast_port=_U16(buf, t[DAEMON_MCAST_PORT][0])[0] if DAEMON_MCAST_PORT in t else 0,
                mcast_ttl=buf[t[DAEMON_MCAST_TTL][0]] if DAEMON_MCAST_TTL in t else 0,
            ))
        return tuple(daemons)

    # -- changing ----------------------------------------------------------------

    def add_service(self, vs: VirtualService) -> None:
        self._sock.execute(CMD_NEW_SERVICE, GENL_VERSION, encode_service(vs, full=True), NLM_F_CREATE | NLM_F_EXCL)

    def edit_service(self, vs: VirtualService) -> None:
        self._sock.execute(CMD_SET_SERVICE, GENL_VERSION, encode_service(vs, full=True))

    def delete_service(self, vs: VirtualService) -> None:
        self._sock.execute(CMD_DEL_SERVICE, GENL_VERSION, encode_service(vs, full=False))

    def add_dest(self, vs: VirtualService, rs: RealServer) -> None:
        self._sock.execute(CMD_NEW_DEST, GENL_VERSION, encode_service(vs, full=False) + encode_dest(rs, full=True),
                           NLM_F_CREATE | NLM_F_EXCL)

    def edit_dest(self, vs: VirtualService, rs: RealServer) -> None:
        self._sock.execute(CMD_SET_DEST, GENL_VERSION, encode_service(vs, full=False) + encode_dest(rs, full=True))

    def read_timeouts(self) -> Timeouts | None:
        """``ipvsadm -L --timeout``'s three values (one GET_CONFIG), None if the kernel sends none."""
        try:
            return self._timeouts()
        except OSError as exc:
            raise BackendError(explain(exc)) from exc

    def set_timeouts(self, t: Timeouts) -> None:
        """``ipvsadm --set TCP TCPFIN UDP`` (the kernel leaves a value of 0 as it is)."""
        self._sock.execute(CMD_SET_CONFIG, GENL_VERSION, nla_u32(CMD_ATTR_TIMEOUT_TCP, t.tcp)
                           + nla_u32(CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin) + nla_u32(CMD_ATTR_TIMEOUT_UDP, t.udp))

    def read_daemons(self) -> tuple[SyncDaemon, ...]:
        """``ipvsadm -L --daemon``: the connection-sync daemons running in this network namespace."""
        try:
            return self._daemons()
        except OSError as exc:
            raise BackendError(explain(exc)) from exc

    def start_daemon(self, d: SyncDaemon) -> None:
        """``ipvsadm --start-daemon STATE --mcast-interface IFN --syncid N`` (the kernel's defaults
        for the rest: maximum length, group, port and TTL)."""
        state = {"master": 1, "backup": 2}[d.state]
        self._sock.execute(CMD_NEW_DAEMON, GENL_VERSION, nla_nested(
            CMD_ATTR_DAEMON, nla_u32(DAEMON_STATE, state), nla_str(DAEMON_MCAST_IFN, d.mcast_ifn),
            nla_u32(DAEMON_SYNC_ID, d.syncid)))

    def stop_daemon(self, state: str) -> None:
        """``ipvsadm --stop-daemon STATE``."""
        self._sock.execute(CMD_DEL_DAEMON, GENL_VERSION, nla_nested(
            CMD_ATTR_DAEMON, nla_u32(DAEMON_STATE, {"master": 1, "backup": 2}[state])))

    def zero(self, vs: VirtualService | None) -> None:
        """``ipvsadm -Z [-t|-u|-f SERVICE]``: zero one service's counters and its real servers', or all."""
        self._sock.execute(CMD_ZERO, GENL_VERSION, encode_service(vs, full=False) if vs is not None else b"")

    def delete_dest(self, vs: VirtualService, rs: RealServer) -> None:
        self._sock.execute(CMD_DEL_DEST, GENL_VERSION, encode_service(vs, full=False) + encode_dest(rs, full=False))


KernelSource = IpvsClient


def _pack_addr(address: str, family: str) -> bytes:
    if family == "inet6":
        return socket.inet_pton(socket.AF_INET6, address)
    return socket.inet_pton(socket.AF_INET, address) + b"\0" * 12


def encode_service(vs: VirtualService, full: bool) -> bytes:
    """IPVS_CMD_ATTR_SERVICE for a change: the key alone, or the key with every setting."""
    af = FAMILY_NUMBERS[vs.family]
    parts = [nla_u16(SVC_AF, af)]
    if vs.fwmark:
        parts.append(nla_u32(SVC_FWMARK, vs.fwmark))
    else:
        assert vs.protocol is not None and vs.address is not None and vs.port is not None
        parts += [nla_u16(SVC_PROTOCOL, PROTOCOL_NUMBERS[vs.protocol]),
                  nla(SVC_ADDR, _pack_addr(vs.address, vs.family)),
                  nla_be16(SVC_PORT, vs.port)]
    if full:
        flags = 0
        names = set(vs.flags)
        if vs.persistence_timeout or "persistent" in names:
            flags |= F_PERSISTENT
        if "ops" in names:
            flags |= F_ONEPACKET
        if names & {"sh-fallback", "mh-fallback", "flag-1"}:
            flags |= F_SCHED1
        if names & {"sh-port", "mh-port", "flag-2"}:
            flags |= F_SCHED2
        if "flag-3" in names:
            flags |= F_SCHED3
        if vs.family == "inet6":
            netmask = struct.pack("=I", int(vs.netmask or "128"))
        else:
            netmask = socket.inet_pton(socket.AF_INET, vs.netmask or "255.255.255.255")
        parts += [nla_str(SVC_SCHED_NAME, vs.scheduler),
                  nla(SVC_FLAGS, struct.pack("=II", flags, 0xFFFFFFFF)),
                  nla_u32(SVC_TIMEOUT, vs.persistence_timeout if flags & F_PERSISTENT else 0),
                  nla(SVC_NETMASK, netmask)]
        if vs.persistence_engine:
            parts.append(nla_str(SVC_PE_NAME, vs.persistence_engine))
    return nla_nested(CMD_ATTR_SERVICE, *parts)


def encode_dest(rs: RealServer, full: bool) -> bytes:
    parts = [nla(DEST_ADDR, _pack_addr(rs.address, rs.family)),
             nla_be16(DEST_PORT, rs.port),
             nla_u16(DEST_ADDR_FAMILY, FAMILY_NUMBERS[rs.family])]
    if full:
        parts += [nla_u32(DEST_FWD_METHOD, rs.forward.kernel_value),
                  nla_u32(DEST_WEIGHT, rs.weight),
                  nla_u32(DEST_U_THRESH, rs.upper_threshold),
                  nla_u32(DEST_L_THRESH, rs.lower_threshold)]
        if rs.forward is Forward.TUN:
            tun_type = TUN_TYPE_NUMBERS.get(rs.tun_type or "ipip", 0)
            parts.append(nla_u8(DEST_TUN_TYPE, tun_type))
            if tun_type:
                parts.append(nla_be16(DEST_TUN_PORT, rs.tun_port))
                flag_bits = 0
                if "csum" in rs.tun_flags:
                    flag_bits = TUN_FLAG_CSUM
                elif "remcsum" in rs.tun_flags:
                    flag_bits = TUN_FLAG_REMCSUM
                parts.append(nla_u16(DEST_TUN_FLAGS, flag_bits))
    return nla_nested(CMD_ATTR_DEST, *parts)
