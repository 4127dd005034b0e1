"""The real-server wizard against a real init and a real reboot.

Lab hosts that boot systemd (systemd-nspawn in the guest, lvstui/lab/README.md "systemd
hosts"): sd1 brings its network up with systemd-networkd, sd2 with ifupdown, sd3 with
networkd but is given the oneshot unit (``--persist unit``).  Each runs the sshd its init
starts.  The wizard runs from the client over SSH; what it set up is read from the live
hosts (``ip``, /proc/sys) after a reboot, when only the files it wrote and the host's init
can have brought it back; ``--undo`` and one more reboot leave nothing of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from lvstui.lab import HostSpec, Lab, LabSpec, LabUnavailable, require_uml
from lvstui.lab.scenario import client_key, enable_sshd, wait_sshd

pytestmark = pytest.mark.lab

VIP = "192.168.1.100"
VIP6 = "2001:db8:1::100"
SPEC = LabSpec(hosts=(
    HostSpec("sd1", 31, init="systemd", network="networkd"),
    HostSpec("sd2", 32, init="systemd", network="ifupdown"),
    HostSpec("sd3", 33, init="systemd", network="networkd"),
    HostSpec("client", 50, role="client"),
))
TARGETS = ("sd1", "sd2", "sd3")
LIVE = ("ip -o addr show dev lo | awk '{print $4}' | sort; "
        "cat /proc/sys/net/ipv4/conf/lo/arp_ignore /proc/sys/net/ipv4/conf/all/arp_ignore "
        "/proc/sys/net/ipv4/conf/lo/arp_announce /proc/sys/net/ipv4/conf/all/arp_announce")
FILES = ("ls -A /etc/sysctl.d /etc/systemd/network /etc/network/interfaces.d /etc/systemd/system "
         "/etc/systemd/system/multi-user.target.wants 2>&1; ls -A /var/lib/lvstui 2>&1; "
         "find /etc /var/lib /root -xdev -name '*lvstui*' 2>/dev/null; true")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    try:
        require_uml()
        lab = Lab(SPEC, workdir=tmp_path_factory.mktemp("setup-reboot")).start()
    except LabUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        key = client_key(lab, "client")
        for host in TARGETS:
            enable_sshd(lab, host, key)
        yield lab
    finally:
        lab.close()


def live(lab: Lab, host: str) -> str:
    return lab.sh(host, LIVE).check().stdout


def files(lab: Lab, host: str) -> str:
    return lab.sh(host, FILES).check().stdout


def reboot_all(lab: Lab) -> list[dict[str, object]]:
    with ThreadPoolExecutor(len(TARGETS)) as pool:
        reports = list(pool.map(lab.reboot_host, TARGETS))
    for host in TARGETS:  # sshd back (started by the init) before the wizard needs it again
        wait_sshd(lab, host)
    return reports


def setup(lab: Lab, *args: str) -> str:
    done = lab.lvstui("client", "setup", "realserver", *args, "--accept-new-host-key", "--yes", timeout=400)
    assert done.rc == 0, done.describe()
    return done.stderr


def test_applied_survives_reboot_and_undo_leaves_nothing(lab: Lab) -> None:
    before_live = {h: live(lab, h) for h in TARGETS}
    before_files = {h: files(lab, h) for h in TARGETS}
    for host in TARGETS:
        assert VIP not in before_live[host] and before_live[host].endswith("0\n0\n0\n0\n"), before_live[host]

    setup(lab, "sd1", "sd2", "--vip", VIP, "--vip", VIP6)
    setup(lab, "sd3", "--vip", VIP, "--vip", VIP6, "--persist", "unit")
    assert lab.read_file("sd1", "/etc/systemd/network/90-lvstui-lo.network")  # what detection chose
    assert lab.read_file("sd2", "/etc/network/interfaces.d/lvstui-vip")
    assert lab.run("sd3", ["systemctl", "is-enabled", "lvstui-vip.service"]).stdout.strip() == "enabled"
    applied = {h: live(lab, h) for h in TARGETS}
    for host in TARGETS:
        assert f"{VIP}/32" in applied[host] and f"{VIP6}/128" in applied[host], (host, applied[host])
        assert applied[host].endswith("1\n1\n2\n2\n"), (host, applied[host])

    reports = reboot_all(lab)
    assert all(r["boots"] == 2 for r in reports), reports
    for host in TARGETS:
        # a fresh network namespace per boot: only the host's init and lvstui's files set these
        after = live(lab, host)
        assert f"{VIP}/32" in after and f"{VIP6}/128" in after, (host, after, lab.sh(host, "journalctl -b -q "
                                                                  "--no-pager | tail -30").stdout)
        assert after.endswith("1\n1\n2\n2\n"), (host, after)
    assert lab.run("sd3", ["systemctl", "is-active", "lvstui-vip.service"]).stdout.strip() == "active"

    for host in TARGETS:
        setup(lab, host, "--undo")
        assert live(lab, host) == before_live[host], host
    reboot_all(lab)
    for host in TARGETS:
        assert live(lab, host) == before_live[host], host
        assert files(lab, host) == before_files[host], host  # no file, unit, journal or backup left
