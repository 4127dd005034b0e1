"""Keypress-to-kernel latency of a drain from the dashboard, on a table of 1,000 services.

    .venv/bin/python -m lvstui.bench.keypress_kernel [--services 1000] [--per-service 5] [--reps 20]
    .venv/bin/python -m lvstui.bench.keypress_kernel --lab     # the same against the real kernel, in UML

Two measurements, each with the same instrumented director (timestamps taken inside it):

* **from the keyboard**: the headless dashboard (Pilot, 200x50) on the real-server row;
  ``x`` (the preview runs ``Operations.plan`` in a thread and opens the confirmation), then
  ``y``: time from the ``y`` key press to ``Operations.apply`` being called, and to the
  director's write (``edit_dest``) starting and returning; plus ``x`` to confirmation shown;
* **the operations path alone**: ``Operations.apply(Drain)`` called directly, with its parts
  (the director reads: re-plan and read-back; the write; the rest: journal with fsync, the
  remembered weight file).

Outside the lab the director is the demo's in-memory one (no syscalls for the write; its
reads build 1,000 services in Python).  With ``--lab`` the guest builds the table with
``ipvsadm -R`` and the director is lvstui's netlink client; User-Mode Linux makes syscalls
slow, so those figures are upper bounds.  No timed assertions: figures only.
keepalived is left out (``keepalived=None``): its durable path adds a reload on purpose.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lvstui.backend.ipvs import IpvsClient
from lvstui.bench.guest import build_table
from lvstui.demo import DemoSource
from lvstui.lab import Lab, LabSpec, require_uml
from lvstui.ops.changes import Drain, Restore
from lvstui.ops.engine import Operations
from lvstui.ops.targets import parse_server_id, parse_service_id
from lvstui.ui.app import DashboardApp
from lvstui.ui.confirm import ConfirmScreen


class TimedDirector:
    """Delegates to a real director; records when and how long reads and writes take."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", "kernel")
        self.reads: list[float] = []
        self.write_started: list[float] = []
        self.write_done: list[float] = []
        if hasattr(inner, "read_services"):
            self.read_services = self._timed_read_services

    def read(self) -> Any:
        t = time.perf_counter()
        snap = self.inner.read()
        self.reads.append(time.perf_counter() - t)
        return snap

    def _timed_read_services(self, keys: Any) -> Any:
        """Timed like read(); offered only where the real director has it (the kernel client)."""
        t = time.perf_counter()
        snap = self.inner.read_services(keys)
        self.reads.append(time.perf_counter() - t)
        return snap

    def edit_dest(self, vs: Any, rs: Any) -> None:
        self.write_started.append(time.perf_counter())
        self.inner.edit_dest(vs, rs)
        self.write_done.append(time.perf_counter())

    def __getattr__(self, name: str) -> Any:
        if name == "read_services":  # only the explicit, timed one above
            raise AttributeError(name)
        return getattr(self.inner, name)


class TimedOperations(Operations):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.apply_called: list[float] = []

    def apply(self, *args: Any, **kwargs: Any) -> Any:
        self.apply_called.append(time.perf_counter())
        return super().apply(*args, **kwargs)


def _ops(director: TimedDirector) -> TimedOperations:
    return TimedOperations(director, actor="bench", keepalived=None, eqt=lambda: None, settle_seconds=0.0)


async def from_keyboard(source: Any, director: TimedDirector, reps: int,
                        config: Path) -> dict[str, list[float]]:
    ops = _ops(director)
    app = DashboardApp(source, autopoll=False, operations=ops, config_dir=config,
                       config_file=config / "c.toml", tune_gc=True)
    out: dict[str, list[float]] = {"x_to_confirm": [], "y_to_apply": [], "y_to_write": [], "y_to_written": [],
                                   "write": []}
    async with app.run_test(size=(200, 50)) as pilot:
        app.dashboard.ingest()
        await pilot.pause()
        await pilot.press("enter")  # the first service's real servers
        rs_id = app.dashboard.real_servers.cursor_key
        for _ in range(reps):
            for key, drain in (("x", True), ("u", False)):
                assert app.dashboard.real_servers.move_to_key(rs_id or "")
                t_key = time.perf_counter()
                await pilot.press(key)
                while not isinstance(app.screen, ConfirmScreen):
                    await app.workers.wait_for_complete()
                    await pilot.pause()
                shown = time.perf_counter()
                writes = len(director.write_started)
                t_yes = time.perf_counter()
                await pilot.press("y")
                while len(director.write_done) == writes or isinstance(app.screen, ConfirmScreen):
                    await app.workers.wait_for_complete()
                    await pilot.pause()
                if drain:
                    out["x_to_confirm"].append(shown - t_key)
                    out["y_to_apply"].append(ops.apply_called[-1] - t_yes)
                    out["y_to_write"].append(director.write_started[-1] - t_yes)
                    out["y_to_written"].append(director.write_done[-1] - t_yes)
                    out["write"].append(director.write_done[-1] - director.write_started[-1])
                if app.dashboard.ops.last_result is None or not app.dashboard.ops.last_result.ok:
                    raise RuntimeError(f"the operation failed: {app.dashboard.ops.last_result}")
    return out


def ops_path(director: TimedDirector, reps: int) -> dict[str, list[float]]:
    ops = _ops(director)
    snap = director.read()
    vs = snap.virtual_services[0]
    service = parse_service_id(vs.id)
    server = parse_server_id(vs.real_servers[0].id)
    out: dict[str, list[float]] = {"apply": [], "reads": [], "write": [], "rest": []}
    for _ in range(reps):
        for change in (Drain(service, server), Restore(service, server)):
            reads_before = len(director.reads)
            t = time.perf_counter()
            ops.apply(change)
            total = time.perf_counter() - t
            reads = sum(director.reads[reads_before:])
            write = director.write_done[-1] - director.write_started[-1]
            if isinstance(change, Drain):
                out["apply"].append(total)
                out["reads"].append(reads)
                out["write"].append(write)
                out["rest"].append(total - reads - write)
    return out


def _fmt(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(int(0.95 * len(ordered)), len(ordered) - 1)]
    return f"median {statistics.median(values) * 1000:8.2f} ms   p95 {p95 * 1000:8.2f} ms   (n={len(values)})"


def report(title: str, keyboard: dict[str, list[float]], path: dict[str, list[float]]) -> list[str]:
    return [
        title,
        "  from the keyboard (Pilot, headless):",
        f"    x -> confirmation shown (preview in a thread)   {_fmt(keyboard['x_to_confirm'])}",
        f"    y -> Operations.apply called                    {_fmt(keyboard['y_to_apply'])}",
        f"    y -> director write starts                      {_fmt(keyboard['y_to_write'])}",
        f"    y -> director write returned                    {_fmt(keyboard['y_to_written'])}",
        f"    the write itself                                {_fmt(keyboard['write'])}",
        "  Operations.apply(Drain) alone:",
        f"    whole call                                      {_fmt(path['apply'])}",
        f"    director reads (re-plan + read-back)            {_fmt(path['reads'])}",
        f"    director write                                  {_fmt(path['write'])}",
        f"    the rest (journal fsync, weight memory, checks) {_fmt(path['rest'])}",
    ]


Figures = dict[str, list[float]]


def run(director_factory: Any, source: Any, reps: int) -> tuple[Figures, Figures]:
    with tempfile.TemporaryDirectory() as state:
        os.environ["LVSTUI_STATE_DIR"] = state  # never the machine's journal
        keyboard = asyncio.run(from_keyboard(source, TimedDirector(director_factory()), reps, Path(state)))
        path = ops_path(TimedDirector(director_factory()), reps)
    return keyboard, path


def demo_main(services: int, per_service: int, reps: int) -> list[str]:
    now = [1000.0]
    demo = DemoSource.scaled(services, per_service, clock=lambda: now[0])
    keyboard, path = run(lambda: demo, demo, reps)
    return report(f"demo director (in memory), {services} services x {per_service} real servers, "
                  f"{platform.node()}, Python {platform.python_version()}", keyboard, path)


def guest_main(services: int, per_service: int, reps: int) -> int:
    """Inside the lab guest: build the table, measure against the kernel, print JSON."""
    build_table(services, per_service)
    source = IpvsClient()
    keyboard, path = run(IpvsClient, source, reps)
    print(json.dumps({"keyboard": keyboard, "path": path}))
    return 0


def lab_main(services: int, per_service: int, reps: int) -> list[str]:
    require_uml()
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as work, Lab(LabSpec(mem="1024M"), workdir=Path(work)) as lab:
        argv = [lab.venv_python, "-m", "lvstui.bench.keypress_kernel", "--guest", "--services", str(services),
                "--per-service", str(per_service), "--reps", str(reps)]
        r = lab.run(None, argv,
                    env={"PYTHONPATH": str(root), "LVSTUI_STATE_DIR": str(Path(work) / "state"),
                         "TEXTUAL_ANIMATIONS": "none"}, timeout=1800)
        r.check()
        data = json.loads(r.stdout.strip().splitlines()[-1])
    return report(f"real kernel in the User-Mode Linux lab guest (slow syscalls), {services} services x "
                  f"{per_service} real servers (ipvsadm -R)", data["keyboard"], data["path"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lvstui.bench.keypress_kernel", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--per-service", type=int, default=5)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--lab", action="store_true", help="measure against the real kernel in the UML lab")
    parser.add_argument("--guest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.guest:
        return guest_main(args.services, args.per_service, args.reps)
    lines = (lab_main if args.lab else demo_main)(args.services, args.per_service, args.reps)
    for line in lines:
        print(line, flush=True)
    print("target (issue 4): keypress to kernel under 20 ms outside the lab's syscall overhead")
    return 0


if __name__ == "__main__":
    sys.exit(main())
