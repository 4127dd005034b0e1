"""Per-real-server counts by state over the whole connection table, in one streamed pass.

The hot path of a drain view or a dashboard on a director with millions of entries: the
lines are split and counted on their raw fields (no :class:`~lvstui.backend.conns.Conn`
per line, no address decoding per line); only the distinct keys are decoded at the end.
Memory is the file's read buffer plus one counter per (real server, protocol, state).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lvstui.backend.conns import CONN_FILE, hex_address, open_raw_lines
from lvstui.model import format_endpoint

__all__ = ["StateCount", "count_states", "count_table"]


@dataclass(frozen=True, slots=True)
class StateCount:
    destination: str  # ADDRESS:PORT of the real server, as ipvsadm -n prints it
    protocol: str
    state: str
    template: bool
    count: int
    longest_expiry: int


def count_states(lines: Iterable[bytes]) -> list[StateCount]:
    """Counts by (destination, protocol, state, template) of raw ip_vs_conn lines (header skipped)."""
    counts: dict[tuple[bytes, bytes, bytes, bytes, bool], list[int]] = {}
    for line in lines:
        f = line.split()
        if len(f) < 9 or f[0] == b"Pro":
            continue
        key = (f[5], f[6], f[0], f[7], f[2] == b"0000" or f[0] == b"IP")
        row = counts.get(key)
        expires = int(f[8])
        if row is None:
            counts[key] = [1, expires]
        else:
            row[0] += 1
            if expires > row[1]:
                row[1] = expires
    out = []
    for (addr, port, proto, state, template), (n, longest) in counts.items():
        dest = format_endpoint(hex_address(addr.decode())[0], int(port, 16))
        out.append(StateCount(dest, proto.decode(), state.decode(), template, n, longest))
    out.sort(key=lambda s: (s.destination, s.protocol, s.template, s.state))
    return out


def count_table(path: str = CONN_FILE) -> list[StateCount]:
    """:func:`count_states` of the live table (ConnError if it cannot be read)."""
    return count_states(open_raw_lines(path))
