"""The exporter at scale: scrape time and RSS beside one ``ipvsadm -Ln --stats --exact``.

    .venv/bin/python -m lvstui.bench.exporter --lab            # 1,000 x 10 and 10,000 x 5 in the lab
    .venv/bin/python -m lvstui.bench.exporter --lab --quick    # 1,000 x 10 only

In the lab guest (``--guest S N``, what ``--lab`` runs there): the table is built with
``ipvsadm -R`` (lvstui.bench.guest.build_table), ``lvstui exporter`` is started as on a
director, and after its first poll it is scraped over HTTP from the same host with curl
(the whole body, to /dev/null); ipvsadm is timed on the same table.  Also: the exporter's RSS
after the scrapes (VmRSS, and its peak VmHWM), its CPU per scrape, and in this process one
poll and one rendering of the text.  Target (issue 16): a scrape under the ipvsadm call.
Figures only, no assertions; UML inflates system calls, so compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

PORT = 10599


def _wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def _proc(pid: int) -> dict[str, float]:
    status = {k: v for k, _, v in (line.partition(":") for line in Path(f"/proc/{pid}/status").read_text().splitlines())}
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {"rss_mib": int(status["VmRSS"].split()[0]) / 1024, "hwm_mib": int(status["VmHWM"].split()[0]) / 1024,
            "cpu": (int(fields[11]) + int(fields[12])) / ticks}


def guest(services: int, servers: int, rounds: int) -> dict[str, Any]:
    from lvstui.bench.guest import build_table
    from lvstui.exporter.poll import PollLoop
    from lvstui.exporter.render import render
    from lvstui.exporter.source import director_source

    build = build_table(services, servers)
    ipvsadm = [_wall(["ipvsadm", "-Ln", "--stats", "--exact"]) for _ in range(rounds)]
    url = f"http://127.0.0.1:{PORT}/metrics"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "lvstui", "exporter", "--listen", f"127.0.0.1:{PORT}",
                             "--poll-interval", "3600"], env=env, stderr=subprocess.DEVNULL)
    try:
        started = time.perf_counter()
        while True:
            try:
                with urllib.request.urlopen(url.replace("/metrics", "/"), timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - started > 600:
                    raise SystemExit("the exporter did not start") from None
                time.sleep(0.5)
        first_ready = time.perf_counter() - started
        scrape, size = [], 0
        cpu0 = _proc(proc.pid)["cpu"]
        for _ in range(rounds):
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_total} %{size_download}", url],
                                 capture_output=True, text=True, check=True).stdout.split()
            scrape.append(float(out[0]))
            size = int(out[1])
        after = _proc(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    source = director_source()
    loop = PollLoop(source)
    c0, w0 = time.process_time(), time.perf_counter()
    state = loop.poll_once()
    poll_cpu, poll_wall = time.process_time() - c0, time.perf_counter() - w0
    c0, w0 = time.process_time(), time.perf_counter()
    text = render(state)
    render_cpu, render_wall = time.process_time() - c0, time.perf_counter() - w0
    loop.stop()
    subprocess.run(["ipvsadm", "-C"], check=True)
    return {"services": services, "per_service": servers, "rounds": rounds, "build_s": build,
            "ipvsadm_wall": ipvsadm, "scrape_wall": scrape, "scrape_bytes": size, "first_ready_s": first_ready,
            "scrape_cpu": (after["cpu"] - cpu0) / rounds, "rss_mib": after["rss_mib"], "hwm_mib": after["hwm_mib"],
            "poll_cpu": poll_cpu, "poll_wall": poll_wall, "render_cpu": render_cpu, "render_wall": render_wall,
            "render_bytes": len(text), "poll_error": state.error}


def report(d: dict[str, Any]) -> list[str]:
    ipv, scr = statistics.median(d["ipvsadm_wall"]), statistics.median(d["scrape_wall"])
    return [
        f"table: {d['services']} services x {d['per_service']} real servers (ipvsadm -R {d['build_s']:.1f} s)",
        f"  ipvsadm -Ln --stats --exact        wall {ipv:.3f} s (median of {d['rounds']})",
        (f"  scrape over HTTP (curl, whole body) wall {scr:.3f} s (median; max {max(d['scrape_wall']):.3f} s), "
        f"{d['scrape_bytes'] / 1e6:.1f} MB; ratio to ipvsadm {scr / ipv:.2f} "
        f"({'under' if scr < ipv else 'OVER'} the target)"),
        (f"  exporter CPU per scrape {d['scrape_cpu']:.3f} s; RSS {d['rss_mib']:.0f} MiB (peak {d['hwm_mib']:.0f} MiB); "
        f"started and first poll served after {d['first_ready_s']:.1f} s"),
        f"  per poll (poll thread, not per scrape): read {d['poll_wall']:.3f} s wall / {d['poll_cpu']:.3f} s cpu, "
        f"render {d['render_wall']:.3f} s wall / {d['render_cpu']:.3f} s cpu"
        + (f"; poll error: {d['poll_error']}" if d["poll_error"] else ""),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lvstui.bench.exporter", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", action="store_true", help="run in the lab (User-Mode Linux)")
    parser.add_argument("--quick", action="store_true", help="only the 1,000 x 10 table")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--guest", nargs=2, type=int, metavar=("SERVICES", "PER_SERVICE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.guest:
        print(json.dumps(guest(args.guest[0], args.guest[1], args.rounds)))
        return 0
    if not args.lab:
        parser.error("--lab is required (the benchmark needs the real kernel of the lab)")
    from lvstui.lab import Lab, LabSpec, require_uml

    require_uml()
    print(f"lvstui exporter benchmark, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {platform.node()}, "
          f"host kernel {platform.release()}, guest: User-Mode Linux")
    cases = [(1000, 10)] if args.quick else [(1000, 10), (10000, 5)]
    with tempfile.TemporaryDirectory() as work, Lab(LabSpec(mem="2048M"), workdir=Path(work)) as lab:
        for services, servers in cases:
            r = lab.run(None, [lab.venv_python, "-m", "lvstui.bench.exporter", "--guest", str(services), str(servers),
                               "--rounds", str(args.rounds)],
                        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])}, timeout=1800)
            r.check()
            for line in report(json.loads(r.stdout.splitlines()[-1])):
                print(line, flush=True)
    print("target: a scrape under the time of one ipvsadm -Ln --stats --exact on the same table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
