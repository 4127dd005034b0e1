"""The filters of ``lvstui conns``: virtual service, real server, state, client network."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from lvstui.backend.conns import Conn, ServiceIndex
from lvstui.model import normalize_address, service_id

__all__ = ["ConnFilter", "parse_endpoint", "parse_service"]


def parse_endpoint(text: str) -> tuple[str, int]:
    """``192.168.1.13:80`` or ``[2001:db8::13]:80`` -> (canonical address, port)."""
    address, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{text!r} is not ADDRESS:PORT")
    if ":" in address and not (address.startswith("[") and address.endswith("]")):
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, [ADDRESS]:PORT")
    return normalize_address(address), int(port)


def parse_service(text: str) -> str:
    """A virtual service id in lvstui's canonical form: tcp:VIP:PORT, udp:[V6]:PORT, fwmark:N[:inet6]."""
    kind, sep, rest = text.strip().partition(":")
    kind = kind.lower()
    if not sep:
        raise ValueError(f"{text!r} is not a virtual service (tcp:VIP:PORT, fwmark:N)")
    if kind == "fwmark":
        mark, _, family = rest.partition(":")
        if not mark.isdigit() or int(mark) == 0 or family not in ("", "inet", "inet6"):
            raise ValueError(f"{text!r} is not a fwmark service (fwmark:N or fwmark:N:inet6)")
        return service_id(None, None, None, int(mark), family or "inet")
    if kind not in ("tcp", "udp", "sctp"):
        raise ValueError(f"{text!r}: the protocol must be tcp, udp, sctp or fwmark")
    address, port = parse_endpoint(rest)
    return service_id(kind, address, port, None, "inet6" if ":" in address else "inet")


@dataclass(frozen=True, slots=True)
class ConnFilter:
    service: str | None = None
    dest: str | None = None  # the real server's address ...
    dest_port: int = 0  # ... and port; 0 (a fwmark service's real server): any port
    state: str | None = None
    client: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None

    @classmethod
    def parse(cls, vs: str | None, rs: str | None, state: str | None, client: str | None) -> ConnFilter:
        """From the command line's words; ValueError with a readable message."""
        net = None
        if client:
            try:
                net = ipaddress.ip_network(client.strip(), strict=False)
            except ValueError:
                raise ValueError(f"--client {client!r} is not an address or CIDR network") from None
        dest, dest_port = parse_endpoint(rs) if rs else (None, 0)
        return cls(
            service=parse_service(vs) if vs else None,
            dest=dest, dest_port=dest_port,
            state=state.strip().upper() if state else None,
            client=net,
        )

    def accepts(self, c: Conn, index: ServiceIndex) -> bool:
        if self.state is not None and c.state.upper() != self.state:
            return False
        if self.dest is not None and (c.dest != self.dest or (self.dest_port and c.dest_port != self.dest_port)):
            return False
        if self.client is not None and ipaddress.ip_address(c.client) not in self.client:
            return False
        return self.service is None or index.resolve(c) == self.service
