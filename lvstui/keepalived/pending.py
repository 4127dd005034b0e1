"""Edits waiting in keepalived.conf: where the file differs from what the running keepalived loaded.

Before lvstui reloads keepalived it compares the virtual and real servers of the file on disk
with keepalived's own view of what it runs (its DATA dump of the checkers).  A difference means
someone edited the file and has not reloaded yet: lvstui's reload would apply those edits too,
so the operator is asked first.  Only membership and configured weights are compared: they are
what the dump states for certain (checkers and the rest are not all in it).
"""

from __future__ import annotations

import ipaddress

from lvstui.keepalived.join import ipvs_port
from lvstui.keepalived.runtime import VirtualServerState, request_state
from lvstui.keepalived.view import ConfigView
from lvstui.model import format_endpoint

__all__ = ["pending_edits"]


def _norm(address: str | None) -> str:
    try:
        return str(ipaddress.ip_address((address or "").strip("[]")))
    except ValueError:
        return address or ""


def pending_edits(view: ConfigView, running: tuple[VirtualServerState, ...]) -> list[str]:
    """What the file says differently from the running keepalived ("" when they agree)."""
    out: list[str] = []
    by_key = {s.key: s for s in running}
    file_keys = set()
    for vs in view.virtual_servers:
        if vs.kind == "group":
            continue  # the dump names groups differently; not compared
        file_keys.add(vs.key)
        state = by_key.get(vs.key)
        if state is None:
            out.append(f"virtual server {vs.key} ({vs.source}) is in the file, not in keepalived")
            continue
        running_rs = {(_norm(r.address), r.port): r for r in state.real_servers}
        seen = set()
        for rs in vs.real_servers:
            key = (_norm(rs.address), ipvs_port(vs, rs) or 0)
            seen.add(key)
            name = format_endpoint(*key)
            found = running_rs.get(key)
            if found is None:
                out.append(f"{vs.key}: real server {name} ({rs.source}) is in the file, not in keepalived")
            elif found.weight != rs.weight:
                out.append(f"{vs.key}: real server {name} weight {found.weight} in keepalived, "
                           f"{rs.weight} in the file ({rs.source})")
        for key in running_rs.keys() - seen:
            out.append(f"{vs.key}: real server {format_endpoint(*key)} runs in keepalived, not in the file")
    for vs_key, vs_state in by_key.items():
        if vs_key not in file_keys and vs_state.group is None:
            out.append(f"virtual server {vs_key} runs in keepalived, not in the file")
    return out


def running_differences(parent_pid: int, view: ConfigView,
                        timeout: float = 3.0) -> tuple[list[str], str | None]:
    """Ask keepalived for its DATA dump and compare: (differences, None) or ([], why it could not)."""
    state = request_state(parent_pid, want_vrrp=False, timeout=timeout)
    if state.errors:
        return [], "; ".join(state.errors)
    return pending_edits(view, state.servers), None
