"""The wizard screens over real SSH, in the User-Mode Linux lab.

Textual's Pilot drives ``lvstui setup``'s app, and F2 in the dashboard, inside the guest
(tests/setup/guest_setup_tui.py on a lab host), against lab hosts that run a real sshd
whose host key the driving host does not know.  What the screens showed is checked
against the live hosts, read here with ``lab.run``, never from the TUI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lvstui.lab import HostSpec, Lab, LabSpec, LabUnavailable, require_uml
from lvstui.lab.lab import REPO_DIR
from tests.setup.test_setup_lab import SSHD_CONFIG, state

pytestmark = pytest.mark.lab

GUEST_SCRIPT = str(Path(__file__).with_name("guest_setup_tui.py"))
VIP = "192.168.1.100"
TARGETS = ("lb1", "rs1", "rs2")
SPEC = LabSpec(hosts=(
    HostSpec("lb1", 11, role="director"),
    *(HostSpec(f"rs{i}", 20 + i, role="real_server", services=("http",)) for i in (1, 2)),
    HostSpec("client", 50, role="client"),
))
HOST_KEY = "/etc/lab-ssh/host_ed25519"
SYSCTLS = ("lo/arp_ignore", "all/arp_ignore", "lo/arp_announce", "all/arp_announce")


def start_sshd(lab: Lab, host: str) -> None:
    lab.spawn(host, ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/lab-ssh/sshd_config"])
    lab.wait_for(lambda: lab.sh(host, "ss -Hltn | grep -q ':22 '").ok, timeout=30, what=f"sshd in {host}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    try:
        require_uml()
        lab = Lab(SPEC, workdir=tmp_path_factory.mktemp("setup-tui-lab")).start()
    except LabUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        keys = []
        for driver in ("client", "lb1"):  # the hosts the screens run on: their keys may log in
            lab.sh(driver, "mkdir -p /root/.ssh && chmod 700 /root/.ssh && "
                           "ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519", timeout=60).check()
            keys.append(lab.read_file(driver, "/root/.ssh/id_ed25519.pub"))
        for host in TARGETS:
            lab.sh(host, "mkdir -p /run/sshd /etc/lab-ssh /root/.ssh && chmod 700 /root/.ssh && : > /root/.bashrc"
                         f" && ssh-keygen -q -t ed25519 -N '' -f {HOST_KEY}", timeout=60).check()
            lab.write_file(host, "/etc/lab-ssh/sshd_config", SSHD_CONFIG)
            lab.write_file(host, "/root/.ssh/authorized_keys", "".join(keys), mode=0o600)
            start_sshd(lab, host)
        yield lab
    finally:
        lab.close()


def screens(lab: Lab, driver: str, mode: str, host: str, port: str = "") -> dict[str, Any]:
    """Pilot on *driver* (guest_setup_tui.py MODE HOST VIP PORT): what the screens showed."""
    run = lab.run(driver, [lab.venv_python, GUEST_SCRIPT, mode, host, VIP, port],
                  env={"PYTHONPATH": str(REPO_DIR)}, timeout=600)
    assert run.rc == 0, run.describe()
    shown: dict[str, Any] = json.loads(run.stdout)
    return shown


def fingerprint(lab: Lab, host: str) -> str:
    """``SHA256:...`` of *host*'s sshd key, as ssh-keygen reads it on that host."""
    return lab.run(host, ["ssh-keygen", "-l", "-f", f"{HOST_KEY}.pub"]).check().stdout.split()[1]


def known_hosts(lab: Lab, driver: str = "client") -> str:
    return lab.sh(driver, "cat /root/.ssh/known_hosts 2>/dev/null; true").check().stdout


def live(lab: Lab, host: str) -> dict[str, Any]:
    """The real-server settings, read on the host itself."""
    lo = lab.run(host, ["ip", "-o", "addr", "show", "dev", "lo"]).check().stdout
    values = lab.sh(host, "cat " + " ".join(f"/proc/sys/net/ipv4/conf/{s}" for s in SYSCTLS)).check().stdout
    return {"lo": [line.split()[3] for line in lo.splitlines() if " inet " in line],
            "sysctls": dict(zip(SYSCTLS, values.split(), strict=True))}


def test_unknown_key_asked_refused_then_accepted_preview_apply(lab: Lab) -> None:
    before = state(lab, "rs1")
    assert live(lab, "rs1")["lo"] == ["127.0.0.1/8"]
    real = fingerprint(lab, "rs1")

    # No: nothing is remembered, nothing changes, Apply stays off
    shown = screens(lab, "client", "refuse", "rs1", "80")
    assert shown["screens"][:4] == ["SetupChooserScreen", "RealServerFormScreen", "SetupRunScreen", "HostKeyScreen"]
    key = shown["hostkey"]
    assert key["fingerprint"] == f"ssh-ed25519 key fingerprint is\n{real}", key
    assert "The host key of rs1 is not known." in key["text"] and key["focused"] == "refuse", key
    assert shown["phase_after_connect"] == "failed" and shown["apply_disabled"]
    assert shown["status_after_connect"] == (f"rs1: host key ssh-ed25519 {real} of rs1 not accepted: "
                                             "not connected, not remembered (nothing was changed)")
    assert "rs1" not in known_hosts(lab)
    assert state(lab, "rs1") == before

    # Yes: remembered; the preview shows commands and diffs and changes nothing; Apply ends verified
    shown = screens(lab, "client", "apply", "rs1", "80")
    assert shown["hostkey"]["fingerprint"].endswith(real)
    assert f"rs1 ssh-ed25519 {lab.read_file('rs1', f'{HOST_KEY}.pub').split()[1]}" in known_hosts(lab)
    assert shown["phase_after_connect"] == "preview" and not shown["apply_disabled"]
    plan = shown["preview"]
    steps = re.findall(r"^ +\d+\. (change|no change|verify) ", plan, re.MULTILINE)
    changes = steps.count("change")
    assert changes >= 6 and steps[-1] == "verify", plan  # 4 sysctls, their file, the VIP, its boot file ...
    assert shown["status_after_connect"] == (f"{changes} change(s) on 1 host(s). Nothing has been changed yet: "
                                             "press Apply to apply the plan.")
    assert f"rs1: plan realserver ({changes} changes)" in plan, plan
    assert f"$ ip addr add {VIP}/32 dev lo" in plan and "$ sysctl -w net.ipv4.conf.lo.arp_ignore=1" in plan, plan
    assert "+++ /etc/sysctl.d/90-lvstui-dr.conf" in plan and "+net.ipv4.conf.all.arp_announce = 2" in plan, plan
    # progress: each step's start on the status line, the bar from 0 to every step
    total = len(steps)
    started = [s for s in shown["statuses"] if s.startswith("rs1: ") and s.endswith("...")]
    assert started[0] == f"rs1: 1/{total} sysctl net.ipv4.conf.lo.arp_ignore=1...", shown["statuses"]
    assert started[-1] == f"rs1: {total}/{total} service listening on TCP port 80...", shown["statuses"]
    assert len(started) >= total // 2, shown["statuses"]  # seen while applying, not only at the end
    bar = shown["progress"]
    assert bar[0] == [0, total] and bar[-1] == [total, total] and len(bar) > 2, bar
    assert shown["phase"] == "done" and shown["status"] == "Done.", shown
    assert "verified  service listening on TCP port 80" in shown["output"], shown["output"]
    # the live host, read there
    assert live(lab, "rs1") == {"lo": ["127.0.0.1/8", f"{VIP}/32"],
                                "sysctls": {"lo/arp_ignore": "1", "all/arp_ignore": "1",
                                            "lo/arp_announce": "2", "all/arp_announce": "2"}}
    assert "net.ipv4.conf.lo.arp_ignore = 1" in lab.read_file("rs1", "/etc/sysctl.d/90-lvstui-dr.conf")


def test_failing_step_is_shown_with_its_output_and_the_host_is_left_as_it_was(lab: Lab) -> None:
    # /etc/sysctl.d read-only (a bind mount in the guest, inside rs2's own file system): the
    # sysctl steps change the live values, then writing the sysctl file fails for real
    lab.sh(None, "d=/lab/hosts/rs2/etc/sysctl.d && mount --bind $d $d && mount -o remount,bind,ro $d").check()
    try:
        before, settings = state(lab, "rs2"), live(lab, "rs2")
        shown = screens(lab, "client", "fail", "rs2")
        after, settings_after = state(lab, "rs2"), live(lab, "rs2")
    finally:
        lab.sh(None, "umount /lab/hosts/rs2/etc/sysctl.d").check()
    assert shown["phase"] == "failed", shown
    status = shown["status"]
    assert status.startswith("FAILED at make the sysctls persistent (/etc/sysctl.d/90-lvstui-dr.conf): rs2: cannot write "
                             "/etc/sysctl.d/90-lvstui-dr.conf: "), status
    assert "Read-only file system" in status and "\n" not in status, status
    out = shown["output"]
    assert "failed    make the sysctls persistent" in out and "Read-only file system" in out, out
    assert "changed   sysctl net.ipv4.conf.lo.arp_ignore=1" in out, out  # it did change something ...
    assert "the changes of this run were undone" in out, out  # ... and put it back
    undoing = [s for s in shown["statuses"] if s.startswith("rs2: undoing this run's changes, ")]
    assert undoing and all(" sysctl net.ipv4.conf." in u for u in undoing), shown["statuses"]
    failed_at = int(re.search(r"\] (\d+)/\d+ failed ", out).group(1))  # type: ignore[union-attr]
    assert shown["progress"][-1][0] == failed_at, shown["progress"]  # the bar stops where it failed
    assert settings_after == settings and settings["lo"] == ["127.0.0.1/8"], (settings, settings_after)
    assert after == before


def test_changed_host_key_is_refused_on_one_line(lab: Lab) -> None:
    # the client knows rs1's key (written here from the key itself, so this test runs alone too) ...
    lab.sh("client", f"mkdir -p /root/.ssh && echo \"rs1 $(cut -d' ' -f1,2 <<EOF\n"
                     f"{lab.read_file('rs1', f'{HOST_KEY}.pub').strip()}\nEOF\n)\" >> /root/.ssh/known_hosts"
           ).check()
    old = fingerprint(lab, "rs1")
    # ... then rs1 is "reinstalled": a new host key, sshd restarted
    lab.sh("rs1", f'kill "$(cat /run/sshd.pid)"; rm -f {HOST_KEY} {HOST_KEY}.pub && '
                  f"ssh-keygen -q -t ed25519 -N '' -f {HOST_KEY}").check()
    lab.wait_for(lambda: not lab.sh("rs1", "ss -Hltn | grep -q ':22 '").ok, timeout=30, what="sshd in rs1 to stop")
    start_sshd(lab, "rs1")
    new = fingerprint(lab, "rs1")
    assert new != old
    before, known = state(lab, "rs1"), known_hosts(lab)
    shown = screens(lab, "client", "changed", "rs1")
    assert "HostKeyScreen" not in shown["screens"], shown  # never offered for acceptance
    assert shown["phase_after_connect"] == "failed" and shown["apply_disabled"]
    assert shown["status_after_connect"] == (
        f"rs1: REFUSED: the host key CHANGED (known_hosts has {old}, the server offers {new}); possible "
        "man-in-the-middle. If the host was reinstalled, remove the old key with ssh-keygen -R rs1")
    assert shown["preview"] == ""
    assert known_hosts(lab) == known and state(lab, "rs1") == before


def test_f2_in_the_dashboard_reaches_the_preview_over_ssh(lab: Lab) -> None:
    before = state(lab, "rs2")
    shown = screens(lab, "lb1", "dashboard", "rs2", "80")
    assert shown["screens"][:3] == ["DashboardScreen", "SetupChooserScreen", "RealServerFormScreen"], shown
    assert {"HostKeyScreen", "SetupRunScreen"} <= set(shown["screens"]), shown
    assert shown["hostkey"]["fingerprint"].endswith(fingerprint(lab, "rs2"))
    assert shown["phase_after_connect"] == "preview", shown
    plan = shown["preview"]
    assert re.search(r"^rs2: plan realserver \(\d+ changes\)$", plan, re.MULTILINE) and f"$ ip addr add {VIP}/32 dev lo" in plan, plan
    assert "+net.ipv4.conf.all.arp_announce = 2" in plan, plan
    assert "rs2" in known_hosts(lab, "lb1")
    # Close hangs up the SSH connection the preview used (in a thread of its own, off the UI)
    assert shown["ssh_before_close"] == 1 and shown["ssh_after_close"] == 0, shown
    assert state(lab, "rs2") == before  # a preview changes nothing


def test_director_wizard_applies_a_master_over_ssh(lab: Lab) -> None:
    assert lab.run("lb1", ["ipvsadm", "-Ln"]).check().stdout.count("\n") == 3  # no service yet
    shown = screens(lab, "client", "director", "lb1", "80")
    assert "hostkey" in shown and shown["phase_after_connect"] == "preview", shown
    plan = shown["preview"]
    assert "lb1: plan director" in plan and "+++ /etc/keepalived/keepalived.conf" in plan, plan
    assert "+    state MASTER" in plan and "+    real_server 192.168.1.21 80 {" in plan, plan
    assert shown["phase"] == "done" and shown["status"] == "Done.", shown
    assert "verified  VRRP instance VI_1 is MASTER" in shown["output"], shown["output"]
    # the live director, read there
    conf = lab.read_file("lb1", "/etc/keepalived/keepalived.conf")
    assert "state MASTER" in conf and "auth_pass lab-pass" in conf
    ipvs = lab.run("lb1", ["ipvsadm", "-Ln"]).check().stdout
    assert f"TCP  {VIP}:80 wlc" in ipvs and "192.168.1.21:80" in ipvs, ipvs
    lab.wait_for(lambda: f"inet {VIP}/32" in lab.run("lb1", ["ip", "-o", "addr", "show", "dev", "eth0"]).stdout,
                 timeout=20, what="the VIP on lb1's eth0")
