"""Run inside the lab guest (root namespace): the dashboard's operations from the keyboard, on the kernel.

The dashboard is built exactly as ``lvstui`` builds it (commands.dashboard.choose_source and
choose_director: the composed source, and a kernel client of its own for writes); keys are
pressed with Pilot; ``ipvsadm -S -n`` is saved before and after every operation.  Prints one
JSON document: {step: [save before, save after, notification]}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
from pathlib import Path

VIP = "10.200.0.1"


def save() -> list[str]:
    out = subprocess.run(["ipvsadm", "-S", "-n"], capture_output=True, text=True, check=True).stdout
    return sorted(line for line in out.splitlines() if line.strip())


def build() -> None:
    lines = [f"-A -t {VIP}:80 -s wlc", f"-A -t {VIP}:443 -s rr -p 300"]
    for i in (11, 12, 13):
        lines.append(f"-a -t {VIP}:80 -r 10.200.1.{i}:80 -g -w 10")
        lines.append(f"-a -t {VIP}:443 -r 10.200.1.{i}:443 -g -w 10")
    subprocess.run(["ipvsadm", "-C"], check=True)
    subprocess.run(["ipvsadm", "-R"], input="\n".join(lines) + "\n", text=True, check=True)


async def main() -> dict[str, object]:
    from lvstui.commands.dashboard import choose_director, choose_source
    from lvstui.ui.app import DashboardApp
    from lvstui.ui.confirm import ConfirmScreen

    tmp = Path(tempfile.mkdtemp())
    os.environ["LVSTUI_STATE_DIR"] = str(tmp / "state")
    build()
    args = argparse.Namespace(demo=False, readonly=False, interval=1.0, theme=None, command=None)
    source, host = choose_source(args)
    director = choose_director(args, source)
    app = DashboardApp(source, autopoll=False, config_dir=tmp, config_file=tmp / "c.toml", host_reader=host,
                       director=director)
    steps: dict[str, object] = {"source": type(source).__name__, "director": type(director).__name__}

    async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()

    async with app.run_test(size=(160, 45)) as pilot:
        app.dashboard.ingest()
        await pilot.pause()

        async def step(name: str, *keys: str, form: dict[str, str] | None = None) -> None:
            before = save()
            for key in keys:
                await pilot.press(key)
                await settle(pilot)
                if form and not isinstance(app.screen, ConfirmScreen) and app.screen is not app.dashboard:
                    from textual.widgets import Input

                    for field, value in form.items():
                        app.screen.query_one(f"#{field}", Input).value = value
                    await pilot.pause()
            confirm = isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await settle(pilot)
            result = app.dashboard.ops.last_result
            steps[name] = {"before": before, "after": save(), "confirmed": confirm,
                           "ok": bool(result and result.ok), "message": result.message if result else None}

        assert app.dashboard.services.move_to_key(f"tcp:{VIP}:80")
        await pilot.press("enter")
        assert app.dashboard.real_servers.move_to_key("10.200.1.12:80")
        await pilot.pause()
        await step("drain", "x")
        await step("restore", "u")
        await step("weight_up", "plus")
        assert app.dashboard.real_servers.move_to_key("10.200.1.13:80")
        await step("set_weight", "w", "enter", form={"weight": "7"})
        await step("drain_host", "X")
        assert app.dashboard.real_servers.move_to_key("10.200.1.11:80")
        await pilot.press("space", "space")  # tag .11 and .12 (.13 is drained by the host drain)
        await step("tagged_drain", "x")
        await step("add_rs", "a", "enter", form={"server": "10.200.1.20:80", "weight": "3"})
    for owned in (source, director):
        owned.close()
    return steps


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
