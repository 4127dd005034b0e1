"""Parse and validate what an operator types: service ids, real-server ids, weights, ports.

Every function raises :class:`InvalidInput` with a message fit to show as is.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from lvstui.model import Forward, format_endpoint, service_id

MAX_WEIGHT = 2147483647  # the kernel's limit (INT_MAX)
MAX_THRESHOLD = 4294967295
SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos")
SCHED_FLAGS = {
    "sh": ("sh-fallback", "sh-port"),
    "mh": ("mh-fallback", "mh-port"),
}
PROTOCOLS = ("tcp", "udp", "sctp")
PERSISTENCE_ENGINES = ("sip",)


class InvalidInput(ValueError):
    """Bad input from the operator: nothing was changed."""


@dataclass(frozen=True, slots=True)
class ServiceKey:
    protocol: str | None
    family: str
    address: str | None
    port: int | None
    fwmark: int | None

    @property
    def id(self) -> str:
        return service_id(self.protocol, self.address, self.port, self.fwmark, self.family)


@dataclass(frozen=True, slots=True)
class ServerKey:
    address: str
    port: int
    family: str

    @property
    def id(self) -> str:
        return format_endpoint(self.address, self.port)


def parse_address(text: str, what: str = "address") -> tuple[str, str]:
    """Return (canonical address, family)."""
    raw = text.strip()
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1]
    try:
        addr = ipaddress.ip_address(raw)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a valid {what} (expected an IPv4 or IPv6 address)") from None
    if addr.is_unspecified or addr.is_multicast:
        raise InvalidInput(f"{text!r} cannot be used as a {what}")
    return str(addr), ("inet6" if addr.version == 6 else "inet")


def parse_port(text: str | int, allow_zero: bool = False) -> int:
    try:
        port = int(str(text).strip(), 10)
    except ValueError:
        raise InvalidInput(f"port {text!r} is not a number") from None
    low = 0 if allow_zero else 1
    if not low <= port <= 65535:
        raise InvalidInput(f"port {port} is out of range ({low}-65535)")
    return port


def parse_weight(text: str | int) -> int:
    try:
        weight = int(str(text).strip(), 10)
    except ValueError:
        raise InvalidInput(f"weight {text!r} is not a whole number") from None
    if not 0 <= weight <= MAX_WEIGHT:
        raise InvalidInput(f"weight {weight} is out of range (0-{MAX_WEIGHT})")
    return weight


def parse_threshold(text: str | int, what: str) -> int:
    try:
        value = int(str(text).strip(), 10)
    except ValueError:
        raise InvalidInput(f"{what} threshold {text!r} is not a whole number") from None
    if not 0 <= value <= MAX_THRESHOLD:
        raise InvalidInput(f"{what} threshold {value} is out of range (0-{MAX_THRESHOLD})")
    return value


def _split_endpoint(text: str, what: str) -> tuple[str, str]:
    raw = text.strip()
    if raw.startswith("["):
        m = re.fullmatch(r"\[([^\]]+)\]:(.*)", raw)
        if not m:
            raise InvalidInput(f"{text!r} is not a valid {what}: write IPv6 as [2001:db8::1]:80")
        return m.group(1), m.group(2)
    if raw.count(":") != 1:
        raise InvalidInput(f"{text!r} is not a valid {what}: expected ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)")
    host, port = raw.split(":")
    return host, port


def parse_service_id(text: str) -> ServiceKey:
    """``tcp:192.168.1.100:80``, ``udp:[2001:db8::1]:53``, ``sctp:...``, ``fwmark:7``, ``fwmark:7:inet6``."""
    raw = text.strip()
    proto, sep, rest = raw.partition(":")
    proto = proto.lower()
    if not sep:
        raise InvalidInput(f"{text!r} is not a virtual service id: expected e.g. tcp:192.168.1.100:80 or fwmark:7")
    if proto == "fwmark":
        mark_text, _, fam = rest.partition(":")
        try:
            mark = int(mark_text, 10)
        except ValueError:
            raise InvalidInput(f"fwmark {mark_text!r} is not a number") from None
        if not 1 <= mark <= 0xFFFFFFFF:
            raise InvalidInput(f"fwmark {mark} is out of range (1-4294967295)")
        if fam not in ("", "inet", "inet6"):
            raise InvalidInput(f"{text!r}: the family after the fwmark must be inet or inet6")
        return ServiceKey(None, fam or "inet", None, None, mark)
    if proto not in PROTOCOLS:
        raise InvalidInput(f"{text!r}: protocol must be tcp, udp, sctp or fwmark")
    host, port_text = _split_endpoint(rest, "virtual service address")
    address, family = parse_address(host, "virtual service address")
    port = parse_port(port_text, allow_zero=True)
    if port == 0:
        raise InvalidInput(f"{text!r}: port 0 is only for persistent all-port services, which lvstui "
                           "does not create; use a port from 1 to 65535")
    return ServiceKey(proto, family, address, port, None)


def parse_server_id(text: str, allow_port_zero: bool = False) -> ServerKey:
    """``192.168.1.13:80`` or ``[2001:db8::13]:80``."""
    host, port_text = _split_endpoint(text, "real server")
    address, family = parse_address(host, "real-server address")
    return ServerKey(address, parse_port(port_text, allow_zero=allow_port_zero), family)


def parse_forward(text: str) -> Forward:
    try:
        forward = Forward.parse(text)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if forward is Forward.LOCAL:
        raise InvalidInput("forwarding method LOCAL is chosen by the kernel itself; use DR, NAT or TUN")
    return forward


def parse_scheduler(text: str) -> str:
    name = text.strip().lower()
    if name not in SCHEDULERS:
        raise InvalidInput(f"unknown scheduler {text!r} (known: {', '.join(SCHEDULERS)})")
    return name


def parse_flags(text: str, scheduler: str) -> tuple[str, ...]:
    """A comma list of ipvsadm flag names: ``ops``, ``sh-fallback``, ``sh-port``, ``mh-fallback``, ``mh-port``."""
    names = [f.strip().lower() for f in text.split(",") if f.strip()]
    allowed = {"ops", *SCHED_FLAGS.get(scheduler, ())}
    for name in names:
        if name not in allowed:
            if name in ("sh-fallback", "sh-port", "mh-fallback", "mh-port"):
                raise InvalidInput(f"flag {name!r} needs the {name[:2]} scheduler (this service uses {scheduler})")
            raise InvalidInput(f"unknown flag {name!r} (allowed here: {', '.join(sorted(allowed))})")
    return tuple(dict.fromkeys(names))


def parse_timeout(text: str | int) -> int:
    try:
        value = int(str(text).strip(), 10)
    except ValueError:
        raise InvalidInput(f"persistence timeout {text!r} is not a number of seconds") from None
    if not 0 <= value <= 0x7FFFFFFF // 1000:
        raise InvalidInput(f"persistence timeout {value} is out of range (0-{0x7FFFFFFF // 1000} seconds)")
    return value


def parse_netmask(text: str, family: str) -> str:
    raw = text.strip()
    if family == "inet6":
        try:
            plen = int(raw, 10)
        except ValueError:
            raise InvalidInput(f"IPv6 persistence netmask {text!r} must be a prefix length (1-128)") from None
        if not 1 <= plen <= 128:
            raise InvalidInput(f"IPv6 persistence netmask {plen} must be a prefix length (1-128)")
        return str(plen)
    try:
        net = ipaddress.IPv4Network(f"0.0.0.0/{raw}")  # accepts 24 and 255.255.255.0 alike
    except ValueError:
        raise InvalidInput(f"netmask {text!r} is not a valid IPv4 netmask (e.g. 255.255.255.0 or 24)") from None
    return str(net.netmask)
