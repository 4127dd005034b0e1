"""One pair of the fleet as a dashboard's source: what Enter on the fleet screen opens.

The pair's first director's snapshots as its reader last received them (nothing is read again:
the fleet's reader thread keeps that director's one SSH connection), with the pair's second
director beside it as the peer (:class:`lvstui.peer.source.WithPeer`: differences, split brain).
The readers belong to the fleet: closing the dashboard's source leaves them running.

Read-only by construction: the director is another machine and the operations layer writes to
this one only, so the source declares no write, no VRRP and no connection table.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Self

from lvstui.backend import BackendError, SnapshotSource
from lvstui.capabilities import Capabilities
from lvstui.fleet.poller import Reader
from lvstui.model import Snapshot
from lvstui.peer.source import WithPeer

__all__ = ["DirectorSource", "pair_source"]


class DirectorSource:
    """A director's snapshots from its (running) reader; a stale or unread one is a poll error."""

    name = "fleet"

    def __init__(self, reader: Reader, *, demo: bool = False) -> None:
        self.reader = reader
        self.capabilities = Capabilities(demo=demo)

    def read(self) -> Snapshot:
        view = self.reader.view()
        if view.snapshot is None or view.stale:
            raise BackendError(view.error or f"{view.host}: not read")
        # its age on this machine's clock: since the reader received it (the director's own
        # monotonic clock means nothing here)
        return replace(view.snapshot, monotonic=view.read_at or 0.0)

    def close(self) -> None:
        return None  # the reader is the fleet's

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Borrowed(WithPeer):
    def close(self) -> None:
        return None  # both readers are the fleet's


def pair_source(readers: tuple[Reader, ...], *, demo: bool = False) -> SnapshotSource:
    """The dashboard's source for a pair whose directors' readers are *readers* (the file's order)."""
    first = DirectorSource(readers[0], demo=demo)
    if len(readers) < 2:
        return first
    return _Borrowed(first, readers[1])
