"""The exporter's source: the director (kernel + keepalived), opened again after it failed to open.

At boot ``ip_vs`` may not be loaded yet; the exporter must still answer (``lvstui_up 0``) and
start reporting once it is.  So opening the source is part of a poll: a failure to open raises
BackendError from ``read`` like a failed read, and the next poll opens it again; so does a
failed read.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from lvstui.backend import BackendError, SnapshotSource
from lvstui.model import Snapshot

__all__ = ["Reopening", "director_source"]


def director_source(keepalived_refresh: float = 5.0, no_keepalived: bool = False) -> SnapshotSource:
    """The source ``snapshot`` and the dashboard read (lvstui.backend.director.make_source)."""
    from lvstui.backend.director import make_source

    return make_source(argparse.Namespace(keepalived_refresh=keepalived_refresh, no_keepalived=no_keepalived))


class Reopening:
    """``open()`` on the first read and after a failure: to open, or to read (``ip_vs`` reloaded
    gives its generic netlink family a new id; the old socket would fail for good)."""

    name = "kernel"

    def __init__(self, open_source: Callable[[], SnapshotSource]) -> None:
        self._open = open_source
        self._source: SnapshotSource | None = None
        self.opened = 0

    def read(self) -> Snapshot:
        if self._source is None:
            try:
                self._source = self._open()
            except ImportError as exc:
                raise BackendError(f"the kernel reader is not available in this build ({exc})") from None
            self.opened += 1
        try:
            return self._source.read()
        except BackendError:
            self.close()
            raise

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
