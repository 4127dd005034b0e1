"""A snapshot source with the peer beside it: this director's snapshot, the peer's last view,
the differences between the two tables and split brain (``lvstui snapshot --peer``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol, Self

from lvstui.backend import SnapshotSource
from lvstui.capabilities import Capabilities
from lvstui.model import PeerView, Snapshot
from lvstui.peer.compare import config_differences, differences, sync_check, with_peer_state

__all__ = ["PeerViews", "WithPeer"]


class PeerViews(Protocol):
    """What WithPeer needs of the peer's reader (:class:`lvstui.peer.reader.PeerReader`)."""

    def view(self) -> PeerView: ...

    def close(self) -> None: ...


class WithPeer:
    """*local*'s snapshots with ``peer`` and ``split_brain`` filled from *reader* (never waits on it).

    *local*'s snapshot already holds the split brain its adverts say (``DirectorSource``, the
    one source that hears adverts); the peer's keepalived state is added to it here."""

    def __init__(self, local: SnapshotSource, reader: PeerViews) -> None:
        self.local = local
        self.reader = reader
        self.name: str = local.name
        self.capabilities: Capabilities = local.capabilities

    def read(self) -> Snapshot:
        snap = self.local.read()
        view = self.reader.view()
        if view.snapshot is not None:
            found = differences(snap, view.snapshot, thresholds=view.via == "lvstui")
            found += config_differences(snap.keepalived_config, view.snapshot.keepalived_config)
            view = replace(view, differences=found,
                           sync=sync_check(snap, view))
        return replace(snap, peer=view, split_brain=with_peer_state(snap.split_brain, snap, view))

    def close(self) -> None:
        self.reader.close()
        self.local.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
