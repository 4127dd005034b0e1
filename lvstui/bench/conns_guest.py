"""Runs INSIDE the lab guest for ``python -m lvstui.bench.conns``.

``load VIP N``  (in the client namespace): makes N IPVS entries on the director without real
connections: raw IPv4 packets from N distinct spoofed sources (10.0.0.0/8), so nothing ever
answers.  A third are TCP SYN then ACK (ESTABLISHED), a sixth SYN, ACK, FIN (FIN_WAIT), the rest
UDP datagrams; the director's timeouts are set long so that no entry expires while measured.

``measure ROUNDS`` (in the director's namespace): times ``ipvsadm -Lnc > /dev/null``,
``cat /proc/net/ip_vs_conn > /dev/null`` (the kernel's side alone), ``lvstui conns`` and
``lvstui conns --json`` (every entry, as ipvsadm -Lnc) and lvstui building per-real-server
counts by state (lvstui.backend.conncount), each as a whole process, and prints JSON.  lvstui's memory growth is its peak RSS minus its RSS before the read.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import struct
import subprocess
import sys
import time
from typing import Any

COUNT = (
    "import resource, sys, time\n"
    "from lvstui.backend.conncount import count_table\n"
    "base = resource.getrusage(resource.RUSAGE_SELF)\n"
    "t = time.perf_counter()\n"
    "counts = count_table()\n"
    "wall = time.perf_counter() - t\n"
    "end = resource.getrusage(resource.RUSAGE_SELF)\n"
    "print(wall, end.ru_utime + end.ru_stime - base.ru_utime - base.ru_stime, base.ru_maxrss, end.ru_maxrss,\n"
    "      sum(c.count for c in counts), len({c.destination for c in counts}), file=sys.stderr)\n"
)


def _ip_header(src: int, dst: bytes, proto: int, length: int) -> bytes:
    # version/IHL, TOS, total length, id, frag, TTL, protocol, checksum (the kernel fills it in)
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, 0, 0, 64, proto, 0,
                       src.to_bytes(4, "big"), dst)


def load(vip: str, n: int) -> dict[str, Any]:
    dst = socket.inet_aton(vip)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    target = (vip, 0)
    base = 10 << 24
    t = time.perf_counter()
    sent = 0
    for i in range(n):
        src = base + 1 + i
        sport = 1024 + i % 60000
        kind = i % 6
        if kind < 3:  # UDP
            pkt = _ip_header(src, dst, 17, 9) + struct.pack("!HHHH", sport, 5353, 9, 0) + b"x"
            sock.sendto(pkt, target)
            sent += 1
            continue
        flags = [0x02, 0x10] if kind < 5 else [0x02, 0x10, 0x11]
        for seq, f in enumerate(flags):
            tcp = struct.pack("!HHIIBBHHH", sport, 8080, 1000 + seq, 0, 5 << 4, f, 65535, 0, 0)
            sock.sendto(_ip_header(src, dst, 6, 20) + tcp, target)
            sent += 1
    return {"entries": n, "packets": sent, "seconds": time.perf_counter() - t}


def _timed(argv: list[str]) -> tuple[dict[str, float], str]:
    """Wall and CPU seconds and peak RSS of one whole process (its stdout to /dev/null)."""
    t = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode() if proc.stderr else ""
    rc = os.waitstatus_to_exitcode(status)
    proc.returncode = rc
    if rc:
        raise SystemExit(f"{argv[0]} failed ({rc}): {err.strip()}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kib": float(usage.ru_maxrss)}, err


def measure(rounds: int) -> dict[str, Any]:
    out: dict[str, Any] = {"ipvsadm": [], "cat": [], "lvstui": [], "conns": [], "conns_json": []}
    for _ in range(rounds):
        out["ipvsadm"].append(_timed(["ipvsadm", "-Lnc"])[0])
        out["cat"].append(_timed(["cat", "/proc/net/ip_vs_conn"])[0])
        out["conns"].append(_timed([sys.executable, "-m", "lvstui", "conns"])[0])  # what ipvsadm -Lnc prints
        out["conns_json"].append(_timed([sys.executable, "-m", "lvstui", "conns", "--json"])[0])
        r, err = _timed([sys.executable, "-c", COUNT])
        wall, cpu, rss0, rss1, total, dests = err.split()
        out["lvstui"].append({**r, "read_wall": float(wall), "read_cpu": float(cpu),
                              "rss_before_kib": float(rss0), "rss_peak_kib": float(rss1),
                              "entries": int(total), "real_servers": int(dests)})
    out["python_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def main(argv: list[str]) -> int:
    if argv[0] == "load":
        print(json.dumps(load(argv[1], int(argv[2]))))
    elif argv[0] == "measure":
        print(json.dumps(measure(int(argv[1]))))
    else:
        raise SystemExit(f"unknown mode {argv[0]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
