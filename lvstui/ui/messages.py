"""Messages the dashboard's threads post to its screen (each newer one replaces a queued older one)."""

from __future__ import annotations

from collections.abc import Mapping

from textual.message import Message

from lvstui.model import Snapshot
from lvstui.ui.columns import RsRow
from lvstui.ui.poller import Frame
from lvstui.ui.view import Tables, ViewSpec

__all__ = ["FrameReady", "RealServersReady", "TablesReady"]


class FrameReady(Message):
    """A poll's result, posted by the poller thread."""

    def __init__(self, frame: Frame) -> None:
        super().__init__()
        self.frame = frame

    def can_replace(self, message: Message) -> bool:
        # a newer frame queued behind this one makes this one stale: skip it
        return isinstance(message, FrameReady)


class TablesReady(Message):
    """Tables rebuilt in a thread after the operator changed the view on a large director."""

    def __init__(self, tables: Tables, snapshot: Snapshot) -> None:
        super().__init__()
        self.tables = tables
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TablesReady)


class RealServersReady(Message):
    """The real servers of a newly selected large service, sorted and filtered in a thread."""

    def __init__(self, vs_id: str, spec: ViewSpec, keys: list[str], items: Mapping[str, RsRow]) -> None:
        super().__init__()
        self.vs_id, self.spec, self.keys, self.items = vs_id, spec, keys, items

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RealServersReady)
