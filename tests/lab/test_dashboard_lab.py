"""The dashboard, headless, against the real IPVS kernel in the lab, with real client traffic.

Connections are held open from the client through the VIP; the dashboard's tables
must show exactly those counts (active connections per real server, the service's
sum), the same numbers ipvsadm prints.  A server then drained with ipvsadm (not from the
dashboard) gets the same drain line, by the connection table, as one drained from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import ipvsadm_text

pytestmark = pytest.mark.lab

GUEST_SCRIPT = str(Path(__file__).with_name("guest_dashboard.py"))
REPO = str(Path(__file__).resolve().parents[2])


def _cells(row: str, columns: list[str]) -> dict[str, str]:
    """Split a painted row (marker + cells) into cells by column; the State cell has a space inside,
    the health cell may be blank."""
    words = row[2:].split()
    cells: dict[str, str] = {}
    for column in columns:
        if column == "health":  # the service's worst server's mark; blank when all are up
            cells[column] = words.pop(0) if words and words[0] in ("✖", "⌫", "▽", "◐") else ""
        elif column == "state":
            cells[column] = f"{words.pop(0)} {words.pop(0)}"
        else:
            cells[column] = words.pop(0)
    return cells


def test_dashboard_shows_the_kernels_real_connection_counts(dr_lab: Any) -> None:
    vip = dr_lab.spec.vip
    setup = f"set -e\nip addr replace {vip}/32 dev eth0\nipvsadm -C\nipvsadm -A -t {vip}:9000 -s rr\n"
    setup += f"ipvsadm -A -t {vip}:80 -s rr\n"
    for rs in dr_lab.spec.real_servers:
        setup += f"ipvsadm -a -t {vip}:9000 -r {rs.ipv4}:9000 -g\nipvsadm -a -t {vip}:80 -r {rs.ipv4}:80 -g\n"
    dr_lab.sh("lb1", setup).check()
    client = f"""
import socket, time, urllib.request
for _ in range(12):
    urllib.request.urlopen("http://{vip}/", timeout=5).read()
held = [socket.create_connection(("{vip}", 9000), timeout=5) for _ in range(7)]
for s in held:
    s.sendall(b"hello\\n")
    s.recv(100)
print("held", flush=True)
time.sleep(600)
"""
    handle = dr_lab.spawn("client", [dr_lab.venv_python, "-c", client])
    try:
        def ipvsadm_conns(service: str, field: str = "active_conns") -> dict[str, int]:
            table = ipvsadm_text.parse(dr_lab.run("lb1", ["ipvsadm", "-Ln", "--exact"]).check().stdout, "")
            return {rs_id: int(rs[field]) for rs_id, rs in table[service].real_servers.items()}

        def ipvsadm_active() -> dict[str, int]:
            return ipvsadm_conns(f"tcp:{vip}:9000")

        def web_counts() -> tuple[int, int]:  # (active, inactive) of the :80 service, as ipvsadm says
            web_id = f"tcp:{vip}:80"
            return (sum(ipvsadm_conns(web_id).values()), sum(ipvsadm_conns(web_id, "inactive_conns").values()))

        expected = dr_lab.wait_for(lambda: sum((a := ipvsadm_active()).values()) == 7 and a, timeout=60,
                                   what="7 held connections through the VIP")
        service = f"tcp:{vip}:9000"
        # the 12 finished HTTP requests stay in IPVS's table (FIN_WAIT/TIME_WAIT) and only leave it:
        # what the dashboard shows lies between ipvsadm's counts before and after its run
        web_before = web_counts()
        r = dr_lab.run("lb1", [dr_lab.venv_python, GUEST_SCRIPT, service, "30"], env={"PYTHONPATH": REPO},
                       timeout=180)
        assert r.rc == 0, r.describe()
        web_after = web_counts()
        shown = json.loads(r.stdout)
        assert shown["error"] is None and shown["frames"] >= 3
        assert "READ-ONLY" in shown["header"] and "DEMO" not in shown["header"]
        assert "keepalived: not running" in shown["header"]
        assert set(shown["services"]) == {f"tcp:{vip}:9000", f"tcp:{vip}:80"}
        # the real-server table: exactly ipvsadm's active connections, per server
        assert set(shown["servers"]) == set(expected)
        for rs_id, row in shown["servers"].items():
            cells = _cells(row, shown["rs_columns"])
            assert cells["id"] == rs_id
            assert int(cells["active"]) == expected[rs_id], (rs_id, row)
            assert cells["state"] == "● up" and cells["fwd"] == "DR" and cells["weight"] == "1"
        # the services table: the sum, and all servers up
        svc = _cells(shown["services"][service], shown["svc_columns"])
        assert int(svc["active"]) == 7 and svc["up"] == "3/3"
        web = _cells(shown["services"][f"tcp:{vip}:80"], shown["svc_columns"])
        assert web["up"] == "3/3"
        assert 0 < sum(web_before) <= 12, web_before  # ipvsadm saw the client's requests
        assert web_before[0] >= int(web["active"]) >= web_after[0], (web_before, web, web_after)
        shown_total = int(web["active"]) + int(web["inactive"])
        assert sum(web_before) >= shown_total >= sum(web_after), (web_before, web, web_after)
        # Enter on the busiest server: the detail view counts the kernel's connection table by state,
        # read in a thread: its 7 held connections' share are ESTABLISHED entries
        detail, rs_id = shown["detail"], shown["detail_rs"]
        assert f"Real server {rs_id} in {service}" in detail and "/proc/net/ip_vs_conn" in detail, detail
        states = {line.split()[1]: int(line.split()[2]) for line in detail.splitlines()
                  if line.startswith("  TCP ")}
        assert states.get("ESTABLISHED") == expected[rs_id] > 0, (states, expected)
        # c on it: the connection list, one row per held connection, all flowing, no pinned client
        conns = shown["conns"]
        assert f"Connections of {rs_id} in {service}" in conns and "/proc/net/ip_vs_conn" in conns, conns
        assert conns.count("ESTABLISHED") == expected[rs_id], conns
        assert f"{expected[rs_id]} carrying traffic" in conns and "0 clients pinned" in conns, conns
        # drained by ipvsadm, not from the dashboard: the same drain line as for its own drains, by the
        # table: the held connections carry traffic (they never close, so the drain is not done)
        note = shown["drain_note"]
        assert f"{rs_id} drained: {expected[rs_id]} carrying traffic" in note, note
        assert "done" not in note, note
        # psutil's view of the director is on screen too
        assert "softirq" in shown["director_panel"] and "eth0" in shown["director_panel"]
    finally:
        dr_lab.stop(handle)
        dr_lab.sh("lb1", f"ipvsadm -C; ip addr del {vip}/32 dev eth0")
