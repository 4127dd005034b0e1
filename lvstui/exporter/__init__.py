"""``lvstui exporter``: the director's IPVS table and keepalived's view as Prometheus metrics.

One poll thread (:mod:`lvstui.exporter.poll`) reads a :class:`~lvstui.model.Snapshot` every
interval; every scrape renders the latest one (:mod:`lvstui.exporter.metrics`), so scrapes never
read the kernel.  Read-only by construction: this package imports the read path only (the
snapshot source), never :mod:`lvstui.ops`, :mod:`lvstui.setup` or a keepalived writer, and it
holds its source behind :class:`~lvstui.exporter.poll.ReadOnlySource`, which exposes ``read`` and
``close`` alone.  Nothing here imports Textual.
"""

from __future__ import annotations

__all__ = ["DEFAULT_ADDRESS", "DEFAULT_PORT", "FORBIDDEN"]

#: 9100-9999 of Prometheus' default port allocations is used up and allocations go on above
#: 10000; 10560 is outside the listed ones (README, "Metrics (Prometheus)").
DEFAULT_PORT = 10560
DEFAULT_ADDRESS = "127.0.0.1"

#: modules that write (IPVS and keepalived changes, their files, undo, VRRP, set-up) or draw:
#: never loaded by the exporter.  `lvstui exporter` runs through lvstui.cli, which loads the
#: read-only policy with the change types and the journal (lvstui.ops.policy, .changes,
#: .targets, .journal) for every verb; none of them can reach the kernel or keepalived.
FORBIDDEN = (
    "lvstui.ops.engine",
    "lvstui.ops.keepalived",
    "lvstui.ops.files",
    "lvstui.ops.vrrp",
    "lvstui.ops.undo",
    "lvstui.ops.record",
    "lvstui.setup",
    "lvstui.ui",
    "lvstui.keepalived.edit",  # the config edits' text transform: only ops/ uses it
    "textual",
    "paramiko",
)
