"""The deterministic demo fleet for the fleet screen's tests (a labelled fixture: lvstui.fleet.demo)."""

from __future__ import annotations

from lvstui.fleet.demo import demo_fleet, demo_readers
from lvstui.fleet.poller import FleetPoller
from lvstui.ui.fleet import FleetApp
from tests.ui.ui_support import ManualClock


def demo_app(clock: ManualClock, *, readonly: bool = False, seconds: int = 30) -> FleetApp:
    """Six simulated pairs (one director unreachable, one gone silent, one pair in split brain),
    polled on the frozen clock for *seconds*, not polling by themselves (autopoll off)."""
    spec = demo_fleet()
    poller = FleetPoller(spec, demo_readers(spec, clock=clock, threaded=False)).start()
    for _ in range(seconds):
        clock.advance(1.0)
        for reader in poller.readers.values():
            reader.poll()  # type: ignore[attr-defined]
    return FleetApp(poller, readonly=readonly, demo=True, clock=clock, autopoll=False, theme="dark")
