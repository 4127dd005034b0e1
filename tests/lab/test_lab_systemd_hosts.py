"""``lvstui lab --systemd-hosts``: the lab's cluster plus sd1 and sd2, whose init is systemd,
reachable over SSH from lb1 and rebooted through the lab's control path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lvstui.lab import Lab, LabUnavailable, require_uml
from lvstui.lab.scenario import Cluster, bring_up, lab_spec

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    try:
        require_uml()
        lab = Lab(lab_spec(systemd_hosts=True), workdir=tmp_path_factory.mktemp("lab-systemd")).start()
    except LabUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield bring_up(lab, lambda _: None, traffic=False, wait_master=False)
    finally:
        lab.close()


def ssh_from_lb1(lab: Lab, host: str) -> str:
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", "-o", "ConnectTimeout=10",
            f"root@{host}", "hostname; cat /proc/1/comm"]
    return lab.run("lb1", argv, timeout=60).stdout


def test_systemd_hosts_in_the_lab_cluster(cluster: Cluster) -> None:
    lab = cluster.lab
    assert [h.name for h in lab.spec.hosts if h.systemd] == ["sd1", "sd2"]
    for host in ("sd1", "sd2"):
        assert ssh_from_lb1(lab, host) == f"{host}\nsystemd\n"
    ok, text = cluster.ctl("help")
    assert ok and "reboot|poweroff|boot SD" in text


def test_ctl_reboots_a_systemd_host_and_sshd_comes_back(cluster: Cluster) -> None:
    lab = cluster.lab
    lab.write_file("sd2", "/etc/lab-kept", "kept\n")
    ok, text = cluster.ctl("reboot", "sd2")
    assert ok and text.startswith("sd2 boot 2: "), text
    assert lab.read_file("sd2", "/etc/lab-kept") == "kept\n"
    assert ssh_from_lb1(lab, "sd2") == "sd2\nsystemd\n"  # started by its init at boot


def test_ctl_refuses_what_it_cannot_boot(cluster: Cluster) -> None:
    ok, text = cluster.ctl("reboot", "lb1")
    assert not ok and "one systemd host: sd1, sd2" in text
    ok, text = cluster.ctl("poweroff")
    assert not ok
