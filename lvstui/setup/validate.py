"""Validation of every value that may reach a remote shell or a config file.

Each validator returns the value in canonical form or raises
:class:`ValidationError` with a one-line message naming the field.  Nothing
here does I/O: a bad value is refused before any connection is made.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Iterable, Sequence

__all__ = [
    "ValidationError",
    "abs_path",
    "address",
    "auth_pass",
    "hostname",
    "http_path",
    "http_status",
    "interface",
    "lb_algo",
    "lb_kind",
    "port",
    "positive_int",
    "priority",
    "protocol",
    "quote_argv",
    "router_id",
    "ssh_target",
    "vip",
    "weight",
]


class ValidationError(ValueError):
    """A value refused before anything touches a host."""


_IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,14}$")
_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$", re.IGNORECASE)
_PATH = re.compile(r"^/[A-Za-z0-9._/@+:-]*$")
_URL_PATH = re.compile(r"^/[A-Za-z0-9._~/?&=%+:@!$'()*,;-]*$")
_LB_ALGOS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos")


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field}: expected text, got {type(value).__name__}")
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise ValidationError(f"{field}: control characters are not allowed in {value!r}")
    return value.strip()


def address(value: object, field: str = "address") -> str:
    """An IPv4 or IPv6 host address, canonical text (no prefix, no brackets)."""
    text = _text(value, field)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValidationError(f"{field}: {text!r} is not an IPv4 or IPv6 address") from None


def vip(value: object, field: str = "VIP") -> str:
    """A virtual IP as ``A.B.C.D/32`` or ``X::Y/128`` (a bare address gets the host prefix)."""
    text = _text(value, field)
    addr_text, _, prefix = text.partition("/")
    try:
        canonical = address(addr_text, field)
    except ValidationError:
        raise ValidationError(f"{field}: {text!r} is not an IPv4 or IPv6 address") from None
    width = 32 if ":" not in canonical else 128
    if prefix and prefix != str(width):
        raise ValidationError(f"{field}: {text!r} must be a host address (/{width}) on lo")
    ip = ipaddress.ip_address(canonical)
    mapped = ip.version == 6 and ip.ipv4_mapped is not None  # ::ffff:A.B.C.D: no such VIP on the wire
    if ip.is_unspecified or ip.is_loopback or ip.is_multicast or ip.is_link_local or mapped:
        raise ValidationError(f"{field}: {canonical} cannot be a virtual IP")
    return f"{canonical}/{width}"


def interface(value: object, field: str = "interface") -> str:
    text = _text(value, field)
    if not _IFNAME.match(text) or text in (".", ".."):
        raise ValidationError(
            f"{field}: {text!r} is not a valid interface name (1-15 of A-Z a-z 0-9 _ . - @)")
    return text


def hostname(value: object, field: str = "host") -> str:
    """A DNS name, an IPv4 address or an IPv6 address (brackets allowed)."""
    text = _text(value, field)
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    name = text.removesuffix(".")
    if not name or len(name) > 253 or not all(_HOSTNAME_LABEL.match(p) for p in name.split(".")):
        raise ValidationError(f"{field}: {text!r} is not a valid host name or address")
    return name


def ssh_target(value: object, field: str = "host") -> tuple[str | None, str]:
    """``[user@]host`` -> (user or None, host)."""
    text = _text(value, field)
    user, sep, host = text.rpartition("@")
    if sep:
        if not _USER.match(user):
            raise ValidationError(f"{field}: {user!r} is not a valid user name")
        return user, hostname(host, field)
    return None, hostname(text, field)


def user_name(value: object, field: str = "user") -> str:
    text = _text(value, field)
    if not _USER.match(text):
        raise ValidationError(f"{field}: {text!r} is not a valid user name")
    return text


def _int(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"{field}: expected a number, got {value!r}")
    if isinstance(value, int):
        number = value
    else:
        text = _text(value, field)
        if not re.fullmatch(r"[0-9]{1,10}", text):
            raise ValidationError(f"{field}: {text!r} is not a whole number")
        number = int(text)
    if not low <= number <= high:
        raise ValidationError(f"{field}: {number} is out of range ({low}-{high})")
    return number


def port(value: object, field: str = "port") -> int:
    return _int(value, field, 1, 65535)


def weight(value: object, field: str = "weight") -> int:
    return _int(value, field, 0, 65535)


def router_id(value: object, field: str = "virtual_router_id") -> int:
    return _int(value, field, 1, 255)


def priority(value: object, field: str = "priority") -> int:
    return _int(value, field, 1, 254)


def positive_int(value: object, field: str, high: int = 86400) -> int:
    return _int(value, field, 1, high)


def http_status(value: object, field: str = "status") -> int:
    return _int(value, field, 100, 599)


def auth_pass(value: object, field: str = "auth_pass") -> str:
    """keepalived's ``auth_pass``: 1-8 printable characters, no blanks, quotes or '#'/'!'."""
    text = _text(value, field)
    if not 1 <= len(text) <= 8:
        raise ValidationError(f"{field}: keepalived uses at most 8 characters of a PASS (got {len(text)})")
    if not re.fullmatch(r"[A-Za-z0-9_.,:+=@%^*()\[\]-]+", text):
        raise ValidationError(f"{field}: only letters, digits and _.,:+=@%^*()[]- are allowed")
    return text


def abs_path(value: object, field: str = "path") -> str:
    text = _text(value, field)
    if not _PATH.match(text) or "/../" in text + "/" or text.endswith("/.."):
        raise ValidationError(f"{field}: {text!r} must be an absolute path of A-Z a-z 0-9 . _ - / @ + :")
    return text


def http_path(value: object, field: str = "path") -> str:
    text = _text(value, field)
    if not _URL_PATH.match(text) or '"' in text:
        raise ValidationError(f"{field}: {text!r} is not a URL path starting with /")
    return text


def lb_algo(value: object, field: str = "lb_algo") -> str:
    text = _text(value, field).lower()
    if text not in _LB_ALGOS:
        raise ValidationError(f"{field}: {text!r} is not a scheduler ({', '.join(_LB_ALGOS)})")
    return text


def lb_kind(value: object, field: str = "lb_kind") -> str:
    text = _text(value, field).upper()
    if text not in ("DR", "NAT", "TUN"):
        raise ValidationError(f"{field}: {text!r} must be DR, NAT or TUN")
    return text


def protocol(value: object, field: str = "protocol") -> str:
    text = _text(value, field).upper()
    if text not in ("TCP", "UDP", "SCTP"):
        raise ValidationError(f"{field}: {text!r} must be TCP, UDP or SCTP")
    return text


def quote_argv(argv: Sequence[str] | Iterable[str]) -> str:
    """Shell text for an argv: every word quoted, nothing interpreted."""
    words = list(argv)
    for word in words:
        if not isinstance(word, str) or "\x00" in word:
            raise ValidationError(f"argument {word!r} cannot be passed to a shell")
    return shlex.join(words)
