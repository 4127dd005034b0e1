"""Run inside a lab host: Pilot drives the setup wizard screens over real SSH; print what they showed.

Usage (in the guest): python guest_setup_tui.py MODE HOST VIP [PORT]

MODE
  refuse     ``lvstui setup``'s app, real-server wizard for HOST: answer the host-key prompt with No
  apply      the same, answer Yes, read the preview, press Apply and watch the progress to the end
  fail       as apply (a prompt, if any, is accepted): for a host where a step fails
  changed    preview only, for a host whose key known_hosts has and the server no longer offers
  dashboard  the dashboard (real IPVS kernel of this host), F2, real-server wizard, Yes, preview
  director   the director wizard: HOST the MASTER (no BACKUP), PORT's service on VIP to
             real server 192.168.1.21; Yes, preview, Apply

Prints one JSON document (see ``Watch.result``).  Nothing here decides whether the screens were
right: the pytest side (test_setup_tui_lab.py) compares what they showed with the live hosts.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import Button, Input, ProgressBar, Static

from lvstui.ui.setup_app import SetupApp
from lvstui.ui.setup_forms import DirectorFormScreen, RealServerFormScreen, SetupChooserScreen
from lvstui.ui.setup_run import HostKeyScreen, SetupRunScreen

SIZE = (130, 60)


def text(app: App[Any], selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


class Watch:
    """What the screens showed along the way."""

    def __init__(self) -> None:
        self.result: dict[str, Any] = {"screens": [], "statuses": [], "progress": []}
        self._seen: list[Screen[Any]] = []  # the screens recorded (kept, so that no id is reused)

    def screen(self, app: App[Any]) -> None:
        """Every screen pushed, in the order of the stack: sampled every 50 ms, a screen covered at
        once by the next (the run screen by the host-key question, when SSH answers fast) is
        still recorded before it."""
        for shown in app.screen_stack:
            if type(shown) is Screen or any(shown is s for s in self._seen):  # Textual's default screen
                continue
            self._seen.append(shown)
            self.result["screens"].append(type(shown).__name__)

    def status(self, app: App[Any]) -> None:
        if isinstance(app.screen, SetupRunScreen):
            shown = text(app, "#status")
            if not self.result["statuses"] or self.result["statuses"][-1] != shown:
                self.result["statuses"].append(shown)
            bar = app.screen.query_one(ProgressBar)
            if bar.display:
                point = [bar.progress, bar.total]
                if not self.result["progress"] or self.result["progress"][-1] != point:
                    self.result["progress"].append(point)


async def wait(pilot: Any, watch: Watch, done: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        watch.screen(pilot.app)
        watch.status(pilot.app)
        if done():
            return
        await pilot.pause(0.05)
    raise SystemExit(f"guest_setup_tui: timed out after {seconds:g} s waiting for {what}; "
                     f"screens {watch.result['screens']}, statuses {watch.result['statuses']}")


async def fill_realserver_form(pilot: Any, watch: Watch, host: str, vip: str, port: str) -> None:
    await wait(pilot, watch, lambda: isinstance(pilot.app.screen, SetupChooserScreen), 30, "the chooser")
    await pilot.press("r")
    await wait(pilot, watch, lambda: isinstance(pilot.app.screen, RealServerFormScreen), 30, "the form")
    form = pilot.app.screen
    form.query_one("#hosts", Input).value = host
    form.query_one("#vips", Input).value = vip
    form.query_one("#port", Input).value = port
    await pilot.pause()
    assert not form.query_one("#preview", Button).disabled, text(pilot.app, "#form-error")
    await pilot.press("f2")  # the form's Preview key


async def fill_director_form(pilot: Any, watch: Watch, host: str, vip: str, port: str) -> None:
    await wait(pilot, watch, lambda: isinstance(pilot.app.screen, SetupChooserScreen), 30, "the chooser")
    await pilot.press("d")
    await wait(pilot, watch, lambda: isinstance(pilot.app.screen, DirectorFormScreen), 30, "the form")
    form = pilot.app.screen
    for field, value in {"vip": vip, "port": port, "reals": "192.168.1.21", "auth": "lab-pass",
                         "master": host}.items():
        form.query_one(f"#{field}", Input).value = value
    await pilot.pause()
    assert not form.query_one("#preview", Button).disabled, text(pilot.app, "#form-error")
    await pilot.press("f2")


async def ssh_sessions() -> int:
    """Established TCP connections from here to port 22, as the kernel lists them."""
    ss = await asyncio.create_subprocess_exec("ss", "-Htn", "state", "established", "( dport = :22 )",
                                              stdout=asyncio.subprocess.PIPE)
    listing, _ = await ss.communicate()
    return len(listing.splitlines())


def run_screen(app: App[Any]) -> SetupRunScreen | None:
    return next((s for s in reversed(app.screen_stack) if isinstance(s, SetupRunScreen)), None)


def connected_or_failed(app: App[Any]) -> bool:
    """The host-key question is up, or the run screen has left "connecting"."""
    run = run_screen(app)
    return isinstance(app.screen, HostKeyScreen) or (run is not None and run.phase != "connecting")


async def drive(pilot: Any, watch: Watch, mode: str, host: str, vip: str, port: str) -> None:
    app, out = pilot.app, watch.result
    fill = fill_director_form if mode == "director" else fill_realserver_form
    await fill(pilot, watch, host, vip, port)
    await wait(pilot, watch, lambda: connected_or_failed(app), 120, "the host-key question or the preview")
    if isinstance(app.screen, HostKeyScreen):
        await wait(pilot, watch, lambda: app.focused is not None, 30, "the host-key question's focus")
        out["hostkey"] = {"fingerprint": text(app, "#fingerprint"), "focused": app.focused.id if app.focused else None,
                          "text": " ".join(str(w.render()) for w in app.screen.query(Static))}
        await pilot.press("n" if mode == "refuse" else "y")
    run = run_screen(app)
    assert run is not None
    await wait(pilot, watch, lambda: run.phase != "connecting" and app.screen is run, 120, "the preview")
    out["phase_after_connect"] = run.phase
    out["status_after_connect"] = text(app, "#status")
    out["apply_disabled"] = run.query_one("#apply", Button).disabled
    out["preview"] = text(app, "#plan-text")
    if mode == "dashboard":  # Close: back on the form, the SSH connection hung up
        out["ssh_before_close"] = await ssh_sessions()
        await pilot.press("escape")
        await wait(pilot, watch, lambda: isinstance(app.screen, RealServerFormScreen), 30, "the form again")
        deadline = time.monotonic() + 20
        while (count := await ssh_sessions()) and time.monotonic() < deadline:
            await pilot.pause(0.2)
        out["ssh_after_close"] = count
    if mode in ("refuse", "changed", "dashboard") or run.phase != "preview":
        return
    await pilot.press("a")
    await wait(pilot, watch, lambda: run.phase in ("done", "failed"), 300, "the apply to end")
    await pilot.pause(0.2)
    watch.status(app)
    out["phase"] = run.phase
    out["status"] = text(app, "#status")
    out["output"] = text(app, "#plan-text")


async def main(mode: str, host: str, vip: str, port: str) -> dict[str, Any]:
    watch = Watch()
    app: App[Any]
    source = None
    if mode == "dashboard":
        from lvstui.backend.ipvs import KernelSource
        from lvstui.ui.app import DashboardApp

        tmp = Path(tempfile.mkdtemp())
        source = KernelSource()
        app = DashboardApp(source, interval=1.0, config_dir=tmp, config_file=tmp / "c.toml")
    else:
        app = SetupApp()  # what `lvstui setup` runs, with its real SSH connector
    async with app.run_test(size=SIZE) as pilot:
        if mode == "dashboard":
            await wait(pilot, watch, lambda: app.dashboard.frames_applied >= 1, 60, "the dashboard")  # type: ignore[attr-defined]
            watch.screen(app)
            await pilot.press("f2")
        await drive(pilot, watch, mode, host, vip, port)
    if source is not None:
        source.close()
    return watch.result


if __name__ == "__main__":
    mode, host, vip = sys.argv[1:4]
    print(json.dumps(asyncio.run(main(mode, host, vip, sys.argv[4] if len(sys.argv) > 4 else ""))))
