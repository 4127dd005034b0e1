"""The lab client's traffic (stdlib only, runs in the client host): ``traffic.py STATE STATS``.

STATE (JSON, re-read every second, written by the control server): ``vip``, ``rate``
(steady HTTP requests per second; the rate drifts +-50 % over a minute so the dashboard's
rates move), ``burst_until`` (epoch seconds) and ``burst_rate``, ``hold`` (how many
long-lived TCP connections to VIP:9000 to keep) and ``life`` ([min, max] seconds each
lives, then it closes and a new one opens, so a drained real server's count falls).
STATS (JSON, written every second): answers per real server, failures, connections held.
"""

from __future__ import annotations

import json
import math
import os
import queue
import random
import socket
import sys
import threading
import time
from typing import Any

WORKERS = 12
state: dict[str, Any] = {"vip": "192.168.1.100", "rate": 5.0, "burst_until": 0.0, "burst_rate": 30.0,
                         "hold": 9, "life": [8, 30]}
stats: dict[str, Any] = {"ok": 0, "failed": 0, "by_host": {}, "held": 0, "held_failed": 0, "skipped": 0}
lock = threading.Lock()
tickets: queue.Queue[None] = queue.Queue()


answered = threading.Event()  # failures before the first answer (the VIP not up yet) are not counted


def count(key: str, host: str | None = None) -> None:
    if host:
        answered.set()
    elif key != "skipped" and not answered.is_set():
        return
    with lock:
        stats[key] += 1
        if host:
            stats["by_host"][host] = stats["by_host"].get(host, 0) + 1


def http_get() -> None:
    try:
        with socket.create_connection((state["vip"], 80), timeout=3) as s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: lab\r\nUser-Agent: lvstui-lab\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        host = None
        for line in data.split(b"\r\n"):
            if line.lower().startswith(b"x-lab-host:"):
                host = line.split(b":", 1)[1].strip().decode()
        count("ok" if host else "failed", host)
    except OSError:
        count("failed")


def worker() -> None:
    while True:
        tickets.get()
        http_get()


def current_rate(now: float) -> float:
    rate = float(state["rate"]) * (1 + 0.5 * math.sin(2 * math.pi * now / 60))
    if now < float(state["burst_until"]):
        rate += float(state["burst_rate"])
    return max(0.0, rate)


def load() -> None:
    credit = 0.0
    while True:
        credit += current_rate(time.time()) / 10
        while credit >= 1:
            credit -= 1
            if tickets.qsize() > 200:
                count("skipped")
            else:
                tickets.put(None)
        time.sleep(0.1)


def held_connection() -> None:
    """One long-lived connection slot: connect, echo a line every 2 s, close after its life."""
    while True:
        with lock:
            wanted = stats["held"] < int(state["hold"])
            if wanted:
                stats["held"] += 1
        if not wanted:
            time.sleep(1)
            continue
        low, high = state["life"]
        end = time.monotonic() + random.uniform(float(low), float(high))
        try:
            with socket.create_connection((state["vip"], 9000), timeout=3) as s:
                while time.monotonic() < end and stats["held"] <= int(state["hold"]):
                    s.sendall(b"ping\n")
                    if not s.recv(100):
                        raise OSError("closed")
                    time.sleep(2)
        except OSError:
            count("held_failed")
            time.sleep(1)
        finally:
            with lock:
                stats["held"] -= 1


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    state_path, stats_path = argv
    for _ in range(WORKERS):
        threading.Thread(target=worker, daemon=True).start()
    threading.Thread(target=load, daemon=True).start()
    started = 0
    while True:
        try:
            with open(state_path) as f:
                state.update(json.load(f))
        except (OSError, ValueError):
            pass
        while started < min(int(state["hold"]), 200):  # slots; each keeps at most one connection
            threading.Thread(target=held_connection, daemon=True).start()
            started += 1
        with lock:
            data = json.dumps({**stats, "rate": current_rate(time.time()), "time": time.time()})
        with open(stats_path + ".tmp", "w") as f:
            f.write(data)
        os.replace(stats_path + ".tmp", stats_path)
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
