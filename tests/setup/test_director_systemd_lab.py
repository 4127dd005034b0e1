"""The director wizard end to end on two systemd hosts, from examples/director.toml.

lb1 and lb2 boot systemd, lack ipvsadm and keepalived (bare hosts: the wizard installs
them with apt from the lab's package mirror) (systemd-nspawn in the lab guest, lvstui/lab/README.md "systemd
hosts") and run the sshd their init starts; rs1 and rs2 are LVS-DR real servers with HTTP;
the client runs the wizard over SSH and sends traffic through the VIP.  keepalived is
enabled and started by the hosts' own systemd, fails over when the master's keepalived is
stopped, comes back by itself after both directors reboot, and ``--undo`` (then a reboot)
leaves nothing of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from lvstui.lab import HostSpec, Lab, LabError, LabSpec, LabUnavailable, mirror, require_uml
from lvstui.lab.lab import REPO_DIR
from lvstui.lab.scenario import client_key, enable_sshd, wait_sshd

pytestmark = pytest.mark.lab

VIP = "192.168.1.100"
DIRECTORS = ("lb1", "lb2")
SPEC = LabSpec(hosts=(
    # bare: no ipvsadm or keepalived; their apt sees only the lab's package mirror
    HostSpec("lb1", 11, role="director", init="systemd", bare=True),
    HostSpec("lb2", 12, role="director", init="systemd", network="ifupdown", bare=True),
    HostSpec("rs1", 21, role="real_server", services=("http",), dr_real_server=True),
    HostSpec("rs2", 22, role="real_server", services=("http",), dr_real_server=True),
    HostSpec("client", 50, role="client"),
))
STATE = ("dpkg-query -W -f '${binary:Package} ${Version} ${db:Status-Abbrev}\\n' | sort; "
         "ip -o addr show dev eth0 | awk '{print $4}' | sort; ipvsadm -Ln | tail -n +4; "
         "systemctl is-enabled keepalived 2>&1; systemctl is-active keepalived 2>&1; "
         "ls -A /etc/keepalived /var/lib/lvstui 2>&1; find /etc /var/lib -xdev -name '*lvstui*' 2>/dev/null; true")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    try:
        require_uml()
        mirror.require_mirror()
        lab = Lab(SPEC, workdir=tmp_path_factory.mktemp("director-systemd")).start()
    except (LabUnavailable, LabError) as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        mirror.start_mirror(lab)
        key = client_key(lab, "client")
        for host in DIRECTORS:
            enable_sshd(lab, host, key)
        yield lab
    finally:
        lab.close()


def state(lab: Lab, host: str) -> str:
    return lab.sh(host, STATE, timeout=60).check().stdout


def vrrp_state(lab: Lab, host: str) -> str:
    """keepalived's own view, from its data dump (what the wizard verifies too)."""
    script = ("rm -f /tmp/keepalived.data; kill -s \"$(keepalived --signum=DATA)\" \"$(cat /run/keepalived.pid)\" "
              "&& for i in $(seq 30); do [ -s /tmp/keepalived.data ] && break; sleep 0.1; done; sleep 0.2; "
              "sed -n 's/^ *State = //p' /tmp/keepalived.data | head -1")
    return lab.sh(host, script).stdout.strip()


def answers(lab: Lab, count: int = 6) -> set[str]:
    script = ("import urllib.request\n"
              f"for _ in range({count}):\n"
              f"    print(urllib.request.urlopen('http://{VIP}/', timeout=5).read().decode().strip())\n")
    return set(lab.run("client", [lab.python, "-I", "-S", "-c", script], timeout=120).check().stdout.split())


def setup(lab: Lab, *args: str) -> str:
    with mirror.limit_hostfs_files(lab):  # apt's many files would exhaust linux.uml's open files
        done = lab.lvstui("client", "setup", "director", "--from", f"{REPO_DIR}/examples/director.toml", *args,
                          "--accept-new-host-key", "--yes", timeout=900)
    assert done.rc == 0, done.describe()
    return done.stderr


def master_is(lab: Lab, master: str, backup: str) -> bool:
    return vrrp_state(lab, master) == "MASTER" and vrrp_state(lab, backup) == "BACKUP"


def test_pair_from_the_example_survives_failover_and_reboot_and_undo_leaves_nothing(lab: Lab) -> None:
    before = {h: state(lab, h) for h in DIRECTORS}
    assert not lab.sh("lb1", "command -v keepalived || command -v ipvsadm").ok  # installed by the wizard
    assert "keepalived " not in before["lb1"] and "ipvsadm " not in before["lb1"]

    out = setup(lab)
    assert "install ipvsadm keepalived" in out, out
    assert "verified  VRRP instance VI_1 is MASTER" in out and "verified  VRRP instance VI_1 is BACKUP" in out
    for host in DIRECTORS:  # started and enabled by the host's systemd
        now = state(lab, host)
        assert "enabled\nactive\n" in now, (host, now)
        assert lab.run(host, ["systemctl", "show", "-P", "ExecMainPID", "keepalived"]).stdout.strip() != "0"
    assert f"{VIP}/32" in state(lab, "lb1") and f"{VIP}/32" not in state(lab, "lb2")
    assert lab.wait_for(lambda: answers(lab) == {"rs1", "rs2"}, timeout=30, what="both real servers answer")

    # failover: the master's keepalived stops; the backup takes the VIP and the traffic
    lab.run("lb1", ["systemctl", "stop", "keepalived"]).check()
    lab.wait_for(lambda: vrrp_state(lab, "lb2") == "MASTER", timeout=20, what="lb2 MASTER after lb1 stopped")
    assert f"{VIP}/32" not in state(lab, "lb1")
    lab.run("client", ["ip", "neigh", "flush", "all"])
    assert lab.wait_for(lambda: answers(lab) == {"rs1", "rs2"}, timeout=30, what="traffic through lb2")
    lab.run("lb1", ["systemctl", "start", "keepalived"]).check()
    lab.wait_for(lambda: master_is(lab, "lb1", "lb2"), timeout=30, what="lb1 MASTER again")

    # both directors reboot: their init starts keepalived, the pair comes back as configured
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lab.reboot_host, DIRECTORS))
    assert all(r["boots"] == 2 for r in reports), reports
    for host in DIRECTORS:
        assert lab.run(host, ["systemctl", "is-active", "keepalived"]).stdout.strip() == "active", host
        wait_sshd(lab, host)
    lab.wait_for(lambda: master_is(lab, "lb1", "lb2"), timeout=30, what="lb1 MASTER after the reboot")
    lab.run("client", ["ip", "neigh", "flush", "all"])
    assert lab.wait_for(lambda: answers(lab) == {"rs1", "rs2"}, timeout=30, what="traffic after the reboot")

    # undo: keepalived disabled, stopped and purged, dpkg's set as before, its configuration and
    # lvstui's state gone, also after a reboot
    setup(lab, "--undo")
    for host in DIRECTORS:
        assert state(lab, host) == before[host], host
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lab.reboot_host, DIRECTORS))
    for host in DIRECTORS:
        assert state(lab, host) == before[host], host
