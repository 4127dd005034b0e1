"""IPVS connection entries, read from ``/proc/net/ip_vs_conn`` as a stream.

The kernel shows its connection table nowhere else (the generic-netlink family has no
connection dump), and ``ipvsadm -Lnc`` only reformats this file.  A busy director holds
millions of entries, so everything here is a generator or a fold over lines: the list is
never held.  The file is per network namespace: the netns this process runs in.

Line format (kernel ``ip_vs_conn_seq_show``)::

    Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
    TCP C0A8010E 9C40 C0A80164 0050 C0A8010D 0050 ESTABLISHED     898

IPv4 addresses are 8 hex digits (the address read as one number), IPv6 addresses the
kernel's full colon form (``%pI6``), ports 4 hex digits; ``ip_vs_conn_sync`` has one more
column (``Origin``: LOCAL or SYNC) before ``Expires``.

Persistence templates: the kernel marks them with a flag (IP_VS_CONN_F_TEMPLATE) that the
file does not show, and ipvsadm prints them like any entry.  The kernel creates every
template with client port 0 (the client's address masked by the service's netmask), and
fwmark templates with protocol ``IP`` and the mark as virtual address.  That is the rule
used here (the state name is not: 6.1 and 7.2 kernels show ``ASSURED`` for TCP templates,
``NONE`` for UDP and fwmark ones).  Its one blind spot: a crafted packet with source port 0
(invalid for TCP, UDP and SCTP) would make an entry shown as a template.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from lvstui.model import VirtualService, format_endpoint

__all__ = [
    "CONN_FILE",
    "SYNC_FILE",
    "Conn",
    "ConnError",
    "ServiceIndex",
    "parse_line",
    "parse_lines",
    "read_conns",
    "open_lines",
    "open_raw_lines",
    "hex_address",
    "format_expires",
    "header_line",
    "format_row",
    "table_rows",
]

CONN_FILE = "/proc/net/ip_vs_conn"
SYNC_FILE = "/proc/net/ip_vs_conn_sync"
_BUFFER = 1 << 16


class ConnError(Exception):
    """The connection table cannot be read (no IPVS in this kernel, no permission)."""


@dataclass(frozen=True, slots=True)
class Conn:
    """One connection entry (or persistence template) of the IPVS table."""

    protocol: str  # as the kernel names it: TCP, UDP, SCTP, IP (fwmark templates), ...
    family: str  # inet or inet6 (of the client side)
    client: str
    client_port: int
    virtual: str
    virtual_port: int
    dest: str
    dest_port: int
    state: str  # the kernel's (and ipvsadm's) state name
    expires: int  # seconds until the entry's timer fires
    template: bool
    pe_name: str = ""
    pe_data: str = ""
    origin: str = ""  # ip_vs_conn_sync only: LOCAL or SYNC

    @property
    def source(self) -> str:
        return format_endpoint(self.client, self.client_port)

    @property
    def virtual_endpoint(self) -> str:
        return format_endpoint(self.virtual, self.virtual_port)

    @property
    def destination(self) -> str:
        return format_endpoint(self.dest, self.dest_port)


@functools.lru_cache(maxsize=1 << 12)  # the virtual and real-server addresses repeat on every line
def hex_address(text: str) -> tuple[str, str]:
    """``C0A8010E`` -> (``192.168.1.14``, inet); ``2001:0db8:...`` -> (compressed, inet6).

    The text form is the C library's (inet_ntop), the one ipvsadm -n prints.
    """
    if ":" in text:
        return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, text)), "inet6"
    if len(text) != 8:
        raise ValueError(f"bad IPv4 address field {text!r}")
    return socket.inet_ntoa(bytes.fromhex(text)), "inet"


def parse_line(line: str, sync: bool = False) -> Conn:
    """One line of ip_vs_conn (``sync``: of ip_vs_conn_sync); ValueError if it is not one."""
    f = line.split()
    if len(f) < (10 if sync else 9):
        raise ValueError(f"short connection line {line.rstrip()!r}")
    client, family = hex_address(f[1])
    virtual, _ = hex_address(f[3])
    dest, _ = hex_address(f[5])
    cport = int(f[2], 16)
    origin = f[8] if sync else ""
    rest = f[9:] if sync else f[8:]
    return Conn(
        protocol=f[0], family=family, client=client, client_port=cport,
        virtual=virtual, virtual_port=int(f[4], 16), dest=dest, dest_port=int(f[6], 16),
        state=f[7], expires=int(rest[0]), template=cport == 0 or f[0] == "IP",
        pe_name=rest[1] if len(rest) > 1 else "", pe_data=rest[2] if len(rest) > 2 else "",
        origin=origin,
    )


def parse_lines(lines: Iterable[str], sync: bool = False) -> Iterator[Conn]:
    """Entries of a stream of lines (the header line, if present, is skipped)."""
    for line in lines:
        if line.startswith("Pro ") or not line.strip():
            continue
        yield parse_line(line, sync)


def _open(path: str, binary: bool) -> IO[Any]:
    try:
        if binary:
            return open(path, "rb", buffering=_BUFFER)
        return open(path, encoding="ascii", buffering=_BUFFER)
    except FileNotFoundError:
        raise ConnError(f"{path}: no IPVS in this kernel (or network namespace)") from None
    except PermissionError:
        raise ConnError(f"{path}: permission denied (run as root)") from None
    except OSError as exc:
        raise ConnError(f"{path}: {exc.strerror or exc}") from None


def open_lines(path: str = CONN_FILE) -> Iterator[str]:
    """The lines of the table, header included, streamed (never held).  Opened at once:
    ConnError here, not at the first line, if the table cannot be read."""
    return _lines(_open(path, binary=False))


def open_raw_lines(path: str = CONN_FILE) -> Iterator[bytes]:
    """As :func:`open_lines`, undecoded: for folds over millions of lines (half the cost).

    (Both are owned and closed by their generator, hence no ``with`` at the open.)"""
    return _lines(_open(path, binary=True))


def _lines(handle: IO[Any]) -> Iterator[Any]:
    with handle:
        yield from handle


def read_conns(path: str = CONN_FILE) -> Iterator[Conn]:
    """Every entry of ``path`` (ip_vs_conn or ip_vs_conn_sync), streamed."""
    return parse_lines(open_lines(path), sync=path.endswith("_sync"))


class ServiceIndex:
    """Which of lvstui's virtual services (``tcp:VIP:PORT``, ``fwmark:N``) an entry belongs to.

    Built from the services of a snapshot.  Address services match on protocol, virtual
    address and port (then port 0: a persistent all-ports service); fwmark templates carry
    the mark as their virtual address; other fwmark entries resolve when exactly one fwmark
    service of their family has their destination as a real server.  Else None.
    """

    __slots__ = ("_by_endpoint", "_fw_dests", "_fwmarks")

    def __init__(self, services: Iterable[VirtualService]) -> None:
        self._by_endpoint: dict[tuple[str, str, int], str] = {}
        self._fwmarks: dict[tuple[str, int], str] = {}
        fw_dests: dict[tuple[str, str, int], set[str]] = {}
        for vs in services:
            if vs.fwmark:
                self._fwmarks[(vs.family, vs.fwmark)] = vs.id
                for rs in vs.real_servers:
                    fw_dests.setdefault((vs.family, rs.address, rs.port), set()).add(vs.id)
            elif vs.protocol and vs.address is not None and vs.port is not None:
                self._by_endpoint[(vs.protocol.upper(), vs.address, vs.port)] = vs.id
        self._fw_dests = {k: next(iter(v)) for k, v in fw_dests.items() if len(v) == 1}

    def resolve(self, c: Conn) -> str | None:
        if c.protocol == "IP" and c.template:
            mark = _mark_of(c.virtual, c.family)
            return self._fwmarks.get((c.family, mark)) if mark else None
        found = self._by_endpoint.get((c.protocol, c.virtual, c.virtual_port))
        if found is None:
            found = self._by_endpoint.get((c.protocol, c.virtual, 0))
        if found is None:  # a fwmark service: its real servers may have port 0 (the packet's port)
            found = self._fw_dests.get((c.family, c.dest, c.dest_port)) or self._fw_dests.get(
                (c.family, c.dest, 0))
        return found


def _mark_of(address: str, family: str) -> int:
    """A fwmark template's virtual address is the mark in its first 32 bits."""
    raw = socket.inet_pton(socket.AF_INET6 if family == "inet6" else socket.AF_INET, address)
    return int.from_bytes(raw[:4], "big")


def format_expires(seconds: int) -> str:
    """ipvsadm's ``MM:SS`` (minutes not wrapped at 60)."""
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def header_line() -> str:
    return f"pro expire {'state':<11} {'source':<18} {'virtual':<18} destination"


def format_row(c: Conn) -> str:
    """One row in ipvsadm -Lnc's columns."""
    return _row(c.protocol, c.expires, c.state, c.source, c.virtual_endpoint, c.destination)


def _row(protocol: str, expires: int, state: str, source: str, virtual: str, destination: str) -> str:
    return f"{protocol:<3} {format_expires(expires):<6} {state:<11} {source:<18} {virtual:<18} {destination}"


def table_rows(lines: Iterable[str], sync: bool = False) -> Iterator[str]:
    """``format_row(parse_line(line, sync))`` for each entry of *lines*, without building a
    :class:`Conn` for each (the whole table, unfiltered: what ``lvstui conns`` prints most)."""
    need = 10 if sync else 9
    for line in lines:
        if line.startswith("Pro ") or not line.strip():
            continue
        f = line.split()
        try:
            if len(f) < need:
                raise ValueError
            yield _row(f[0], int(f[9] if sync else f[8]), f[7], format_endpoint(hex_address(f[1])[0], int(f[2], 16)),
                       format_endpoint(hex_address(f[3])[0], int(f[4], 16)),
                       format_endpoint(hex_address(f[5])[0], int(f[6], 16)))
        except ValueError:
            parse_line(line, sync)  # raises the parser's own message for this line
            raise
