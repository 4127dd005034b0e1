"""Lab hosts with systemd as their init (systemd-nspawn --boot in the guest): they boot,
bring eth0 up with their own network stack, start what is enabled, and reboot for real."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lvstui.lab import HostSpec, Lab, LabError, LabSpec, LabUnavailable, require_uml

pytestmark = pytest.mark.lab

SPEC = LabSpec(hosts=(
    HostSpec("sd1", 31, init="systemd", network="networkd"),
    HostSpec("sd2", 32, init="systemd", network="ifupdown"),
    HostSpec("client", 50, role="client"),
))
# A unit the test enables with systemctl: after a reboot only the init can have started it.
ECHO_UNIT = """[Unit]
Description=lab test: HTTP on 8080
After=network.target

[Service]
ExecStart=/usr/bin/python3 -I -S -m http.server --bind 0.0.0.0 --directory /srv 8080

[Install]
WantedBy=multi-user.target
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    try:
        require_uml()
        lab = Lab(SPEC, workdir=tmp_path_factory.mktemp("machines")).start()
    except LabUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield lab
    finally:
        lab.close()


def fetch(lab: Lab, host: str, path: str = "/") -> str:
    number = SPEC.host(host).number
    return lab.run("client", ["curl", "-sf", "--max-time", "5", f"http://192.168.1.{number}:8080{path}"]).stdout


@pytest.mark.parametrize("host", ["sd1", "sd2"])
def test_systemd_is_pid_1_and_the_network_stack_configured_eth0(lab: Lab, host: str) -> None:
    assert lab.run(host, ["cat", "/proc/1/comm"]).check().stdout.strip() == "systemd"
    assert lab.run(host, ["systemctl", "is-system-running"]).stdout.strip() in ("running", "degraded")
    unit = "systemd-networkd.service" if host == "sd1" else "networking.service"
    other = "networking.service" if host == "sd1" else "systemd-networkd.service"
    assert lab.run(host, ["systemctl", "is-active", unit]).stdout.strip() == "active"
    assert lab.run(host, ["systemctl", "is-active", other]).stdout.strip() != "active"
    addrs = lab.run(host, ["ip", "-o", "addr", "show", "dev", "eth0"]).check().stdout
    spec = SPEC.host(host)
    assert f"inet {spec.ipv4}/24" in addrs and f"inet6 {spec.ipv6}/64" in addrs
    assert lab.run(host, ["hostname"]).stdout.strip() == host
    # the real machine's enabled units are not started in the lab
    assert lab.sh(host, "ls /etc/systemd/system/multi-user.target.wants").stdout.split() == [unit]


def test_an_enabled_unit_comes_back_after_a_reboot(lab: Lab) -> None:
    for host in ("sd1", "sd2"):
        lab.write_file(host, "/srv/index.html", f"{host}\n")
        lab.write_file(host, "/etc/systemd/system/lab-echo.service", ECHO_UNIT)
        lab.run(host, ["systemctl", "enable", "--now", "lab-echo.service"]).check()
        lab.write_file(host, "/run/lab-marker", "gone at reboot\n")
    for host in ("sd1", "sd2"):
        assert lab.wait_for(lambda h=host: fetch(lab, h), timeout=20, what=f"{host}:8080") == f"{host}\n"
    first = lab.run("sd1", ["cat", "/proc/sys/kernel/random/boot_id"]).stdout
    pid1 = lab.run("sd1", ["systemctl", "show", "-P", "MainPID", "lab-echo.service"]).stdout
    report = lab.reboot_host("sd1")
    assert report["state"] in ("running", "degraded") and report["boots"] == 2, report
    # a new boot of the init (a new journal boot, new pids); /etc kept, /run fresh
    journal = lab.run("sd1", ["journalctl", "--list-boots", "--no-pager"]).stdout
    assert lab.run("sd1", ["systemctl", "show", "-P", "MainPID", "lab-echo.service"]).stdout != pid1
    assert lab.run("sd1", ["test", "-e", "/run/lab-marker"]).rc == 1
    assert lab.run("sd1", ["test", "-e", "/etc/systemd/system/lab-echo.service"]).rc == 0
    assert lab.wait_for(lambda: fetch(lab, "sd1"), timeout=20, what="sd1:8080 after reboot") == "sd1\n", journal
    assert first  # the guest kernel is shared: its boot id does not change, the init's boot does
    report = lab.reboot_host("sd2")
    assert report["boots"] == 2
    assert lab.wait_for(lambda: fetch(lab, "sd2"), timeout=20, what="sd2:8080 after reboot") == "sd2\n"


def test_power_off_and_boot(lab: Lab) -> None:
    lab.poweroff_host("sd2")
    with pytest.raises(LabError, match="sd2 is not running"):
        lab.run("sd2", ["true"])
    assert lab.run("client", ["curl", "-sf", "--max-time", "2", "http://192.168.1.32:8080/"]).rc != 0
    report = lab.boot_host("sd2")
    assert report["state"] in ("running", "degraded")
    assert lab.wait_for(lambda: fetch(lab, "sd2"), timeout=20, what="sd2:8080 after boot") == "sd2\n"


def test_not_a_systemd_host(lab: Lab) -> None:
    with pytest.raises(LabError, match="no init to boot"):
        lab.reboot_host("client")


def test_spec_refuses_what_a_systemd_host_cannot_have() -> None:
    with pytest.raises(ValueError, match="no lab services"):
        HostSpec("x", 40, init="systemd", services=("http",))
    with pytest.raises(ValueError, match="bad init"):
        HostSpec("x", 40, init="sysv")
    with pytest.raises(ValueError, match="bad network"):
        HostSpec("x", 40, init="systemd", network="NetworkManager")


def test_a_host_that_cannot_boot_says_why(lab: Lab) -> None:
    """Last in this module: it leaves sd2 without an init."""
    lab.poweroff_host("sd2")
    # what nspawn --boot looks for, gone from sd2's disk (whiteouts in its upper layer)
    lab.sh(None, "rm -f /lab/hosts/sd2/usr/lib/systemd/systemd /lab/hosts/sd2/usr/sbin/init "
                 "/lab/hosts/sd2/sbin/init /lab/hosts/sd2/lib/systemd/systemd").check()
    with pytest.raises(LabError, match=r"sd2 does not boot: systemd-nspawn failed 3 times in a row, last: .*init"):
        lab.boot_host("sd2", timeout=60)
