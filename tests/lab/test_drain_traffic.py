"""Drain under live traffic, in the lab: held connections finish, no new ones arrive, restore brings them back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import ipvsadm_text

pytestmark = pytest.mark.lab
REPO = str(Path(__file__).resolve().parents[2])

CLIENT = """
import os, socket, time
VIP = %(vip)r
held = []
for _ in range(6):
    s = socket.create_connection((VIP, 9000), timeout=5)
    s.sendall(b"hold\\n"); s.recv(100)
    held.append(s)
print("holding", len(held), flush=True)
opened = 0
deadline = time.time() + 300
while time.time() < deadline:
    if held and os.path.exists("/tmp/release"):
        for s in held:
            s.close()
        held = []
        print("released", flush=True)
    try:
        with socket.create_connection((VIP, 9000), timeout=5) as s:
            s.sendall(b"ping\\n"); s.recv(100)
        opened += 1
    except OSError as exc:
        print("error", exc, flush=True)
    time.sleep(0.1)
"""


def rs_counts(lab: Any, vs_id: str) -> dict[str, dict[str, int]]:
    stats = ipvsadm_text.parse(lab.run("lb1", ["ipvsadm", "-Ln", "--exact", "--stats"]).check().stdout, "--stats")
    conns = ipvsadm_text.parse(lab.run("lb1", ["ipvsadm", "-Ln", "--exact"]).check().stdout, "")
    out = {}
    for rs_id, row in conns[vs_id].real_servers.items():
        out[rs_id] = {"active": int(row["active_conns"]), "inactive": int(row["inactive_conns"]),  # type: ignore[call-overload]
                      "conns": int(stats[vs_id].real_servers[rs_id]["conns"])}  # type: ignore[call-overload]
    return out


def test_drain_under_live_traffic_then_restore(dr_lab: Any) -> None:
    lab = dr_lab
    vip = lab.spec.vip
    vs = f"tcp:{vip}:9000"
    rs1 = f"{lab.spec.host('rs1').ipv4}:9000"
    setup = f"set -e\nip addr replace {vip}/32 dev eth0\nipvsadm -C\nipvsadm --set 900 3 300\n"
    setup += f"ipvsadm -A -t {vip}:9000 -s rr\n"
    for rs in lab.spec.real_servers:
        setup += f"ipvsadm -a -t {vip}:9000 -r {rs.ipv4}:9000 -g -w 2\n"
    lab.sh("lb1", setup).check()
    lab.sh("client", "rm -f /tmp/release").check()
    client = lab.spawn("client", [lab.venv_python, "-c", CLIENT % {"vip": vip}])
    drain = None
    try:
        lab.wait_for(lambda: rs_counts(lab, vs)[rs1]["active"] >= 2 and rs_counts(lab, vs)[rs1]["conns"] >= 4,
                     timeout=60, what="held and new connections on rs1")
        env = {"LVSTUI_STATE_DIR": "/tmp/lvstui-drain-state"}
        drain = lab.spawn("lb1", [lab.venv_python, "-m", "lvstui", "drain", vs, rs1, "--wait", "--timeout", "120"],
                          env={"PYTHONPATH": REPO, **env})

        def weight_of_rs1() -> int:
            table = ipvsadm_text.parse(lab.run("lb1", ["ipvsadm", "-Ln", "--exact"]).check().stdout, "")
            return int(table[vs].real_servers[rs1]["weight"])  # type: ignore[call-overload]

        lab.wait_for(lambda: weight_of_rs1() == 0, timeout=30, what="rs1 at weight 0")
        # The kernel folds its per-CPU counters into what netlink reports every 2 s (the estimator
        # timer), so connections made just before the drain may still show up for 2 s: settle first.
        time.sleep(3)
        after_drain = rs_counts(lab, vs)
        time.sleep(5)
        later = rs_counts(lab, vs)
        # No new connection reached the drained real server; the others kept receiving them.
        assert later[rs1]["conns"] == after_drain[rs1]["conns"]
        others = [k for k in later if k != rs1]
        assert sum(later[k]["conns"] for k in others) > sum(after_drain[k]["conns"] for k in others)
        # The held connections are still there: a drain does not cut them.
        assert later[rs1]["active"] >= 2
        assert lab.poll(drain) is None, "drain --wait returned while connections were still active"
        lab.write_file("client", "/tmp/release", "1")
        result = lab.wait(drain, timeout=150)
        assert result.rc == 0, result.describe()
        assert "drained: no client traffic left" in result.stdout
        # Done means no open connection; closed ones may still wait out their (here 3 s) timer.
        assert rs_counts(lab, vs)[rs1]["active"] == 0
        # Restore: new connections come back.
        r = lab.lvstui("lb1", "restore", vs, rs1, env=env)
        assert r.rc == 0, r.describe()
        before = rs_counts(lab, vs)[rs1]["conns"]
        lab.wait_for(lambda: rs_counts(lab, vs)[rs1]["conns"] > before, timeout=30,
                     what="new connections on rs1 after restore")
    finally:
        if drain is not None and lab.poll(drain) is None:
            lab.stop(drain)
        lab.stop(client)
        lab.sh("lb1", f"ipvsadm -C; ipvsadm --set 900 120 300; ip addr del {vip}/32 dev eth0; true")
