"""Runs inside the lab guest: builds an IPVS table and times lvstui's reader against ipvsadm.

Prints one JSON object.  CPU times are user+system seconds; ipvsadm's are its
whole process (it is a small C program), lvstui's are one poll inside a
running process (what the dashboard pays every interval), and separately the
whole `lvstui snapshot --json` process (start-up included).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time


def build_table(services: int, servers: int) -> float:
    lines = []
    for i in range(services):
        vip = f"10.{100 + i // 65000}.{(i // 250) % 250}.{i % 250 + 1}"
        port = 80 + (i // 62500)
        lines.append(f"-A -t {vip}:{port} -s wlc")
        for j in range(servers):
            lines.append(f"-a -t {vip}:{port} -r 172.16.{j}.{i % 250 + 1}:{port} -g -w {j + 1}")
    started = time.perf_counter()
    subprocess.run(["ipvsadm", "-C"], check=True)
    subprocess.run(["ipvsadm", "-R"], input="\n".join(lines) + "\n", text=True, check=True)
    return time.perf_counter() - started


def child_cpu(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(cpu seconds, wall seconds) of one child process, its output discarded."""
    cpu, wall, _ = child_usage(argv, env)
    return cpu, wall


def child_usage(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(cpu seconds, wall seconds, peak RSS MiB) of one child process, its output discarded."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{argv} failed with status {status}")
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024


def main() -> int:
    services, servers, rounds = (int(a) for a in sys.argv[1:4])
    import_started = time.process_time()
    # imported here on purpose: the reader's import time is one of the figures
    from lvstui.backend.ipvs import IpvsClient
    from lvstui.jsonout import CompactEncoder

    import_cpu = time.process_time() - import_started
    build_seconds = build_table(services, servers)
    client = IpvsClient()
    snap = client.read()  # warm-up
    assert len(snap.virtual_services) == services, len(snap.virtual_services)
    assert snap.real_server_count == services * servers
    ipvsadm_cpu, ipvsadm_wall, poll_cpu, poll_wall, json_cpu = [], [], [], [], []
    env = dict(os.environ)
    cli_cpu, cli_wall = [], []
    for _ in range(rounds):
        c, w = child_cpu(["ipvsadm", "-Ln", "--stats", "--exact"])
        ipvsadm_cpu.append(c)
        ipvsadm_wall.append(w)
        c0, w0 = time.process_time(), time.perf_counter()
        snap = client.read()
        poll_cpu.append(time.process_time() - c0)
        poll_wall.append(time.perf_counter() - w0)
        c0 = time.process_time()
        CompactEncoder().dumps(snap)  # a fresh encoder: every object encoded, as a one-shot snapshot does
        json_cpu.append(time.process_time() - c0)
    for _ in range(max(1, rounds // 2)):
        c, w = child_cpu([sys.executable, "-m", "lvstui", "snapshot", "--json"], env)
        cli_cpu.append(c)
        cli_wall.append(w)
    repeat = 6
    rep_cpu, rep_wall, rep_rss = child_usage([sys.executable, "-m", "lvstui", "snapshot", "--json", "--repeat",
                                              str(repeat), "--interval", "0"], env)
    start_cpu, start_wall = child_cpu([sys.executable, "-c", "import lvstui.commands.snapshot, lvstui.cli"], env)
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    client.close()
    subprocess.run(["ipvsadm", "-C"], check=True)
    print(json.dumps({
        "services": services, "real_servers_per_service": servers, "rounds": rounds,
        "ipvsadm_restore_seconds": build_seconds,
        "ipvsadm_cpu": ipvsadm_cpu, "ipvsadm_wall": ipvsadm_wall,
        "poll_cpu": poll_cpu, "poll_wall": poll_wall, "json_cpu": json_cpu,
        "cli_cpu": cli_cpu, "cli_wall": cli_wall, "startup_cpu": start_cpu, "startup_wall": start_wall,
        "reader_import_cpu": import_cpu,
        "repeat": repeat, "repeat_cpu": rep_cpu, "repeat_wall": rep_wall, "repeat_maxrss_mib": rep_rss, "maxrss_mib": maxrss_kib / 1024,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
