"""Reproducible views of the dashboard and the fleet (demo sources, frozen clock) for screenshots
and snapshot tests.

``scripts/screenshots.py`` renders every scene (:data:`SCENES`, :data:`FLEET_SCENES`) to
``screenshots/NAME.svg``; the snapshot tests compare the same scenes, so the README's pictures
are exactly what the tests pin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lvstui.demo import DemoSource
from lvstui.fleet.demo import demo_fleet, demo_readers
from lvstui.fleet.poller import FleetPoller
from lvstui.ui.app import DashboardApp
from lvstui.ui.fleet import FleetApp

__all__ = ["FLEET_SCENES", "SCENES", "FrozenClock", "Scene", "build_fleet_scene", "build_scene", "demo_fleet_app"]


class FrozenClock:
    """Monotonic time that moves only when told (so ages and highlights are stable)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class SettableClock(Protocol):
    now: float

    def __call__(self) -> float: ...


@dataclass(frozen=True)
class Scene:
    size: tuple[int, int] = (120, 36)
    polls: int = 31  # t=31: one real server has just gone down (highlighted, in the event pane)
    theme: str | None = None
    readonly: bool = False
    press: tuple[str, ...] = ()
    events: bool = False
    after: float = 0.0  # seconds the clock moves after the last poll
    description: str = ""


SCENES: dict[str, Scene] = {
    "main": Scene(description="The main screen: services, the selected service's real servers, trends, "
                              "director panel"),
    "main-80x24": Scene(size=(80, 24), description="The smallest supported terminal"),
    "main-200x50": Scene(size=(200, 50), events=True, description="A wide terminal, with the event pane"),
    "readonly": Scene(readonly=True, description="--readonly: READ-ONLY in the header, no changing action"),
    "help": Scene(press=("question_mark",), description="? lists every key"),
    "filter": Scene(press=("slash", "d", "o", "w", "n"), description="/ filters by address, port or state"),
    "theme-dark": Scene(theme="dark", description="the dark theme (default)"),
    "theme-light": Scene(theme="light", description="the light theme"),
    "theme-high-contrast": Scene(theme="high-contrast",
                                 description="high contrast: states are words and symbols, never only colour"),
    "confirm-drain": Scene(
        press=("enter", "j", "x"),
        description="x drains the real server under the cursor: the confirmation names the service and "
                    "server, focus on No"),
    "confirm-drain-persistent": Scene(
        press=("j", "enter", "x"),
        description="draining in a persistent service: why the count may not fall"),
    "form-add-rs": Scene(
        size=(100, 32), press=("a", "1", "0", ".", "1", ".", "0", ".", "5", "0", ":", "8"),
        description="a adds a real server: a form validated as you type"),
}


def build_scene(scene: Scene, config_dir: Path) -> tuple[DashboardApp, Callable[[Any], Awaitable[None]]]:
    """The app for a scene and the coroutine (given a Pilot) that brings it to the scene's state."""
    clock = FrozenClock()
    source = DemoSource(seed=7, clock=clock)
    app = DashboardApp(source, readonly=scene.readonly, theme=scene.theme or "dark", clock=clock,
                       autopoll=False, config_dir=config_dir, config_file=config_dir / "config.toml")

    async def prepare(pilot: Any) -> None:
        await pilot.pause()  # under App.run() (screenshots) the screen's tables mount after "ready"
        for _ in range(scene.polls):
            clock.now += 1.0
            app.dashboard.ingest()
        clock.now += scene.after
        if scene.events:
            app.dashboard.action_toggle_events()
        await pilot.pause()
        for key in scene.press:
            await pilot.press(key)
            await app.workers.wait_for_complete()  # an operation's preview runs in a thread
            await pilot.pause()
        await pilot.pause()

    return app, prepare


#: the fleet screen (``lvstui fleet --demo``'s six simulated pairs, 30 s in: api's second director
#: unreachable, mail's stale, dns in split brain)
FLEET_SCENES: dict[str, Scene] = {
    "fleet": Scene(size=(120, 30), polls=30, press=("down",),
                   description="lvstui fleet: every pair on one screen, the cursor's pair in full under it"),
    "fleet-filter": Scene(size=(100, 24), polls=30, press=("exclamation_mark", "slash", "p", "enter"),
                          description="the fleet, problems first (!), filtered (/) by pair, director or VIP"),
}


def demo_fleet_app(clock: SettableClock, *, seconds: int = 30, readonly: bool = False, theme: str = "dark",
                   config_dir: Path | None = None, keymap: Mapping[str, str] | None = None) -> FleetApp:
    """The demo fleet's app (six simulated pairs), polled *seconds* times on the frozen *clock*, not
    polling by itself (autopoll off): what ``lvstui fleet --demo`` shows, deterministically."""
    spec = demo_fleet()
    poller = FleetPoller(spec, demo_readers(spec, clock=clock, threaded=False)).start()
    for _ in range(seconds):
        clock.now += 1.0
        for reader in poller.readers.values():
            reader.poll()  # type: ignore[attr-defined]  # DemoReader, unthreaded
    return FleetApp(poller, readonly=readonly, demo=True, clock=clock, autopoll=False, theme=theme,
                    config_dir=config_dir, keymap=keymap)


def build_fleet_scene(scene: Scene, config_dir: Path) -> tuple[FleetApp, Callable[[Any], Awaitable[None]]]:
    """The fleet app for a scene and the coroutine (given a Pilot) that brings it to the scene's state."""
    app = demo_fleet_app(FrozenClock(), seconds=scene.polls, readonly=scene.readonly, theme=scene.theme or "dark",
                         config_dir=config_dir)

    async def prepare(pilot: Any) -> None:
        await pilot.pause()
        for key in scene.press:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause()

    return app, prepare
