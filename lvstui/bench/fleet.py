"""Benchmark of the fleet screen: keypress-to-screen with 50 directors being read.

    .venv/bin/python -m lvstui.bench.fleet [--directors 50] [--seconds 12] [--silent 4]

The directors are the deterministic demo fleet's (:mod:`lvstui.fleet.demo`: each a thread of
its own producing the demo director's snapshot every second, as a reader's thread receives
its stream), in pairs; ``--silent`` of them are real :class:`~lvstui.peer.reader.PeerReader`
SSH readers aimed at a port on 127.0.0.1 that accepts connections and never says a word (no
SSH banner): their handshakes hang until the SSH timeout, holding their slots of
``--parallel``, while the screen runs.

Measured as :mod:`lvstui.bench_ui` measures the dashboard: headless 200x50, press ``j``/``k``
and time until the cursor's new row is painted, while the screen's thread recomputes the rows
every interval; plus the cost of one rows() (in that thread) and of showing them (UI thread
CPU).  Target: keypress-to-screen < 100 ms.  Figures only: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from lvstui.bench_ui import _ms, keypress_latencies
from lvstui.fleet.demo import demo_fleet, demo_readers
from lvstui.fleet.poller import FleetPoller, Reader, ssh_readers
from lvstui.fleet.spec import DirectorSpec, FleetSpec, PairSpec
from lvstui.setup.ssh import SshOptions


def bench_fleet(directors: int, ports: list[int], parallel: int, interval: float, tmp: Path) -> FleetPoller:
    """The fleet: the demo's pairs, the last ``len(ports)`` directors replaced by real SSH readers
    to those ports of 127.0.0.1, where nothing ever answers."""
    demo = demo_fleet(max(1, directors // 2))
    pairs = list(demo.pairs)
    lost = set()
    for n, port in enumerate(ports):
        p = len(pairs) - 1 - n // 2
        i = 1 - n % 2
        d = DirectorSpec("root@127.0.0.1", port=port)
        pairs[p] = PairSpec(pairs[p].name, tuple(d if j == i else x for j, x in enumerate(pairs[p].directors)))
        lost.add(d.key)
    spec = FleetSpec("bench (demo fleet)", tuple(pairs))
    simulated = demo_readers(spec, interval=interval)
    options = SshOptions(config_file=str(tmp / "no_ssh_config"), known_hosts=str(tmp / "known_hosts"),
                         allow_agent=False, timeout=5.0)
    real = ssh_readers(options, interval=interval, parallel=parallel)

    def make(d: DirectorSpec) -> Reader:
        return real(d) if d.key in lost else simulated(d)

    return FleetPoller(spec, make)


async def bench_keys(poller: FleetPoller, seconds: float, interval: float) -> None:
    from lvstui.ui.fleet import FleetApp

    app = FleetApp(poller, demo=True, interval=interval)
    rows_cost: list[float] = []
    show_cpu: list[float] = []
    rows = poller.rows

    def timed_rows():  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        out = rows()
        rows_cost.append(time.perf_counter() - started)
        return out

    poller.rows = timed_rows  # type: ignore[method-assign]
    async with app.run_test(size=(200, 50)) as pilot:
        screen = app.fleet
        show = screen.show_rows

        def timed_show(r):  # type: ignore[no-untyped-def]
            cpu0 = time.thread_time()
            show(r)
            show_cpu.append(time.thread_time() - cpu0)

        screen.show_rows = timed_show  # type: ignore[method-assign]
        while screen.refreshes < 2:
            await pilot.pause(0.1)
        latencies, lost = await keypress_latencies(app, screen.table, seconds)
        states = [d.status for r in screen.rows for d in r.directors]
        print(f"  {len(states)} directors ({states.count('read')} read, {states.count('stale')} stale, "
              f"{states.count('unread') + states.count('connecting')} not read), {screen.refreshes} refreshes")
        errors = {d.error for r in screen.rows for d in r.directors if "127.0.0.1" in d.host and d.error}
        for error in sorted(errors)[:2]:
            print(f"    a silent director's reader says: {error}")
        if lost:
            print(f"    {lost} keypresses never reached the screen within 5 s")
        print(f"    keypress to screen while polling (interval {interval:g} s): {_ms(latencies)}")
        print(f"    rows() of the whole fleet, in the screen's thread: {_ms(rows_cost)}")
        print(f"    showing them (UI thread CPU): {_ms(show_cpu)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lvstui.bench.fleet", description=__doc__.splitlines()[0])
    parser.add_argument("--directors", type=int, default=50, help="directors in the fleet (default 50)")
    parser.add_argument("--silent", type=int, default=4,
                        help="of them, real SSH readers to a local port that never answers (default 4)")
    parser.add_argument("--parallel", type=int, default=8, help="SSH connects at once (default 8)")
    parser.add_argument("--interval", type=float, default=1.0, help="snapshot interval (default 1)")
    parser.add_argument("--seconds", type=float, default=12.0, help="duration of the keypress test")
    args = parser.parse_args(argv)
    if args.directors < 2 or not 0 <= args.silent <= args.directors or args.seconds <= 0 or args.interval <= 0:
        print("bench.fleet: --directors >= 2, 0 <= --silent <= --directors, --seconds and --interval > 0",
              file=sys.stderr)
        return 2
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    import textual

    print(f"lvstui fleet benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"textual {textual.__version__}, headless 200x50")
    print(f"  demo fleet (simulated directors, a thread each) with {args.silent} real SSH readers to a port "
          f"that never answers, --parallel {args.parallel}")
    silent = [socket.socket() for _ in range(args.silent)]
    for s in silent:
        s.bind(("127.0.0.1", 0))
        s.listen(8)  # the kernel completes their TCP handshakes; nobody ever accepts or writes
    with tempfile.TemporaryDirectory() as tmp:
        ports = [s.getsockname()[1] for s in silent]
        poller = bench_fleet(args.directors, ports, args.parallel, args.interval, Path(tmp)).start()
        try:
            asyncio.run(bench_keys(poller, args.seconds, args.interval))
        finally:
            started = time.perf_counter()
            poller.close()
            print(f"    closing every reader took {time.perf_counter() - started:.2f} s")
            for s in silent:
                s.close()
    print("target: keypress-to-screen < 100 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
