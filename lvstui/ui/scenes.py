"""Reproducible views of the dashboard (demo source, frozen clock) for screenshots and snapshot tests.

``scripts/screenshots.py`` renders every scene to ``screenshots/NAME.svg``; the
snapshot tests compare the same scenes, so the README's pictures are exactly
what the tests pin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvstui.demo import DemoSource
from lvstui.ui.app import DashboardApp

__all__ = ["SCENES", "FrozenClock", "Scene", "build_scene"]


class FrozenClock:
    """Monotonic time that moves only when told (so ages and highlights are stable)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


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
