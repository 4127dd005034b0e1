"""``lvstui lab --check``: boots the lab as ``lvstui lab`` does, checks it, prints each check.

Checks, in order (each needs the ones before it; the first failure ends the run):
boot, the real servers' services, the keepalived pair (lb1 MASTER holding the VIP, lb2
BACKUP, both with the DR services), traffic through the VIP answered by every real server,
``lvstui snapshot --json`` in lb1 (MASTER, non-zero connections), and the control path a
user breaks things with (more long-lived connections counted by lb1's IPVS, a stopped HTTP service taken out by keepalived's check and back,
keepalived stopped on lb1 so lb2 takes the VIP, and back).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from lvstui.lab.lab import Lab
from lvstui.lab.results import LabError
from lvstui.lab.scenario import Cluster, bring_up, lab_spec
from lvstui.lab.spec import HTTP_PORT, TCP_PORT

CLIENT_PROBE = """
import socket, sys
vip, n = sys.argv[1], int(sys.argv[2])
seen = []
for _ in range(n):
    with socket.create_connection((vip, 80), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\\r\\nHost: lab\\r\\n\\r\\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    seen += [l.split(b":", 1)[1].strip().decode() for l in data.split(b"\\r\\n")
             if l.lower().startswith(b"x-lab-host:")]
with socket.create_connection((vip, 9000), timeout=5) as s:
    s.sendall(b"echo\\n")
    echo = s.recv(100).decode().strip()
print(" ".join(seen), echo)
"""


class CheckFailed(Exception):
    pass


def line(status: str, message: str) -> None:
    print(f"{status:4} {message}", flush=True)


def ipvs_table(lab: Lab, host: str) -> dict[str, list[str]]:
    """{"TCP 192.168.1.100:80 rr": ["192.168.1.21:80", ...]} from ipvsadm -Ln in ``host``."""
    table: dict[str, list[str]] = {}
    current = None
    for text in lab.run(host, ["ipvsadm", "-Ln"]).check().stdout.splitlines():
        words = text.split()
        if words and words[0] in ("TCP", "UDP", "SCTP", "FWM"):
            current = " ".join(words[:3])
            table[current] = []
        elif current and words[:1] == ["->"] and words[1][0].isdigit():
            table[current].append(words[1])
    return table


def checks(cluster: Cluster) -> list[tuple[str, Callable[[], str]]]:
    lab, spec = cluster.lab, cluster.lab.spec
    vip = spec.vip
    rs_names = [h.name for h in spec.real_servers]

    def pair() -> str:
        if cluster.vip_holder() != ["lb1"]:
            raise CheckFailed(f"the VIP is on {cluster.vip_holder() or 'no director'}, not on lb1 alone")
        for lb in ("lb1", "lb2"):
            table = ipvs_table(lab, lb)
            for port in (HTTP_PORT, TCP_PORT):
                (servers,) = [v for k, v in table.items() if k.startswith(f"TCP {vip}:{port} ")] or [None]
                if servers is None or len(servers) != len(rs_names):
                    raise CheckFailed(f"{lb}'s IPVS table lacks {vip}:{port} with {len(rs_names)} "
                                      "real servers: "
                                      f"{table}")
        return f"lb1 holds VIP {vip}; lb1 and lb2 both have {vip}:{HTTP_PORT} and :{TCP_PORT} over " \
               f"{len(rs_names)} real servers (DR)"

    def traffic() -> str:
        r = lab.run("client", [lab.python, "-I", "-S", "-c", CLIENT_PROBE, vip, str(3 * len(rs_names))],
                    timeout=60).check()
        *seen, echo = r.stdout.split()
        if set(seen) != set(rs_names) or echo != "echo":
            raise CheckFailed(f"HTTP through the VIP answered by {sorted(set(seen))} (want {rs_names}); "
                              f"TCP echo gave {echo!r}")
        answered = ", ".join(sorted(set(seen)))
        return f"{len(seen)} HTTP requests through the VIP answered by {answered}; TCP echo on " \
               f"{TCP_PORT} answers"

    def snapshot() -> str:
        def busy() -> dict[str, Any] | None:
            r = lab.lvstui("lb1", "snapshot", "--json", timeout=90)
            if not r.ok:
                raise CheckFailed(r.describe())
            doc: dict[str, Any] = json.loads(r.stdout)
            held = sum(rs["active_conns"] for vs in doc["virtual_services"] for rs in vs["real_servers"]
                       if vs["id"] == f"tcp:{vip}:{TCP_PORT}")
            states = [v["state"] for v in doc.get("vrrp", [])]
            return doc if held > 0 and states == ["MASTER"] else None

        doc = lab.wait_for(busy, timeout=60, interval=1, what="lvstui snapshot in lb1 to show MASTER and "
                                                                  "held connections")
        conns = {vs["id"]: sum(rs["active_conns"] + rs["inactive_conns"] for rs in vs["real_servers"])
                 for vs in doc["virtual_services"]}
        return "lvstui snapshot --json in lb1: VRRP MASTER, connections " + \
               ", ".join(f"{k} {v}" for k, v in sorted(conns.items()))

    def rs_down_and_back() -> str:
        key = f"TCP {vip}:{HTTP_PORT} "
        target = f"{spec.host('rs1').ipv4}:{HTTP_PORT}"

        def present() -> bool:
            return any(target in v for k, v in ipvs_table(lab, "lb1").items() if k.startswith(key))

        t0 = time.monotonic()
        ok, message = cluster.ctl("stop", "rs1", "http")
        if not ok:
            raise CheckFailed(message)
        lab.wait_for(lambda: not present(), timeout=60, interval=0.5,
                     what="keepalived's HTTP_GET to take rs1 out of lb1's table")
        out = time.monotonic() - t0
        ok, message = cluster.ctl("start", "rs1", "http")
        if not ok:
            raise CheckFailed(message)
        t0 = time.monotonic()
        lab.wait_for(present, timeout=60, interval=0.5, what="keepalived to put rs1 back")
        return f"lab ctl stop rs1 http: keepalived took it out in {out:.1f} s; start: back in " \
               f"{time.monotonic() - t0:.1f} s"

    def failover_and_back() -> str:
        t0 = time.monotonic()
        ok, message = cluster.ctl("stop", "keepalived", "lb1")
        if not ok:
            raise CheckFailed(message)
        lab.wait_for(lambda: cluster.vip_holder() == ["lb2"], timeout=60, interval=0.3,
                     what="lb2 to take the VIP")
        over = time.monotonic() - t0
        ok, message = cluster.ctl("start", "keepalived", "lb1")
        if not ok:
            raise CheckFailed(message)
        t0 = time.monotonic()
        lab.wait_for(lambda: cluster.vip_holder() == ["lb1"], timeout=60, interval=0.3,
                     what="lb1 to take the VIP back")
        return f"lab ctl stop keepalived lb1: lb2 took the VIP in {over:.1f} s; start: lb1 MASTER again in " \
               f"{time.monotonic() - t0:.1f} s"

    def more_load() -> str:
        def held() -> int:
            out = lab.run("lb1", ["ipvsadm", "-Ln", "-t", f"{vip}:{TCP_PORT}"]).check().stdout
            return sum(int(words[4]) for words in (line.split() for line in out.splitlines())
                       if words[:1] == ["->"] and words[1][0].isdigit())

        t0 = time.monotonic()
        ok, message = cluster.ctl("hold", "18")
        if not ok:
            raise CheckFailed(message)
        lab.wait_for(lambda: held() >= 18, timeout=60, interval=0.5, what="18 held connections in lb1's IPVS")
        up = time.monotonic() - t0
        ok, message = cluster.ctl("hold", "9")
        if not ok:
            raise CheckFailed(message)
        return f"lab ctl hold 18: lb1's IPVS counts 18 active connections on :{TCP_PORT} after {up:.1f} s"

    return [("keepalived pair", pair), ("traffic", traffic), ("snapshot", snapshot), ("more load", more_load),
            ("break a real server", rs_down_and_back), ("fail over", failover_and_back)]


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signum)


def run_check(*, mem: str, logs: str | None, uml: str | None = None) -> int:
    started = time.monotonic()
    for sig in (signal.SIGTERM, signal.SIGHUP):  # clean up as after Ctrl-C
        signal.signal(sig, _interrupt)
    lab = Lab(lab_spec(), mem=mem, workdir=logs, uml=uml)
    failed = False
    try:
        try:
            lab.start()
            kernel = lab.kernel.describe() if lab.kernel else "User-Mode Linux"
            line("ok", f"boot: {kernel}: guest up in {lab.boot_seconds:.1f} s, "
                       f"6 hosts on a bridge in {lab.setup_seconds:.1f} s")
            cluster = bring_up(lab, lambda message: line("ok", message))
        except LabError as exc:
            line("FAIL", f"bring-up: {exc}")
            return 1
        for name, check in checks(cluster):
            t0 = time.monotonic()
            try:
                message = check()
            except (CheckFailed, LabError) as exc:
                line("FAIL", f"{name}: {exc}")
                failed = True
                break
            line("ok", f"{message} ({time.monotonic() - t0:.1f} s)")
    except KeyboardInterrupt:
        line("FAIL", "interrupted")
        return 130
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        lab.close()
    verdict = "FAILED" if failed else "passed"
    print(f"lvstui lab --check {verdict} in {time.monotonic() - started:.1f} s", flush=True)
    if failed and logs is None:
        print("(run again with --logs DIR to keep the guest's logs)", file=sys.stderr)
    return 1 if failed else 0
