"""Helpers for the UI tests (imported by conftest and the tests)."""

from __future__ import annotations

from pathlib import Path


class ManualClock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += seconds


def make_app(source, clock, config_home: Path, **kwargs):  # type: ignore[no-untyped-def]
    from lvstui.ui.app import DashboardApp

    return DashboardApp(source, clock=clock, autopoll=kwargs.pop("autopoll", False),
                        config_dir=config_home / "lvstui", config_file=config_home / "lvstui" / "config.toml",
                        **kwargs)


def feed(app, clock: ManualClock, polls: int, step: float = 1.0) -> None:  # type: ignore[no-untyped-def]
    """Run ``polls`` polls of the app's source, ``step`` seconds apart on the frozen clock."""
    for _ in range(polls):
        clock.advance(step)
        app.dashboard.ingest()


