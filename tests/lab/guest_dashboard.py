"""Run inside a lab director: the dashboard, headless, on the real kernel; print what its tables show.

Usage (in the guest): python guest_dashboard.py SERVICE_ID [SECONDS]
Prints one JSON document: the services table's rows, the real-server table's rows
for SERVICE_ID, the header, the numbers behind them, the detail view (Enter) and connection list (c) of its
busiest real server, then that server's drain line once ipvsadm (not the dashboard) has drained it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path


async def main(service_id: str, seconds: float) -> dict[str, object]:
    from lvstui.backend.host import HostReader
    from lvstui.backend.ipvs import KernelSource
    from lvstui.ui.app import DashboardApp
    from lvstui.ui.conns_screen import ConnListScreen
    from lvstui.ui.detail import RsDetailScreen

    tmp = Path(tempfile.mkdtemp())
    source = KernelSource()
    app = DashboardApp(source, interval=0.5, readonly=True, config_dir=tmp, config_file=tmp / "c.toml",
                       host_reader=HostReader())
    async with app.run_test(size=(160, 45)) as pilot:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and app.dashboard.frames_applied < 3:
            await pilot.pause(0.2)
        await pilot.pause(0.6)  # one more poll: the kernel folds per-CPU counters every 2 s
        assert app.dashboard.services.move_to_key(service_id) or app.dashboard.services.cursor_key == service_id, app.dashboard.services.keys
        await pilot.pause()
        services = {key: app.dashboard.services.row_text(key) for key in app.dashboard.services.keys}
        servers = {key: app.dashboard.real_servers.row_text(key) for key in app.dashboard.real_servers.keys}
        columns = [c.key for c, _ in app.dashboard.real_servers.visible_columns()]
        svc_columns = [c.key for c, _ in app.dashboard.services.visible_columns()]
        header = str(app.query_one("#header").render())
        snapshot = app.dashboard.frame.snapshot if app.dashboard.frame else None
        vs = snapshot.service(service_id) if snapshot else None
        result = {
            "frames": app.dashboard.frames_applied,
            "error": app.dashboard.error,
            "header": header,
            "services": services,
            "servers": servers,
            "rs_columns": columns,
            "svc_columns": svc_columns,
            "model_active": {rs.id: rs.active_conns for rs in vs.real_servers} if vs else {},
            "model_conns": {rs.id: rs.stats.conns for rs in vs.real_servers} if vs else {},
            "director_panel": str(app.query_one("#director").render()),
        }
        # Enter on the busiest real server: its detail, with the connection table counted by state
        busiest = max(vs.real_servers, key=lambda rs: rs.active_conns) if vs and vs.real_servers else None
        text = ""
        if busiest is not None:
            app.dashboard.real_servers.focus()
            app.dashboard.real_servers.move_to_key(busiest.id)
            await pilot.pause()
            await pilot.press("enter")
            for _ in range(100):  # the table is read in a thread
                await pilot.pause(0.1)
                if isinstance(app.screen, RsDetailScreen):
                    text = str(app.screen.query_one("#detail-text").render())
                    if "ip_vs_conn" in text or "cannot read" in text:
                        break
        result["detail_rs"] = busiest.id if busiest else ""
        result["detail"] = text
        # c on the same server: its connection list, read in a thread
        conns = ""
        if busiest is not None:
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("c")
            for _ in range(100):
                await pilot.pause(0.1)
                if isinstance(app.screen, ConnListScreen):
                    conns = str(app.screen.query_one("#conns-text").render())
                    if "ip_vs_conn" in conns or "cannot read" in conns:
                        break
        result["conns"] = conns
        # drained by hand (ipvsadm -w 0, as another operator would): the dashboard's drain line,
        # by the connection table (read in a thread) as for a drain started from it
        note = ""
        if busiest is not None and vs is not None:
            await pilot.press("escape")
            await pilot.pause()
            ipvsadm = await asyncio.create_subprocess_exec(
                "ipvsadm", "-e", "-t", f"{vs.address}:{vs.port}", "-r", f"{busiest.address}:{busiest.port}",
                "-g", "-w", "0")
            assert await ipvsadm.wait() == 0, "ipvsadm -e failed"
            for _ in range(100):
                await pilot.pause(0.1)
                note = str(app.query_one("#drain-note").render())
                if "carrying traffic" in note or "cannot read" in note:
                    break
        result["drain_note"] = note
    source.close()
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 20.0))))
