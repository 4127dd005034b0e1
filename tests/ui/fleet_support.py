"""The deterministic demo fleet for the fleet screen's tests (a labelled fixture: lvstui.fleet.demo,
built as the screenshots build it, lvstui.ui.scenes.demo_fleet_app)."""

from __future__ import annotations

from collections.abc import Mapping

from lvstui.ui.fleet import FleetApp
from lvstui.ui.scenes import demo_fleet_app
from tests.ui.ui_support import ManualClock


def demo_app(clock: ManualClock, *, readonly: bool = False, seconds: int = 30,
             keymap: Mapping[str, str] | None = None) -> FleetApp:
    """Six simulated pairs (one director unreachable, one gone silent, one pair in split brain),
    polled on the frozen clock for *seconds*, not polling by themselves (autopoll off)."""
    return demo_fleet_app(clock, seconds=seconds, readonly=readonly, keymap=keymap)
