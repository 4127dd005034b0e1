"""``--listen ADDRESS:PORT`` of the servers (``lvstui exporter``, ``lvstui serve``): standard library only."""

from __future__ import annotations

import ipaddress

__all__ = ["LOCAL_ADDRESS", "format_listen", "parse_listen"]

LOCAL_ADDRESS = "127.0.0.1"  # every server of lvstui listens on this machine only unless told otherwise


def parse_listen(text: str, default_port: int, default_address: str = LOCAL_ADDRESS) -> tuple[str, int]:
    """``ADDRESS:PORT``, ``[IPV6]:PORT``, ``:PORT`` or ``ADDRESS``; ValueError with a readable message."""
    host, port = text.strip(), str(default_port)
    if host.startswith("["):
        inner, bracket, rest = host[1:].partition("]")
        if not bracket:
            raise ValueError(f"--listen {text!r}: expected [ADDRESS]:PORT")
        host = inner
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"--listen {text!r}: expected [ADDRESS]:PORT")
            port = rest[1:]
    elif host.count(":") == 1:
        host, port = host.split(":")
    host = host or default_address
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"--listen {text!r}: {host!r} is not an IP address") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen {text!r}: {port!r} is not a port (1-65535)")
    return host, int(port)


def format_listen(host: str, port: int) -> str:
    """``127.0.0.1:10561``, ``[::1]:10561``: the address part of a URL."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
