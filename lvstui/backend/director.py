"""The director as a whole: the kernel's IPVS table composed with keepalived's view of it.

:class:`DirectorSource` is a :class:`~lvstui.backend.SnapshotSource`: each ``read()`` reads
the kernel (netlink, every poll) and merges keepalived's state (:mod:`lvstui.keepalived.state`).

Which of keepalived's interfaces, and why (Debian's 2.2.7; see ``runtime.py``):

* **The DATA dump** (a signal, then /tmp/keepalived_check.data and keepalived.data) is the
  only complete picture of the checkers (alive, failed checkers, inhibited, "RS set"), so
  it is the source of truth.  It costs a signal, a file write by keepalived and a parse:
  not something to do on every 1 s poll of a large table.
* **The JSON dump** gives VRRP numerically (state, base/effective priority, the master's
  priority heard); preferred for VRRP, the DATA dump being the fallback.
* **Triggers for a new dump**, so that a poll normally signals nothing: (1) the first
  poll, (2) a line on a notify FIFO when the configuration has one (events as they
  happen; alone they are not the truth: nothing is written for what does not change and
  lines are lost while nobody reads), (3) a change in the kernel table of a service
  keepalived manages: every checker action (removal, re-add, inhibit) shows there first,
  which needs no FIFO at all, (4) keepalived's processes changed (restart, reload), its
  configuration files changed, and (5) a slow period (``refresh``, 5 s) for what has no
  trigger (a VRRP priority change without FIFO, a failed-checker count).
* **DBus** is read-only VRRP state, optional on builds, and adds nothing the JSON dump lacks.
* **VRRP adverts** on the wire (:mod:`lvstui.keepalived.vrrp_adverts`, a daemon thread):
  which router holds each VRID and at what priority, the peer director included.

Several keepalived on one machine (one per network namespace): the one whose network
namespace is ours is used (:func:`lvstui.keepalived.site.local_keepalived`, the program's one rule); its dumps are read through /proc/PID/root (its own /tmp).
Every failure becomes data in ``Snapshot.keepalived`` (status and errors), never an
exception: only a kernel read failure raises (BackendError), as for the plain kernel source.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Self

from lvstui.backend import SnapshotSource
from lvstui.backend.ipvs import IpvsClient
from lvstui.capabilities import Capabilities
from lvstui.keepalived.watcher import KeepalivedWatcher
from lvstui.model import Snapshot
from lvstui.peer.compare import split_brain

__all__ = ["DirectorSource", "make_source"]

class DirectorSource:
    """The kernel's table with keepalived's view: what the dashboard and ``snapshot`` show."""

    name = "kernel"
    capabilities = Capabilities(vrrp=True, conn_table=True)  # keepalived's view, so VRRP demote/promote; writes: own client

    def __init__(
        self, kernel: SnapshotSource | None = None, watcher: KeepalivedWatcher | None = None
    ) -> None:
        if kernel is None:
            kernel = IpvsClient()
        self.kernel: SnapshotSource = kernel
        self.watcher = watcher if watcher is not None else KeepalivedWatcher()

    def read(self) -> Snapshot:
        snap = self.watcher.apply(self.kernel.read())
        return replace(snap, split_brain=split_brain(snap))  # from the adverts heard here

    def close(self) -> None:
        self.watcher.close()
        self.kernel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_source(args: argparse.Namespace | None = None) -> SnapshotSource:
    """The source the CLI and the dashboard use: the kernel composed with keepalived.

    ``args.no_keepalived`` gives the plain kernel reader; ``args.keepalived_refresh`` the slow
    refresh period.  Raises BackendError when the kernel's IPVS cannot be read.
    """
    kernel = IpvsClient()
    if args is not None and getattr(args, "no_keepalived", False):
        return kernel
    refresh = float(getattr(args, "keepalived_refresh", 5.0) or 5.0) if args is not None else 5.0
    try:
        return DirectorSource(kernel, KeepalivedWatcher(refresh=refresh))
    except Exception:
        kernel.close()
        raise
