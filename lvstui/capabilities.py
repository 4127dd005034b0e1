"""What a snapshot source can do, declared by the source (never guessed from its name or methods).

Each source class states its :class:`Capabilities` as a class attribute; ``lvstui`` (the
dashboard's command, :mod:`lvstui.commands.dashboard`) adds what only it knows (the lab's
control socket) once, where it builds the source, and hands the result to the dashboard.
Plain data: nothing here imports Textual or the backends.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Capabilities"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    #: the source is itself the director operations write to (the demo, in memory); False: the
    #: dashboard opens a director of its own (the kernel's socket belongs to the poller thread)
    write: bool = False
    #: keepalived is part of this source's view: VRRP demote/promote of this director make sense
    vrrp: bool = False
    #: the lab's control socket (``lvstui lab`` sets it): the lab panel's actions, else None
    lab_control: str | None = None
    #: a simulated director (the header says DEMO; no keepalived, no sysctl behind it)
    demo: bool = False
    #: the director's connection table is this machine's /proc/net/ip_vs_conn (the kernel sources,
    #: which read IPVS in this network namespace): the detail view counts its entries by state
    conn_table: bool = False

    @property
    def lab_controls(self) -> bool:
        return self.lab_control is not None

    def with_lab_control(self, path: str | None) -> Capabilities:
        return replace(self, lab_control=path or None)
