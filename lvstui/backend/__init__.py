"""Backends: read a director's state into :mod:`lvstui.model` snapshots, and apply changes.

Nothing in this package imports Textual.
"""

from __future__ import annotations

from typing import Protocol

from lvstui.capabilities import Capabilities
from lvstui.model import Snapshot


class BackendError(Exception):
    """A failure to read or change the director, with a one-line message for the operator."""


class SnapshotSource(Protocol):
    """Anything that produces snapshots: the kernel, or the demo simulator."""

    #: short name shown on screen ("kernel", "demo")
    name: str
    #: what it can do (write, VRRP, demo), declared by the source's class
    capabilities: Capabilities

    def read(self) -> Snapshot:
        """Return a fresh snapshot.  Raises BackendError when it cannot read."""
        ...

    def close(self) -> None: ...
