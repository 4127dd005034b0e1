"""What the dashboard's controllers may ask of the screen they serve: a narrow, typed protocol.

The operations and VRRP controllers (:mod:`lvstui.ui.ops_controller`,
:mod:`lvstui.ui.vrrp_controller`) are plain classes: they never import the app or the screen,
and reach them only through :class:`DashboardHost` (implemented by
:class:`lvstui.ui.dashboard.DashboardScreen`; tests may implement it too).  Busy state is the
host's worker groups (:meth:`DashboardHost.busy`), not flags kept by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from textual.notifications import SeverityLevel
from textual.screen import Screen

from lvstui.model import Snapshot

__all__ = ["OPS_APPLY", "OPS_PREVIEW", "VRRP", "DashboardHost"]

R = TypeVar("R")

#: worker groups: while one of a group's workers runs, that group is busy
OPS_PREVIEW = "ops-preview"  # planning a batch (a key pressed twice opens one confirmation)
OPS_APPLY = "ops"  # applying a batch (one director call at a time; OpRunner also holds a lock)
VRRP = "vrrp"  # VRRP demote/promote: planning, then executing


class DashboardHost(Protocol):
    def tell(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
             timeout: float | None = None) -> None:
        """Notify the operator; ``message`` and ``title`` are plain text, never markup."""

    def open_screen(self, screen: Screen[R], callback: Callable[[R | None], None] | None = None) -> None:
        """Push a screen (a confirmation, a form); ``callback`` gets its result."""

    def current_snapshot(self) -> Snapshot | None:
        """The snapshot on screen (None before the first poll)."""

    def start_thread(self, work: Callable[[], None], *, name: str, group: str) -> None:
        """Run ``work`` in a thread worker of ``group``."""

    def busy(self, group: str) -> bool:
        """A worker of ``group`` is pending or running."""

    def from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        """From a worker thread: run ``callback(*args)`` on the UI thread and wait for it."""

    def changed(self) -> None:
        """The director was (maybe) changed: read it again now."""
