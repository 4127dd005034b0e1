"""AptInstallStep without installing: names are validated, the probe reads this machine's real
dpkg (read-only), the director plan uses it on apt hosts and keeps dnf's command.  The install,
its failures and its undo run for real in the lab (test_mirror_lab.py)."""

from __future__ import annotations

import shutil

import pytest

from lvstui.setup.director import HostFacts, _install_step
from lvstui.setup.packages import POLICY, AptInstallStep, dpkg_set
from lvstui.setup.plan import CommandStep
from lvstui.setup.runner import LocalRunner
from lvstui.setup.validate import ValidationError


@pytest.mark.parametrize("name", ["", "-oAPT::x=1", "a b", "keepalived;reboot", "$(id)", "pkg/../x"])
def test_package_names_are_validated(name: str) -> None:
    with pytest.raises(ValidationError):
        AptInstallStep(("ipvsadm", name))


def test_probe_reads_the_real_dpkg() -> None:
    if shutil.which("dpkg-query") is None:
        pytest.fail("dpkg-query is needed (Debian's dpkg)", pytrace=False)
    runner = LocalRunner()
    known = dpkg_set(runner)
    assert known["dpkg"][1].startswith("ii")
    step = AptInstallStep(("dpkg", "lvstui-no-such-package"))
    probe = step.probe(runner)
    assert probe.needed and probe.detail == "not installed: lvstui-no-such-package"
    assert not AptInstallStep(("dpkg",)).probe(runner).needed


def test_preview_shows_the_policy_file_and_apt_command() -> None:
    step = AptInstallStep(("ipvsadm", "keepalived"))
    install, cleanup = step.commands()
    assert f"[ ! -e {POLICY} ]" in install and "exit 101" in install
    assert install.endswith("--no-install-recommends -o Dpkg::Options::=--force-confdef "
                            "-o Dpkg::Options::=--force-confold ipvsadm keepalived")
    assert f"rm -f {POLICY}" in cleanup and "lvstui setup" in cleanup  # only its own file


def test_director_plan_installs_with_apt_or_dnf() -> None:
    apt = _install_step(HostFacts("apt", ("keepalived",), systemd=True))
    assert isinstance(apt, AptInstallStep) and apt.packages == ("keepalived",)
    dnf = _install_step(HostFacts("dnf", ("ipvsadm", "keepalived"), systemd=True))
    assert isinstance(dnf, CommandStep) and list(dnf.command) == ["dnf", "install", "-y", "ipvsadm", "keepalived"]


def test_putting_dpkg_back_purges_what_appeared_and_removes_what_had_only_its_conffiles() -> None:
    before = {"dpkg": ("1.21", "ii"), "keepalived": ("1:2.2.7-1+b2", "rc")}
    after = {**before, "keepalived": ("1:2.2.7-1+b2", "ii"), "ipvsadm": ("1:1.31-1+b1", "ii"),
             "libnl-3-200:amd64": ("3.7.0", "iF")}  # half-configured counts as appeared
    back = AptInstallStep._back(before, after)
    assert back == ("export DEBIAN_FRONTEND=noninteractive; rc=0; "
                    "dpkg --remove ipvsadm keepalived libnl-3-200:amd64 || rc=$?; "
                    "dpkg --purge ipvsadm libnl-3-200:amd64 || rc=$?; exit $rc")
    assert AptInstallStep._back(before, dict(before)) is None
