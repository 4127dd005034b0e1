"""The fleet screen in the lab (issue 15 item 7): on the client, `lvstui fleet` with a file naming
the keepalived pair lb1 + lb2 (both running sshd, read over real SSH as root, their host keys
accepted by the file) and a second pair whose director's port is closed.  The pair row names
lb1 MASTER (lb2 BACKUP), no split brain, lb1's real servers up/total as lb1's own ipvsadm has
them; the other pair's director UNREACHABLE; Enter opens the pair's dashboard from lb1's
snapshot stream with lb2 as its peer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lvstui.lab import Lab
from lvstui.lab.lab import REPO_DIR
from tests.lab.cluster import module_cluster
from tests.lab.keepalived_pair import start_pair
from tests.lab.test_peer_lab import serve_ssh
from tests.support import ipvsadm_text

pytestmark = pytest.mark.lab


def start(lab: Lab) -> None:
    """The keepalived pair (lb1 MASTER, lb2 BACKUP), sshd on both, the client's key authorized there."""
    start_pair(lab)
    lab.sh("client", "mkdir -p /root/.ssh && chmod 700 /root/.ssh && rm -f /root/.ssh/known_hosts "
                     "/root/.ssh/id_ed25519* && ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519",
           timeout=60).check()
    pub = lab.read_file("client", "/root/.ssh/id_ed25519.pub")
    for host in ("lb1", "lb2"):
        serve_ssh(lab, host, pub)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from module_cluster(tmp_path_factory, "fleet", ("http",), start=start)


def test_the_pair_on_the_fleet_screen(lab: Lab) -> None:
    lb1, lb2 = lab.spec.host("lb1").ipv4, lab.spec.host("lb2").ipv4
    command = f"env PYTHONPATH={REPO_DIR} {lab.venv_python} -m lvstui"
    lab.write_file("client", "/root/fleet.toml", f"""
[defaults]
command = {json.dumps(command)}
accept_new_host_key = true

[[pair]]
name = "lab"
directors = [{{ host = "root@{lb1}" }}, {{ host = "root@{lb2}" }}]

[[pair]]
name = "gone"
directors = [{{ host = "root@{lb2}", port = 2 }}]
""")
    guest = str(Path(__file__).with_name("guest_fleet.py"))
    r = lab.run("client", [lab.venv_python, guest, "/root/fleet.toml", "lab", "150"],
                env={"PYTHONPATH": str(REPO_DIR)}, timeout=360)
    assert r.rc == 0, r.describe()
    shown: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"\nfleet rows: {shown['text']}\nheader: {shown['header']}")
    row = shown["rows"]["lab"]
    assert [(d["host"], d["status"], d["via"]) for d in row["directors"]] == [
        (f"root@{lb1}", "read", "lvstui"), (f"root@{lb2}", "read", "lvstui")], row["directors"]
    assert [(i["vrid"], i["masters"]) for i in row["instances"]] == [(51, [f"root@{lb1}"])]
    assert row["split_brain"] == [] and [v.split("/")[0] for v in row["vips"]] == ["192.168.1.100"], row["vips"]
    own = ipvsadm_text.parse(lab.run("lb1", ["ipvsadm", "-Ln", "--exact"]).check().stdout, "")
    servers = [v for vs in own.values() for v in vs.real_servers.values()]
    assert row["table_from"] == f"root@{lb1}" and row["total"] == len(servers) > 0
    assert row["up"] == sum(int(str(v["weight"])) > 0 for v in servers)
    gone = shown["rows"]["gone"]["directors"][0]
    assert gone["status"] == "unread" and gone["error"], gone
    assert "UNREACHABLE" in shown["text"]["gone"] and f"root@{lb1} ok · root@{lb2} ok" in shown["text"]["lab"]
    assert "3 directors: 2 read, 1 not read" in shown["header"] and "SPLIT BRAIN" not in shown["header"]
    # Enter: the pair's dashboard, lb1's table from its stream, lb2 beside it as the peer
    assert shown["dashboard_readonly"] is True and shown["dashboard_services"] == len(own)
    assert shown["dashboard_pair_panel"][0].startswith(f"Peer root@{lb2} · lvstui · read "), shown
