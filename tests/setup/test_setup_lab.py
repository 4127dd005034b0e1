"""The wizards over real SSH in the User-Mode Linux lab.

Every target host (a network namespace with its own overlay file system) runs a real
sshd; lvstui runs inside the guest, on the client host, and configures the real servers
and a keepalived director pair from scratch.  Nothing here touches this machine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lvstui.lab import HostSpec, Lab, LabSpec, LabUnavailable, require_uml
from lvstui.lab.lab import REPO_DIR
from tests.setup.lab_ssh import SSHD_CONFIG, serve_ssh

pytestmark = pytest.mark.lab

VIP = "192.168.1.100"
VIP6 = "2001:db8:1::100"
TARGETS = ("lb1", "lb2", "rs1", "rs2", "rs3")
SPEC = LabSpec(hosts=(
    HostSpec("lb1", 11, role="director"), HostSpec("lb2", 12, role="director"),
    *(HostSpec(f"rs{i}", 20 + i, role="real_server", services=("http",)) for i in (1, 2, 3)),
    HostSpec("client", 50, role="client"),
))
DIRECTOR_TOML = f"""
[virtual_server]
vip = "{VIP}"
port = 80
lb_algo = "rr"
lb_kind = "DR"
delay_loop = 3

[health_check]
type = "HTTP_GET"
path = "/"
status = 200
connect_timeout = 2

[[real_server]]
address = "192.168.1.21"

[[real_server]]
address = "192.168.1.22"

[vrrp]
interface = "eth0"
virtual_router_id = 51
auth_pass = "lab-pass"

[[director]]
host = "lb1"
state = "MASTER"
priority = 150

[[director]]
host = "lb2"
state = "BACKUP"
priority = 100
"""
# What the wizards may change, read on each host before and after.
STATE = ("ip -o addr show | awk '{print $2, $4}' | sort; "
         "cat /proc/sys/net/ipv4/conf/lo/arp_ignore /proc/sys/net/ipv4/conf/all/arp_ignore "
         "/proc/sys/net/ipv4/conf/lo/arp_announce /proc/sys/net/ipv4/conf/all/arp_announce; "
         "ls /etc/sysctl.d /etc/keepalived /etc/systemd/system /etc/systemd/system/multi-user.target.wants "
         "2>/dev/null; cat /etc/keepalived/keepalived.conf 2>/dev/null; "
         "[ -s /run/keepalived.pid ] && kill -0 \"$(cat /run/keepalived.pid)\" 2>/dev/null && echo keepalived; "
         "ipvsadm -Ln 2>/dev/null | tail -n +4; ls /var/lib/lvstui/*.journal.json 2>/dev/null; true")


def state(lab: Lab, host: str) -> str:
    return lab.sh(host, STATE, timeout=60).check().stdout


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    try:
        require_uml()
        lab = Lab(SPEC, workdir=tmp_path_factory.mktemp("setup-lab")).start()
    except LabUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        serve_ssh(lab, TARGETS)
        # rs3 also has "admin", who must give a password to sudo
        lab.sh("rs3", "useradd -m -s /bin/sh admin && echo admin:s3cret-pw | chpasswd && "
                      "mkdir -p /home/admin/.ssh && cp /root/.ssh/authorized_keys /home/admin/.ssh/ && "
                      "chown -R admin: /home/admin/.ssh && echo 'admin ALL=(ALL) ALL' > /etc/sudoers.d/admin && "
                      "chmod 440 /etc/sudoers.d/admin && "
                      # and "ops", whom sudo lets in without a password
                      "useradd -m -s /bin/sh ops && usermod -p '*' ops && mkdir -p /home/ops/.ssh && "
                      "cp /root/.ssh/authorized_keys /home/ops/.ssh/ && chown -R ops: /home/ops/.ssh && "
                      "echo 'ops ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/ops && chmod 440 /etc/sudoers.d/ops",
                      timeout=60).check()
        lab.write_file("client", "/root/director.toml", DIRECTOR_TOML)
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="module")
def before(lab: Lab) -> dict[str, str]:
    return {host: state(lab, host) for host in TARGETS}


def setup(lab: Lab, *args: str, env: dict[str, str] | None = None, accept: bool = True,  # type: ignore[no-untyped-def]
          timeout: float = 400):
    """lvstui setup ARGS on the client; *accept* adds --accept-new-host-key (so a test run alone works)."""
    extra = ["--accept-new-host-key"] if accept and "--accept-new-host-key" not in args else []
    return lab.lvstui("client", "setup", *args, *extra, timeout=timeout, env=env or {})


def answers(lab: Lab, count: int = 8) -> list[str]:
    script = ("import urllib.request\n"
              f"for _ in range({count}):\n"
              f"    print(urllib.request.urlopen('http://{VIP}/', timeout=5).read().decode().strip())\n")
    return lab.run("client", [lab.python, "-I", "-S", "-c", script], timeout=120).check().stdout.split()


def test_realservers_from_scratch(lab: Lab, before: dict[str, str]) -> None:
    assert "192.168.1.100" not in before["rs1"]
    done = setup(lab, "realserver", "rs1", "rs2", "--vip", VIP, "--vip", VIP6, "--port", "80",
                 "--accept-new-host-key", "--yes")
    assert done.rc == 0, done.describe()
    for host in ("rs1", "rs2"):
        now = state(lab, host)
        assert f"lo {VIP}/32" in now and f"lo {VIP6}/128" in now
        assert "\n1\n1\n2\n2\n" in now and "90-lvstui-dr.conf" in now
        assert "lvstui-vip.service" in now and "realserver.journal.json" in now
        unit = lab.read_file(host, "/etc/systemd/system/lvstui-vip.service")
        assert f"ExecStart=/sbin/ip addr replace {VIP}/32 dev lo" in unit
    assert "rs1" in lab.read_file("client", "/root/.ssh/known_hosts")
    assert "verified  service listening on TCP port 80" in done.stderr


def test_directors_from_scratch_and_traffic(lab: Lab) -> None:
    done = setup(lab, "director", "--from", "/root/director.toml", "--accept-new-host-key", "--yes")
    assert done.rc == 0, done.describe()
    assert "verified  VRRP instance VI_1 is MASTER" in done.stderr
    assert "verified  VRRP instance VI_1 is BACKUP" in done.stderr
    assert "HTTP_GET" in lab.read_file("lb1", "/etc/keepalived/keepalived.conf")
    ipvs = lab.run("lb1", ["ipvsadm", "-Ln"]).check().stdout
    assert f"TCP  {VIP}:80 rr" in ipvs and "192.168.1.21:80" in ipvs and "192.168.1.22:80" in ipvs
    assert f"inet {VIP}/32" in lab.run("lb1", ["ip", "-o", "addr", "show", "dev", "eth0"]).stdout
    assert VIP not in lab.run("lb2", ["ip", "-o", "addr", "show", "dev", "eth0"]).stdout
    seen = answers(lab)
    assert set(seen) == {"rs1", "rs2"}, seen


def test_rerun_changes_nothing(lab: Lab) -> None:
    files = "stat -c '%n %Y' /etc/sysctl.d/90-lvstui-dr.conf /etc/systemd/system/lvstui-vip.service"
    stamps = lab.sh("rs1", files).check().stdout
    conf_stamp = lab.sh("lb1", "stat -c %Y /etc/keepalived/keepalived.conf").check().stdout
    rs = setup(lab, "realserver", "rs1", "rs2", "--vip", VIP, "--vip", VIP6, "--port", "80")  # no --yes, no tty: fine
    assert rs.rc == 0, rs.describe()
    assert "nothing to change" in rs.stdout and " changed " not in rs.stderr
    di = setup(lab, "director", "--from", "/root/director.toml", "--dry-run")
    assert di.rc == 0 and di.stdout.count("(nothing to change)") == 2, di.describe()
    assert lab.sh("rs1", files).stdout == stamps
    assert lab.sh("lb1", "stat -c %Y /etc/keepalived/keepalived.conf").stdout == conf_stamp


def test_boot_files_bring_the_configuration_back(lab: Lab) -> None:
    """A reboot, as far as the files go: with the live settings gone, what lvstui wrote restores them."""
    configured = state(lab, "rs1")
    lab.sh("rs1", f"ip addr del {VIP}/32 dev lo && ip addr del {VIP6}/128 dev lo && "
                  "for k in lo all; do sysctl -qw net.ipv4.conf.$k.arp_ignore=0 net.ipv4.conf.$k.arp_announce=0; done"
           ).check()
    assert VIP not in state(lab, "rs1")
    # what systemd-sysctl and the unit's ExecStart lines do at boot
    lab.sh("rs1", "sysctl -q -p /etc/sysctl.d/90-lvstui-dr.conf && "
                  "sed -n 's/^ExecStart=//p' /etc/systemd/system/lvstui-vip.service | sh -e").check()
    assert state(lab, "rs1") == configured


def test_jump_host(lab: Lab) -> None:
    done = setup(lab, "realserver", "rs2", "--vip", VIP, "--vip", VIP6, "--jump", "lb1", "--dry-run")
    assert done.rc == 0 and "rs2: plan realserver (nothing to change)" in done.stdout, done.describe()


def test_master_failure_fails_over(lab: Lab) -> None:
    lab.sh("lb1", 'kill "$(cat /run/keepalived.pid)"').check()
    lab.wait_for(lambda: f"inet {VIP}/32" in lab.run("lb2", ["ip", "-o", "addr", "show", "dev", "eth0"]).stdout,
                 timeout=20, what="lb2 to take the VIP")
    assert set(answers(lab)) == {"rs1", "rs2"}
    # back as it was: the wizard's re-run starts the master again, and only that
    done = setup(lab, "director", "--from", "/root/director.toml", "--yes")
    assert done.rc == 0, done.describe()
    assert "changed   start keepalived" in done.stderr and "changed   write" not in done.stderr
    lab.wait_for(lambda: VIP not in lab.run("lb2", ["ip", "-o", "addr", "show", "dev", "eth0"]).stdout,
                 timeout=20, what="lb2 to hand the VIP back")


def test_changed_host_key_refused(lab: Lab, before: dict[str, str]) -> None:
    lab.sh("client", "ssh-keygen -q -t ed25519 -N '' -f /root/impostor && "
                     "echo \"rs3 $(cut -d' ' -f1,2 /root/impostor.pub)\" > /root/kh_wrong").check()
    done = setup(lab, "realserver", "rs3", "--vip", VIP, "--yes", "--accept-new-host-key",
                 "--known-hosts", "/root/kh_wrong")
    assert done.rc == 1 and "host key CHANGED" in done.stderr and done.stderr.count("\n") == 1, done.describe()
    assert state(lab, "rs3") == before["rs3"]


def test_unknown_host_key_with_yes_refused(lab: Lab, before: dict[str, str]) -> None:
    done = setup(lab, "realserver", "rs3", "--vip", VIP, "--yes", "--known-hosts", "/root/kh_empty", accept=False)
    assert done.rc == 1 and "unknown host key ssh-ed25519 SHA256:" in done.stderr, done.describe()
    assert state(lab, "rs3") == before["rs3"]


def test_refused_login(lab: Lab, before: dict[str, str]) -> None:
    done = setup(lab, "realserver", "rs3", "--vip", VIP, "--yes", "--user", "nosuch", "--identity", "/root/stranger",
                 "--accept-new-host-key")
    assert done.rc == 1 and "login refused" in done.stderr and "rs3" in done.stderr, done.describe()
    assert state(lab, "rs3") == before["rs3"]


def test_unreachable_host_is_one_line(lab: Lab) -> None:
    done = setup(lab, "realserver", "192.168.1.99", "--vip", VIP, "--yes", "--timeout", "5")  # nobody there
    assert done.rc == 1 and done.stderr.count("\n") == 1, done.describe()
    assert done.stderr.startswith("lvstui: 192.168.1.99 (root@192.168.1.99:22): ") and "unreachable" in done.stderr


def test_sudo_password_missing_then_wrong(lab: Lab, before: dict[str, str]) -> None:
    done = setup(lab, "realserver", "rs3", "--vip", VIP, "--yes", "--user", "admin")
    assert done.rc == 1 and "sudo needs a password" in done.stderr, done.describe()
    done = setup(lab, "realserver", "rs3", "--vip", VIP, "--yes", "--user", "admin",
                 env={"LVSTUI_SUDO_PASSWORD": "wrong"})
    assert done.rc == 1 and "sudo refused the password for admin" in done.stderr, done.describe()
    assert state(lab, "rs3") == before["rs3"]


def test_step_failing_midway_is_rolled_back(lab: Lab, before: dict[str, str]) -> None:
    # /etc/sysctl.d cannot take a file: the sysctls (steps 1-4) change, step 5 fails
    lab.sh("rs3", "mv /etc/sysctl.d /etc/sysctl.d.away && touch /etc/sysctl.d").check()
    try:
        done = setup(lab, "realserver", "rs3", "--vip", VIP, "--yes", "--user", "admin",
                     env={"LVSTUI_SUDO_PASSWORD": "s3cret-pw"})
    finally:
        lab.sh("rs3", "rm /etc/sysctl.d && mv /etc/sysctl.d.away /etc/sysctl.d").check()
    assert done.rc == 1, done.describe()
    assert "rs3: FAILED at make the sysctls persistent" in done.stdout
    assert "the changes of this run were undone" in done.stdout and "s3cret-pw" not in done.stdout + done.stderr
    assert state(lab, "rs3") == before["rs3"]


def test_sudo_with_password_applies_and_undoes(lab: Lab, before: dict[str, str]) -> None:
    env = {"LVSTUI_SUDO_PASSWORD": "s3cret-pw"}
    done = setup(lab, "realserver", "rs3", "--vip", VIP, "--port", "80", "--yes", "--user", "admin", env=env)
    assert done.rc == 0, done.describe()
    assert f"lo {VIP}/32" in state(lab, "rs3")
    assert "net.ipv4.conf.all.arp_announce = 2" in lab.read_file("rs3", "/etc/sysctl.d/90-lvstui-dr.conf")
    undo = setup(lab, "realserver", "rs3", "--undo", "--yes", "--user", "admin", env=env)
    assert undo.rc == 0, undo.describe()
    assert state(lab, "rs3") == before["rs3"]


def test_sudo_without_password(lab: Lab, before: dict[str, str]) -> None:
    done = setup(lab, "realserver", "rs3", "--vip", VIP, "--yes", "--user", "ops")
    assert done.rc == 0, done.describe()
    assert f"lo {VIP}/32" in state(lab, "rs3")
    owner = lab.sh("rs3", "stat -c %U /etc/sysctl.d/90-lvstui-dr.conf").check().stdout.strip()
    assert owner == "root"
    undo = setup(lab, "realserver", "rs3", "--undo", "--yes", "--user", "ops")
    assert undo.rc == 0 and state(lab, "rs3") == before["rs3"], undo.describe()


def test_failed_verification_keeps_the_changes_until_undo(lab: Lab, before: dict[str, str]) -> None:
    done = setup(lab, "realserver", "rs3", "--vip", VIP, "--port", "8081", "--yes")  # nothing listens there
    assert done.rc == 1, done.describe()
    assert "rs3: FAILED at service listening on TCP port 8081 (verification); the changes are kept" in done.stdout
    assert f"lo {VIP}/32" in state(lab, "rs3")
    undo = setup(lab, "realserver", "rs3", "--undo", "--yes")
    assert undo.rc == 0 and state(lab, "rs3") == before["rs3"], undo.describe()


def test_undo_restores_every_host(lab: Lab, before: dict[str, str]) -> None:
    di = setup(lab, "director", "--from", "/root/director.toml", "--undo", "--yes")
    assert di.rc == 0, di.describe()
    rs = setup(lab, "realserver", "rs1", "rs2", "--undo", "--yes")
    assert rs.rc == 0, rs.describe()
    for host in ("lb1", "lb2", "rs1", "rs2"):
        assert state(lab, host) == before[host], host
    again = setup(lab, "realserver", "rs1", "--undo", "--yes")
    assert again.rc == 0 and "nothing to undo" in again.stdout


PASSWORD_LOGIN = r"""
import sys
from lvstui.setup.ssh import SshOptions, SshRunner
from lvstui.setup.runner import RunnerError
options = SshOptions(password=sys.argv[1], sudo_password="s3cret-pw", accept_new_host_key=True,
                     known_hosts="/root/kh_password", allow_agent=False, timeout=30)
try:
    with SshRunner("admin@rs3:2222", options) as runner:
        print(runner.run(["id", "-un"]).stdout.strip(), runner.run(["sh", "-c", "echo $SUDO_USER"]).stdout.strip())
except RunnerError as exc:
    print(exc)
"""


def test_password_login_then_sudo(lab: Lab) -> None:
    lab.write_file("rs3", "/etc/lab-ssh/sshd_password", SSHD_CONFIG.replace("0.0.0.0:22", "0.0.0.0:2222")
                   .replace("PasswordAuthentication no", "PasswordAuthentication yes\nAuthenticationMethods password")
                   .replace("/run/sshd.pid", "/run/sshd-password.pid"))
    server = lab.spawn("rs3", ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/lab-ssh/sshd_password"])
    try:
        lab.wait_for(lambda: lab.sh("rs3", "ss -Hltn | grep -q ':2222 '").ok, timeout=30, what="sshd on 2222")
        lab.write_file("client", "/root/password_login.py", PASSWORD_LOGIN)
        run = [lab.venv_python, "/root/password_login.py"]
        good = lab.run("client", [*run, "s3cret-pw"], env={"PYTHONPATH": str(REPO_DIR)}, timeout=120).check()
        assert good.stdout.split() == ["root", "admin"], good.describe()
        bad = lab.run("client", [*run, "wrong"], env={"PYTHONPATH": str(REPO_DIR)}, timeout=120).check()
        assert "admin@rs3:2222): login refused (authentication failed with password)" in bad.stdout, bad.describe()
    finally:
        lab.stop(server)
