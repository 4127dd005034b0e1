"""Real sshd in lab hosts for the wizards' lab tests (test_setup_lab.py, test_mirror_lab.py).

The client host gets a key pair; each target host its own host key, sshd_config and
authorized_keys, and an sshd from *sshd* (host -> (argv, env)), default the system's path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lvstui.lab import Lab

SSHD_CONFIG = (
    "ListenAddress 0.0.0.0:22\nHostKey /etc/lab-ssh/host_ed25519\nPermitRootLogin prohibit-password\n"
    "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nUseDNS no\n"
    "PidFile /run/sshd.pid\nLogLevel ERROR\n")
SshdCommand = Callable[[str], tuple[list[str], dict[str, str]]]


def _system_sshd(host: str) -> tuple[list[str], dict[str, str]]:
    return ["/usr/sbin/sshd"], {}


def serve_ssh(lab: Lab, targets: Iterable[str], sshd: SshdCommand = _system_sshd) -> None:
    """Starts an sshd in every target, reachable from the client as root with its key."""
    lab.sh("client", "mkdir -p /root/.ssh && chmod 700 /root/.ssh && "
                     "ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519 && "
                     "ssh-keygen -q -t ed25519 -N '' -f /root/stranger", timeout=60).check()
    pub = lab.read_file("client", "/root/.ssh/id_ed25519.pub")
    targets = list(targets)
    servers = {}
    for host in targets:
        # the machine's root .bashrc may run slow tools (sshd makes bash read it): not here
        lab.sh(host, "mkdir -p /run/sshd /etc/lab-ssh /root/.ssh && chmod 700 /root/.ssh && : > /root/.bashrc"
                     " && ssh-keygen -q -t ed25519 -N '' -f /etc/lab-ssh/host_ed25519", timeout=60).check()
        lab.write_file(host, "/etc/lab-ssh/sshd_config", SSHD_CONFIG)
        lab.write_file(host, "/root/.ssh/authorized_keys", pub, mode=0o600)
        argv, env = sshd(host)
        servers[host] = lab.spawn(host, [*argv, "-D", "-e", "-f", "/etc/lab-ssh/sshd_config"], env=env)
    for host in targets:
        ended = lab.wait_for(lambda h=host: lab.sh(h, "ss -Hltn | grep -q ':22 '").ok or lab.poll(servers[h]),
                             timeout=30, what=f"sshd in {host}")
        if ended is not True:
            raise AssertionError(f"sshd in {host} ended: {ended}")
