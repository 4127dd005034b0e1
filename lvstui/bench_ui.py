"""Benchmark of the dashboard at kube-proxy scale (issue 8's UI targets), with the demo source.

    .venv/bin/python -m lvstui.bench_ui [--rows 50000] [--seconds 12]

Prints, for 50,000 real servers laid out as 1 service x 50,000 and as
10,000 services x 5:

* main-thread CPU time to apply a changed snapshot and paint the screen
  (``time.thread_time`` of the UI thread around ``apply_frame`` and the
  refresh; the poll, rates, change detection, filtering and sorting happen in
  the poller thread beforehand and are reported separately);
* keypress-to-screen latency (press ``j``/``k`` and wait until the screen is
  idle) while the real poller thread polls every second;
* the poller's own cost per poll, and whether it had to stretch the interval.

Headless (no terminal), 200x50.  Targets: apply < 50 ms, keypress < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lvstui.demo import DemoSource

# textual is imported inside the functions: the CLI help of this module stays light


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def _ms(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1000:6.1f} ms  p95 {_percentile(values, 0.95) * 1000:6.1f} ms"
            f"  max {max(values) * 1000:6.1f} ms  (n={len(values)})")


async def bench_apply(services: int, per_service: int, repeats: int, config: Path) -> None:
    from lvstui.ui.app import DashboardApp

    clock_now = [1000.0]
    source = DemoSource.scaled(services, per_service, clock=lambda: clock_now[0])
    app = DashboardApp(source, clock=lambda: clock_now[0], autopoll=False, config_dir=config,
                       config_file=config / "config.toml")
    async with app.run_test(size=(200, 50)) as pilot:
        poll_costs: list[float] = []
        first = app.dashboard.poller.poll_once()
        app.dashboard.apply_frame(first)
        await pilot.pause()
        # a rate-sorted view is the expensive one to rebuild; make the poller build it
        app.dashboard.sort_table(app.dashboard.services, "cps", reverse=True)
        app.dashboard.sort_table(app.dashboard.real_servers, "cps", reverse=True)
        await pilot.pause()
        applies: list[float] = []
        for _ in range(repeats):
            clock_now[0] += 1.0
            result: dict[str, object] = {}

            def poll(result: dict[str, object] = result) -> None:  # joined below, in this iteration
                started = time.perf_counter()
                result["frame"] = app.dashboard.poller.poll_once()
                result["took"] = time.perf_counter() - started

            worker = threading.Thread(target=poll)  # off the UI thread, as the app's poller does
            worker.start()
            worker.join()
            poll_costs.append(float(result["took"]))  # type: ignore[arg-type]
            frame = result["frame"]
            cpu0 = time.thread_time()
            app.dashboard.apply_frame(frame)  # type: ignore[arg-type]
            await pilot.pause()  # let the screen repaint
            applies.append(time.thread_time() - cpu0)
        table = app.dashboard.real_servers if per_service > services else app.dashboard.services
        sort_cpu: list[float] = []
        sort_wall: list[float] = []
        for column in ("id", "active", "cps", "state" if per_service > services else "up"):
            started, cpu0 = time.perf_counter(), time.thread_time()
            app.dashboard.sort_table(table, column, reverse=False)  # what the s key and a header click do
            await pilot.pause()
            sort_cpu.append(time.thread_time() - cpu0)
            await app.workers.wait_for_complete()
            await pilot.pause()
            sort_wall.append(time.perf_counter() - started)
        rows = services * per_service
        shown = len(app.dashboard.real_servers.keys) if per_service > services else len(app.dashboard.services.keys)
        print(f"  {services} services x {per_service} real servers ({rows} rows, largest table {shown} rows)")
        print(f"    apply changed snapshot, main thread CPU: {_ms(applies)}")
        print(f"    poll + rates + events + sort in the poller thread: {_ms(poll_costs)}")
        print(f"    sort key, main thread CPU: {_ms(sort_cpu)}")
        print(f"    sort key until re-sorted rows are on screen (sorted in a thread): {_ms(sort_wall)}")


async def keypress_latencies(app: Any, table: Any, seconds: float) -> tuple[list[float], int]:
    """Press ``j``/``k`` on *app* for *seconds*, as the terminal driver posts keys, and time each
    one until *table* paints its cursor's new row; (latencies, keypresses never painted in 5 s)."""
    from textual import events

    painted: dict[str, float] = {}
    render_line = table.render_line

    def spy(y: int):  # type: ignore[no-untyped-def]
        strip = render_line(y)
        if y == table.cursor_index - round(table.scroll_y) + 1 and "t" not in painted:
            painted["t"] = time.perf_counter()
        return strip

    table.render_line = spy
    latencies: list[float] = []
    lost = 0
    deadline = time.monotonic() + seconds
    key = "j"
    while time.monotonic() < deadline:
        painted.clear()
        started = time.perf_counter()
        app.post_message(events.Key(key, key))  # as the terminal driver does
        while "t" not in painted and time.perf_counter() - started < 5.0:  # noqa: ASYNC110 - the benchmark polls on purpose: it measures paint latency
            await asyncio.sleep(0.001)
        if "t" in painted:
            latencies.append(painted["t"] - started)
        else:
            lost += 1
        key = "k" if key == "j" else "j"
        await asyncio.sleep(0.137)  # not in step with the poller
    table.render_line = render_line
    return latencies, lost


async def bench_keys(services: int, per_service: int, seconds: float, config: Path) -> None:
    from lvstui.ui.app import DashboardApp

    source = DemoSource.scaled(services, per_service)
    app = DashboardApp(source, autopoll=True, interval=1.0, config_dir=config, config_file=config / "config.toml")
    async with app.run_test(size=(200, 50)) as pilot:
        while app.dashboard.frames_applied < 1:
            await pilot.pause(0.1)
        if per_service > services:
            app.dashboard.real_servers.focus()
        table = app.dashboard.real_servers if per_service > services else app.dashboard.services
        latencies, lost = await keypress_latencies(app, table, seconds)
        if lost:
            print(f"    {lost} keypresses never reached the screen within 5 s")
        frame = app.dashboard.frame
        print(f"    keypress to screen while polling (interval 1 s, {app.dashboard.frames_applied} frames applied): "
              f"{_ms(latencies)}")
        if frame is not None:
            print(f"    last poll took {frame.poll_seconds:.2f} s; interval in force {frame.interval:.2f} s"
                  f"{' (stretched, and the header says so)' if frame.stretched else ''}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lvstui.bench_ui", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="real servers in total (default 50000)")
    parser.add_argument("--repeats", type=int, default=8, help="changed snapshots applied per layout")
    parser.add_argument("--seconds", type=float, default=12.0, help="duration of the keypress test")
    args = parser.parse_args(argv)
    if args.rows < 10 or args.repeats < 1 or args.seconds <= 0:
        print("bench_ui: --rows >= 10, --repeats >= 1 and --seconds > 0 please", file=sys.stderr)
        return 2
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    import textual

    print(f"lvstui UI benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"textual {textual.__version__}, headless 200x50")
    layouts = [(1, args.rows), (args.rows // 5, 5)]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp)
        for services, per_service in layouts:
            asyncio.run(bench_apply(services, per_service, args.repeats, config))
            asyncio.run(bench_keys(services, per_service, args.seconds, config))
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process (all runs, demo source included): {peak:.0f} MB")
    print("targets: apply < 50 ms of main-thread time; keypress-to-screen < 100 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
