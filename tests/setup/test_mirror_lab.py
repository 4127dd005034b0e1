"""The director wizard installs ipvsadm and keepalived with apt, for real, in the lab.

lb1 is a bare lab host: no keepalived or ipvsadm, and an apt that sees only the lab's package
mirror (scripts/mirror.sh's .deb files, served from the guest root).  Over real SSH the wizard
installs them (no service started by the install), writes keepalived.conf, starts keepalived
and verifies IPVS and MASTER; --undo purges exactly what appeared.  With the mirror down the
install fails in one line and dpkg's set is what it was.  Nothing here touches this machine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lvstui.lab import HostSpec, Lab, LabError, LabProcess, LabSpec, mirror, require_uml
from lvstui.lab.spec import MIRROR_URL
from tests.setup.lab_ssh import serve_ssh

pytestmark = pytest.mark.lab

VIP = "192.168.1.100"
SPEC = LabSpec(hosts=(
    HostSpec("lb1", 11, role="director", bare=True),
    HostSpec("rs1", 21, role="real_server", services=("http",)),
    HostSpec("client", 50, role="client"),
))
DIRECTOR_TOML = f"""
[virtual_server]
vip = "{VIP}"
port = 80
lb_algo = "rr"
delay_loop = 3

[health_check]
type = "TCP_CHECK"
connect_timeout = 2

[[real_server]]
address = "192.168.1.21"

[vrrp]
virtual_router_id = 52
auth_pass = "mirror"

[[director]]
host = "lb1"
state = "MASTER"
priority = 150
"""
DPKG = "dpkg-query -W -f '${binary:Package} ${Version} ${db:Status-Abbrev}\\n' | sort"
TITLE = "install ipvsadm keepalived (apt)"


class Mirror:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.proc: LabProcess | None = None

    def up(self) -> None:
        if self.proc is None:
            self.proc = mirror.start_mirror(self.lab)

    def down(self) -> None:
        if self.proc is not None:
            self.lab.stop(self.proc)
            self.proc = None


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    try:
        require_uml()
        mirror.require_mirror()
        lab = Lab(SPEC, workdir=tmp_path_factory.mktemp("mirror-lab")).start()
    except LabError as exc:  # no kernel (LabUnavailable), no mirror, a boot that failed: one line
        pytest.fail(str(exc), pytrace=False)
    try:
        serve_ssh(lab, ("lb1",), lambda host: mirror.sshd_command())
        lab.write_file("client", "/root/director.toml", DIRECTOR_TOML)
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="module")
def served(lab: Lab) -> Iterator[Mirror]:
    m = Mirror(lab)
    try:
        yield m
    finally:
        m.down()


@pytest.fixture(scope="module")
def before(lab: Lab) -> str:
    return lab.sh("lb1", DPKG, timeout=120).check().stdout


def wizard(lab: Lab, *args: str):  # type: ignore[no-untyped-def]
    with mirror.limit_hostfs_files(lab):
        return lab.lvstui("client", "setup", "director", "--from", "/root/director.toml", "--yes",
                          "--accept-new-host-key", *args, timeout=900)


def test_bare_host_lacks_the_packages(lab: Lab, before: str) -> None:
    gone = lab.sh("lb1", "command -v keepalived; command -v ipvsadm; ls /usr/sbin/policy-rc.d; "
                         "cat /etc/apt/sources.list.d/* 2>/dev/null; true").check().stdout
    assert gone == "", gone
    assert " keepalived " not in before and " ipvsadm " not in before
    assert MIRROR_URL in lab.read_file("lb1", "/etc/apt/sources.list")


def test_mirror_down_fails_in_one_line_and_leaves_dpkg(lab: Lab, served: Mirror, before: str) -> None:
    served.down()
    done = wizard(lab)
    assert done.rc == 1, done.describe()
    assert f"lb1: FAILED at {TITLE}" in done.stdout, done.describe()
    line = next(x for x in done.stdout.splitlines() if x.strip().startswith(f"FAILED {TITLE}:"))
    assert "apt-get install ipvsadm keepalived failed: E: Unable to locate package" in line, done.stdout
    assert lab.sh("lb1", DPKG, timeout=120).check().stdout == before
    left = lab.sh("lb1", "ls /usr/sbin/policy-rc.d /etc/keepalived/keepalived.conf /var/lib/lvstui/*.json "
                         "2>/dev/null; true").stdout
    assert left == "", left


def test_failed_unpack_midway_is_purged(lab: Lab, served: Mirror, before: str) -> None:
    """dpkg fails on ipvsadm (a /sbin/ipvsadm there, in another package's file list) after
    apt has unpacked others: what appeared is purged, dpkg's set is what it was."""
    served.up()
    claim = ("L=$(ls /var/lib/dpkg/info/*.list | head -n 1) && cp \"$L\" /root/claimed.list && "
             "echo \"$L\" > /root/claimed && echo /sbin/ipvsadm >> \"$L\" && : > /sbin/ipvsadm")
    lab.sh("lb1", claim).check()
    try:
        done = wizard(lab)
    finally:
        lab.sh("lb1", 'cp /root/claimed.list "$(cat /root/claimed)" && rm /root/claimed /root/claimed.list '
                      '/sbin/ipvsadm').check()
    assert done.rc == 1, done.describe()
    line = next(x for x in done.stdout.splitlines() if x.strip().startswith(f"FAILED {TITLE}:"))
    assert "apt-get install ipvsadm keepalived failed: E: Sub-process /usr/bin/dpkg returned an error" in line, line
    assert "| Removing libnl-3-200" in done.stdout, done.stdout  # the output's tail: the purge of what appeared
    assert lab.sh("lb1", DPKG, timeout=120).check().stdout == before
    assert lab.sh("lb1", "command -v keepalived; ls /usr/sbin/policy-rc.d 2>/dev/null; true").stdout == ""


def test_wizard_installs_and_keepalived_runs_master(lab: Lab, served: Mirror, before: str) -> None:
    served.up()
    done = wizard(lab)
    assert done.rc == 0, done.describe()
    assert f"changed   {TITLE}" in done.stderr and "verified  VRRP instance VI_1 is MASTER" in done.stderr
    now = lab.sh("lb1", DPKG, timeout=120).check().stdout
    added = sorted(set(now.splitlines()) - set(before.splitlines()))
    assert {x.split()[0] for x in added} >= {"keepalived", "ipvsadm"}, added
    assert all(x.split()[-1] == "ii" for x in added) and not set(before.splitlines()) - set(now.splitlines())
    ipvs = lab.run("lb1", ["ipvsadm", "-Ln"]).check().stdout
    assert f"TCP  {VIP}:80 rr" in ipvs and "192.168.1.21:80" in ipvs, ipvs
    lab.run("lb1", ["keepalived", "-t", "-f", "/etc/keepalived/keepalived.conf"]).check()
    # the install started nothing (else the wizard's start would find keepalived running and
    # the sample configuration would be in force): the wizard's own start is the one keepalived
    assert "changed   start keepalived (no systemd on this host)" in done.stderr, done.stderr
    pids = lab.sh("lb1", "cat /run/keepalived.pid; ls /usr/sbin/policy-rc.d 2>/dev/null; true").stdout.split()
    assert len(pids) == 1 and pids[0].isdigit(), pids


def test_undo_purges_exactly_what_appeared(lab: Lab, served: Mirror, before: str) -> None:
    done = wizard(lab, "--undo")
    assert done.rc == 0, done.describe()
    assert lab.sh("lb1", DPKG, timeout=120).check().stdout == before
    gone = lab.sh("lb1", "command -v keepalived; command -v ipvsadm; ls /etc/keepalived 2>/dev/null; "
                         "ls /var/lib/lvstui/*.json 2>/dev/null; true").stdout
    assert gone == "", gone
