"""Match keepalived's runtime state (DATA dump) with the configuration's view.

Keys differ in two ways seen on 2.2.7: a virtual server without ``protocol``
is UDP, and in DR mode keepalived puts the *virtual* port in IPVS (and in its
dump) whatever port the real_server line says ("ports don't match -
resetting"), while its checkers still dial the configured or ``connect_port``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lvstui.keepalived.runtime import RealServerState, VirtualServerState
from lvstui.keepalived.view import ConfigView, ConfRealServer, VirtualServer

__all__ = ["ServerCheck", "ipvs_port", "join_state"]


@dataclass(frozen=True, slots=True)
class ServerCheck:
    """One configured real server with keepalived's opinion of it (None: not in the dump)."""

    virtual_server: VirtualServer
    real_server: ConfRealServer
    state: RealServerState | None

    @property
    def status(self) -> str:
        """``up``, ``down`` (removed from IPVS by a failed check), ``inhibited`` (kept with
        weight 0) or ``unknown`` (keepalived did not report it)."""
        if self.state is None:
            return "unknown"
        if self.state.alive:
            return "up"
        return "inhibited" if self.state.in_ipvs else "down"

    @property
    def failed_checkers(self) -> tuple[str, ...]:
        if self.state is None:
            return ()
        return tuple(c.type for c in self.state.checkers if not c.up)


def ipvs_port(vs: VirtualServer, rs: ConfRealServer) -> int | None:
    """The port keepalived gives the real server in IPVS."""
    kind = (rs.lb_kind or vs.lb_kind).upper()
    if kind == "DR" and vs.kind == "address" and vs.port:
        return vs.port
    return rs.port if rs.port is not None else vs.port


def join_state(view: ConfigView, servers: tuple[VirtualServerState, ...]) -> list[ServerCheck]:
    """Every configured real server with its state from ``keepalived_check.data``."""
    by_key = {s.key: s for s in servers}
    out = []
    for vs in view.virtual_servers:
        state = by_key.get(vs.key)
        for rs in vs.real_servers:
            found = None
            if state is not None:
                port = ipvs_port(vs, rs)
                for candidate in state.real_servers:
                    if candidate.address == rs.address and (port is None or candidate.port == port):
                        found = candidate
                        break
            out.append(ServerCheck(vs, rs, found))
    return out
