"""Parse ``ipvsadm -Ln --exact`` output (every listing mode) for the parity tests.

This is the independent reference: lvstui's netlink reader must agree with
what ipvsadm prints, field by field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PROTO = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}
_FWD = {"Route": "DR", "Masq": "NAT", "Tunnel": "TUN", "Local": "LOCAL"}


@dataclass
class Row:
    id: str
    values: dict[str, object] = field(default_factory=dict)
    real_servers: dict[str, dict[str, object]] = field(default_factory=dict)


def _endpoint(text: str) -> str:
    """ipvsadm prints IPv6 as [addr]:port already; normalise nothing else."""
    return text


def service_id(proto: str, rest: list[str]) -> tuple[str, list[str]]:
    if proto == "FWM":
        mark = rest[0]
        tail = rest[1:]
        if tail and tail[0] == "IPv6":
            return f"fwmark:{mark}:inet6", tail[1:]
        return f"fwmark:{mark}", tail
    return f"{_PROTO[proto]}:{_endpoint(rest[0])}", rest[1:]


def _service_attrs(tokens: list[str]) -> dict[str, object]:
    out: dict[str, object] = {"scheduler": tokens[0], "sched_flags": [], "persistence_timeout": 0,
                              "netmask": None, "persistence_engine": None, "ops": False}
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("(") and tok.endswith(")"):
            out["sched_flags"] = tok[1:-1].split(",")
        elif tok == "persistent":
            out["persistence_timeout"] = int(tokens[i + 1])
            i += 1
        elif tok == "mask":
            out["netmask"] = tokens[i + 1]
            i += 1
        elif tok == "pe":
            out["persistence_engine"] = tokens[i + 1]
            i += 1
        elif tok == "ops":
            out["ops"] = True
        else:
            raise ValueError(f"unexpected token {tok!r} in ipvsadm service line {tokens!r}")
        i += 1
    return out


MODES: dict[str, list[str]] = {
    "": ["forward", "weight", "active_conns", "inactive_conns"],
    "--stats": ["conns", "inpkts", "outpkts", "inbytes", "outbytes"],
    "--rate": ["cps", "inpps", "outpps", "inbps", "outbps"],
    "--thresholds": ["upper_threshold", "lower_threshold", "active_conns", "inactive_conns"],
    "--persistent-conn": ["weight", "persistent_conns", "active_conns", "inactive_conns"],
}


def parse(text: str, mode: str) -> dict[str, Row]:
    """Parse one listing; returns services by id with their real servers by id."""
    columns = MODES[mode]
    numeric_services = mode in ("--stats", "--rate")
    services: dict[str, Row] = {}
    current: Row | None = None
    for line in text.splitlines():
        if not line.strip() or line.startswith(("IP Virtual Server", "Prot ")):
            continue
        if line.lstrip().startswith("-> RemoteAddress"):
            continue
        tokens = line.split()
        if tokens[0] == "->":
            assert current is not None, line
            rs_id = tokens[1]
            vals = tokens[2:]
            row: dict[str, object] = {}
            for name, raw in zip(columns, vals):
                row[name] = _FWD[raw] if name == "forward" else int(raw)
            if len(vals) != len(columns):
                raise ValueError(f"unexpected real-server line {line!r} for mode {mode!r}")
            current.real_servers[rs_id] = row
            continue
        if tokens[0] not in _PROTO and tokens[0] != "FWM":
            raise ValueError(f"unexpected line {line!r}")
        vs_id, rest = service_id(tokens[0], tokens[1:])
        current = Row(vs_id)
        if numeric_services:
            if len(rest) != len(columns):
                raise ValueError(f"unexpected service line {line!r} for mode {mode!r}")
            current.values = {name: int(raw) for name, raw in zip(columns, rest)}
        else:
            current.values = _service_attrs(rest)
        services[vs_id] = current
    return services


_DAEMON = re.compile(
    r"(?P<state>master|backup) sync daemon \(mcast=(?P<ifn>[^,]+), syncid=(?P<syncid>\d+)"
    r"(?:, maxlen=(?P<maxlen>\d+))?(?:, group=(?P<group>[^,]+))?(?:, port=(?P<port>\d+))?(?:, ttl=(?P<ttl>\d+))?\)")


def parse_daemons(text: str) -> list[dict[str, object]]:
    out = []
    for m in _DAEMON.finditer(text):
        out.append({"state": m["state"], "mcast_ifn": m["ifn"], "syncid": int(m["syncid"]),
                    "sync_maxlen": int(m["maxlen"] or 0), "mcast_group": m["group"],
                    "mcast_port": int(m["port"] or 0), "mcast_ttl": int(m["ttl"] or 0)})
    return out


def parse_timeouts(text: str) -> dict[str, int]:
    m = re.search(r"Timeout \(tcp tcpfin udp\): (\d+) (\d+) (\d+)", text)
    if not m:
        raise ValueError(f"no timeouts in {text!r}")
    return {"tcp": int(m[1]), "tcp_fin": int(m[2]), "udp": int(m[3])}
