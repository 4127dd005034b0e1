"""Runs inside the lab guest: builds an IPVS table and times lvstui's reader against ipvsadm.

Prints one JSON object.  CPU times are user+system seconds; ipvsadm's are its
whole process (it is a small C program), lvstui's are one poll inside a
running process (what the dashboard pays every interval), and separately the
whole `lvstui snapshot --json` process (start-up included).  The kernel's side
alone is the poll's netlink requests with every reply received and dropped
undecoded (:func:`kernel_only`), in the same process.  Then keepalived is
started with a configuration of the same table (no checkers: every real
server stays up) and the whole processes are timed again, keepalived's view
included.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _table(services: int, servers: int) -> list[tuple[str, int, list[tuple[str, int]]]]:
    """(VIP, port, [(real server, weight)]) of the benchmark's table."""
    out = []
    for i in range(services):
        vip = f"10.{100 + i // 65000}.{(i // 250) % 250}.{i % 250 + 1}"
        port = 80 + (i // 62500)
        out.append((vip, port, [(f"172.16.{j}.{i % 250 + 1}", j + 1) for j in range(servers)]))
    return out


def build_table(services: int, servers: int) -> float:
    lines = []
    for vip, port, rss in _table(services, servers):
        lines.append(f"-A -t {vip}:{port} -s wlc")
        lines += [f"-a -t {vip}:{port} -r {rs}:{port} -g -w {w}" for rs, w in rss]
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


def keepalived_conf(services: int, servers: int) -> str:
    """The same table as keepalived.conf: what keepalived builds and then reports in its dumps."""
    out = []
    for vip, port, rss in _table(services, servers):
        out.append(f"virtual_server {vip} {port} {{\n  lb_algo wlc\n  lb_kind DR\n  protocol TCP\n")
        out += [f"  real_server {rs} {port} {{\n    weight {w}\n  }}\n" for rs, w in rss]
        out.append("}\n")
    return "".join(out)


def start_keepalived(services: int, servers: int, workdir: Path) -> tuple[int, float]:
    """keepalived on the table's configuration, once the kernel holds all of it: (parent pid, seconds)."""
    from lvstui.backend.ipvs import IpvsClient

    conf = workdir / "keepalived.conf"
    conf.write_text(keepalived_conf(services, servers))
    pidfile = workdir / "keepalived.pid"
    subprocess.run(["ipvsadm", "-C"], check=True)
    started = time.perf_counter()
    subprocess.run(["keepalived", "-f", str(conf), "-p", str(pidfile), "-c", str(workdir / "checkers.pid"),
                    "-r", str(workdir / "vrrp.pid"), "-l"], check=True)
    with IpvsClient() as client:
        while client.read().real_server_count < services * servers:
            if time.perf_counter() - started > 600:
                raise SystemExit("keepalived did not build the table within 600 s")
            time.sleep(0.5)
    return int(pidfile.read_text().split()[0]), time.perf_counter() - started


def stop_keepalived(pid: int) -> None:
    os.kill(pid, 15)
    for _ in range(300):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def kernel_only() -> tuple[float, float, int]:
    """(cpu, wall, messages) of the poll's netlink requests, every reply received and dropped
    undecoded: services, each service's real servers, info, config, daemons.  The kernel's side
    of a poll, and the limit any reader in this process could reach."""
    from lvstui.backend import ipvs
    from lvstui.backend.netlink import GenlSocket, nla_nested

    with GenlSocket(ipvs.GENL_NAME) as sock:
        c0, w0 = time.process_time(), time.perf_counter()
        raw = []
        for buf, off, end in sock.dump(ipvs.CMD_GET_SERVICE, ipvs.GENL_VERSION):
            span = ipvs._nested_of(buf, off, end, ipvs.CMD_ATTR_SERVICE)
            if span is not None:  # sent back as it came: the kernel reads the key from it
                raw.append(nla_nested(ipvs.CMD_ATTR_SERVICE, bytes(buf[span[0]:span[1]])))
        n = len(raw)
        for request in raw:
            for _ in sock.dump(ipvs.CMD_GET_DEST, ipvs.GENL_VERSION, request):
                n += 1
        for cmd in (ipvs.CMD_GET_INFO, ipvs.CMD_GET_CONFIG):
            n += sum(1 for _ in sock.request(cmd, ipvs.GENL_VERSION))
        n += sum(1 for _ in sock.dump(ipvs.CMD_GET_DAEMON, ipvs.GENL_VERSION))
        return time.process_time() - c0, time.perf_counter() - w0, n


def whole_processes(rounds: int, env: dict[str, str], argv: list[list[str]]) -> dict[str, dict[str, list[float]]]:
    """Each command of *argv* as a whole process, interleaved, *rounds* times: {name: {cpu, wall}}."""
    out: dict[str, dict[str, list[float]]] = {}
    for _ in range(rounds):
        for cmd in argv:
            name = " ".join(a for a in cmd if a not in (sys.executable, "-m"))
            cpu, wall = child_cpu(cmd, env)
            row = out.setdefault(name, {"cpu": [], "wall": []})
            row["cpu"].append(cpu)
            row["wall"].append(wall)
    return out


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
    kernel_cpu, kernel_wall = [], []
    for _ in range(rounds):
        c, w, messages = kernel_only()
        assert messages >= services * (servers + 1), messages
        kernel_cpu.append(c)
        kernel_wall.append(w)
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
    for _ in range(rounds):
        c, w = child_cpu([sys.executable, "-m", "lvstui", "snapshot", "--json"], env)
        cli_cpu.append(c)
        cli_wall.append(w)
    repeat = 6
    rep_cpu, rep_wall, rep_rss = child_usage([sys.executable, "-m", "lvstui", "snapshot", "--json", "--repeat",
                                              str(repeat), "--interval", "0"], env)
    start_cpu, start_wall = child_cpu([sys.executable, "-c", "import lvstui.commands.snapshot, lvstui.cli"], env)
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    client.close()
    with tempfile.TemporaryDirectory(prefix="lvstui-bench-ka-") as tmp:
        ka_pid, ka_seconds = start_keepalived(services, servers, Path(tmp))
        try:
            time.sleep(2.0)  # keepalived settles (its checker process is up, nothing left to add)
            whole = whole_processes(rounds, env, [
                ["ipvsadm", "-Ln", "--stats", "--exact"],
                [sys.executable, "-m", "lvstui", "snapshot", "--json"],
                [sys.executable, "-m", "lvstui", "snapshot", "--json", "--no-keepalived"],
                [sys.executable, "-c", "pass"],
            ])
        finally:
            stop_keepalived(ka_pid)
    subprocess.run(["ipvsadm", "-C"], check=True)
    print(json.dumps({
        "kernel_cpu": kernel_cpu, "kernel_wall": kernel_wall,
        "keepalived_start_seconds": ka_seconds, "with_keepalived": whole,
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
