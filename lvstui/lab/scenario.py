"""The cluster ``lvstui lab`` runs: a keepalived pair, three real servers, a busy client.

lb1 (VRRP MASTER, priority 150) and lb2 (BACKUP, 100) hold VIP 192.168.1.100 on eth0 and
load-balance, by LVS-DR, HTTP on port 80 (HTTP_GET checks) and a TCP echo service on
9000 (TCP_CHECK) over rs1..rs3.  The control server (``control.py``, in the guest's root
namespace) runs the real servers' services and the client's traffic (``traffic.py``), and
is how a user breaks things: see ``control.HELP``.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lvstui.lab.lab import KEEPALIVED_CONF, KEEPALIVED_PIDS, REPO_DIR, Lab, LabProcess
from lvstui.lab.mirror import sshd_command
from lvstui.lab.results import LabError
from lvstui.lab.spec import HTTP_PORT, TCP_PORT, HostSpec, LabSpec

HERE = Path(__file__).resolve().parent
CONTROL_PY = HERE / "control.py"
TRAFFIC_PY = HERE / "traffic.py"
SERVICES_PY = HERE / "services.py"
GUEST_SOCKET = "/run/lvstui-lab.sock"  # in the guest root and in every director
CONTROL_ENV = "LVSTUI_LAB_CONTROL"
PRIORITIES = {"lb1": 150, "lb2": 100}
TRACK = "/etc/keepalived/lvstui-maint"

Progress = Callable[[str], None]


# `lvstui lab --systemd-hosts`: two more hosts that boot systemd, for the setup wizards.
SYSTEMD_HOSTS = (HostSpec("sd1", 31, init="systemd", network="networkd"),
                 HostSpec("sd2", 32, init="systemd", network="ifupdown"))
SSHD_CONFIG = ("ListenAddress 0.0.0.0:22\nHostKey /etc/ssh/ssh_host_ed25519_key\n"
               "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
               "UsePAM no\nUseDNS no\nLogLevel ERROR\n")


def lab_spec(systemd_hosts: bool = False) -> LabSpec:
    # The real servers' services are the control server's (each kind its own process, so
    # "stop rs1 http" leaves rs1's TCP service up): none from the lab library itself.
    spec = LabSpec.dr_cluster(directors=2, real_servers=3, client=True, services=())
    if systemd_hosts:
        spec = LabSpec(hosts=(*spec.hosts, *SYSTEMD_HOSTS))
    return spec


def client_key(lab: Lab, host: str) -> str:
    """An SSH key pair for root in ``host`` (made once); returns the public key."""
    lab.sh(host, "mkdir -p /root/.ssh && chmod 700 /root/.ssh && { [ -e /root/.ssh/id_ed25519 ] || "
                 "ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519; }", timeout=60).check()
    return lab.read_file(host, "/root/.ssh/id_ed25519.pub")


def enable_sshd(lab: Lab, host: str, authorized_key: str) -> None:
    """sshd in systemd host ``host`` as its init runs it (Debian's ssh.service, enabled for
    every boot), root logging in with ``authorized_key`` only."""
    lab.sh(host, "mkdir -p /root/.ssh && chmod 700 /root/.ssh && : > /root/.bashrc && "
                 "{ [ -e /etc/ssh/ssh_host_ed25519_key ] || "
                 "ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key; }", timeout=60).check()
    lab.write_file(host, "/etc/ssh/sshd_config", SSHD_CONFIG)
    lab.write_file(host, "/root/.ssh/authorized_keys", authorized_key, mode=0o600)
    unit = "ssh.service"
    if lab.spec.host(host).bare:
        # a bare host lacks the unpacked daemons, sshd's package among them: its init runs
        # the one at /lab/userland (mirror.sshd_command) from a unit of the lab's
        argv, env = sshd_command()
        unit = "lab-sshd.service"
        lab.write_file(host, f"/etc/systemd/system/{unit}", (
            "[Unit]\nDescription=lab: OpenSSH server (unpacked, outside the host's packages)\n"
            "After=network.target\n\n[Service]\n"
            + "".join(f"Environment={k}={v}\n" for k, v in env.items())
            + f"ExecStart={shlex.join(argv)} -D -e\nRuntimeDirectory=sshd\n\n"
            "[Install]\nWantedBy=multi-user.target\n"))
    lab.run(host, ["systemctl", "enable", "--now", unit], timeout=60).check()


def wait_sshd(lab: Lab, host: str, timeout: float = 30) -> None:
    lab.wait_for(lambda: lab.sh(host, "ss -Hltn | grep -q ':22 '").ok, timeout=timeout, what=f"sshd in {host}")


def vrrp_conf(name: str, priority: int, state: str, vip: str) -> str:
    """The part of keepalived.conf every lab director shares (the lab and the VRRP/state lab
    tests): global_defs, the track file lvstui's VRRP toggle writes, and VI_1 holding ``vip``."""
    return f"""\
global_defs {{
    router_id {name}
}}

track_file lvstui_maint {{
    file "{TRACK}"
    weight -60
    init_file 0 overwrite
}}

vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    track_file {{
        lvstui_maint
    }}
    virtual_ipaddress {{
        {vip}/24 dev eth0
    }}
}}
"""


def keepalived_conf(spec: LabSpec, name: str, priority: int) -> str:
    """keepalived.conf of director ``name``: the VRRP instance and both DR virtual services."""
    vip = spec.vip
    http = "".join(
        f"""
    real_server {rs.ipv4} {HTTP_PORT} {{
        weight 1
        HTTP_GET {{
            url {{
                path /
                status_code 200
            }}
            connect_timeout 2
            retry 1
            delay_before_retry 1
        }}
    }}"""
        for rs in spec.real_servers
    )
    tcp = "".join(
        f"""
    real_server {rs.ipv4} {TCP_PORT} {{
        weight 1
        TCP_CHECK {{
            connect_timeout 2
        }}
    }}"""
        for rs in spec.real_servers
    )
    state = "MASTER" if priority == max(PRIORITIES.values()) else "BACKUP"
    return f"""\
! lvstui lab: director {name}
{vrrp_conf(name, priority, state, vip)}
virtual_server {vip} {HTTP_PORT} {{
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
{http}
}}

virtual_server {vip} {TCP_PORT} {{
    delay_loop 2
    lb_algo wlc
    lb_kind DR
    protocol TCP
{tcp}
}}
"""


def keepalived_argv() -> list[str]:
    parent, vrrp, checkers = KEEPALIVED_PIDS
    return ["keepalived", "-f", KEEPALIVED_CONF, "-p", parent, "-r", vrrp, "-c", checkers, "-l", "-D"]


@dataclass
class Cluster:
    lab: Lab
    control: LabProcess
    timings: dict[str, float]

    def ctl(self, *words: str, timeout: float = 150.0) -> tuple[bool, str]:
        """One request to the control server: (ok, message). Booting a systemd host is the
        lab's own (``Lab.reboot_host``), not the control server's."""
        if words and words[0] in ("reboot", "poweroff", "boot"):
            return self._machine(*words)
        r = self.lab.run(
            None,
            [self.lab.python, "-I", "-S", str(CONTROL_PY), "send", GUEST_SOCKET, *words],
            timeout=timeout,
        )
        if r.rc not in (0, 1):
            raise LabError(f"the lab control server did not answer: {r.describe()}")
        return r.rc == 0, (r.stdout if r.rc == 0 else r.stderr).strip()

    def _machine(self, verb: str, *rest: str) -> tuple[bool, str]:
        names = [h.name for h in self.lab.spec.hosts if h.systemd]
        if len(rest) != 1 or rest[0] not in names:
            return False, f"{verb} takes one systemd host: {', '.join(names) or 'this lab has none (--systemd-hosts)'}"
        host = rest[0]
        if verb == "poweroff":
            report = self.lab.poweroff_host(host)
            return True, f"{host} powered off ({report['seconds']:.1f} s); `boot {host}` starts it again"
        report = self.lab.reboot_host(host) if verb == "reboot" else self.lab.boot_host(host)
        failed = f", failed units: {' '.join(report['failed'])}" if report["failed"] else ""
        wait_sshd(self.lab, host)
        return True, f"{host} boot {report['boots']}: {report['state']} in {report['seconds']:.1f} s{failed}"

    def vip_holder(self) -> list[str]:
        holders = []
        for lb in self.lab.spec.directors:
            out = self.lab.run(lb.name, ["ip", "-br", "addr", "show", "eth0"]).stdout
            if f"{self.lab.spec.vip}/" in out:
                holders.append(lb.name)
        return holders


def bring_up(lab: Lab, progress: Progress, traffic: bool = True, wait_master: bool = True) -> Cluster:
    """On a started lab (``lab_spec()``): services, keepalived pair, traffic. Timings in s.

    ``wait_master=False`` returns once keepalived runs in both directors, without waiting the
    ~3 s keepalived takes to make lb1 MASTER (the dashboard shows that happen)."""
    spec = lab.spec
    timings: dict[str, float] = {}
    started = time.monotonic()
    config = {
        "vip": spec.vip,
        "addresses": {h.name: h.ipv4 for h in spec.hosts},
        "real_servers": [h.name for h in spec.real_servers],
        "directors": [h.name for h in spec.directors],
        "client": spec.by_role("client")[0].name,
        "ports": {"http": HTTP_PORT, "tcp": TCP_PORT},
        "python": lab.python,
        "venv_python": lab.venv_python,
        "repo": str(REPO_DIR),
        "services_py": str(SERVICES_PY),
        "traffic_py": str(TRAFFIC_PY),
        "keepalived_argv": keepalived_argv(),
        "ready": "/run/lvstui-lab.ready",
        "log": "/run/labout/control.log",
        "systemd_hosts": [h.name for h in spec.hosts if h.systemd],
    }
    lab.write_file(None, "/run/lvstui-lab.json", json.dumps(config, indent=1))
    control = lab.spawn(None, [lab.python, "-I", "-S", str(CONTROL_PY), "serve", "/run/lvstui-lab.json"])
    for lb in spec.directors:
        lab.write_file(lb.name, KEEPALIVED_CONF, keepalived_conf(spec, lb.name, PRIORITIES.get(lb.name, 100)))
    lab.wait_for(
        lambda: lab.run(None, ["test", "-e", "/run/lvstui-lab.ready"]).ok
        or (lab.poll(control) is not None and _died(lab, control)),
        timeout=90,
        interval=0.2,
        what="the real servers' HTTP and TCP services (lab control server)",
    )
    cluster = Cluster(lab, control, timings)
    timings["services"] = time.monotonic() - started
    names = ", ".join(h.name for h in spec.real_servers)
    progress(f"real servers {names}: HTTP on {HTTP_PORT}, TCP echo on {TCP_PORT} "
             f"({timings['services']:.1f} s)")
    started = time.monotonic()
    for lb in spec.directors:  # lb1 first: lb2 hears its adverts and stays BACKUP
        ok, message = cluster.ctl("start", "keepalived", lb.name)
        if not ok:
            raise LabError(message)
    if wait_master:
        lab.wait_for(lambda: cluster.vip_holder() == ["lb1"], timeout=60, interval=0.3,
                     what="lb1 to become VRRP MASTER (the VIP on its eth0)")
        timings["keepalived"] = time.monotonic() - started
        progress(f"keepalived: lb1 MASTER (150), lb2 BACKUP (100), VIP {spec.vip} "
                 f"({timings['keepalived']:.1f} s)")
    else:
        timings["keepalived"] = time.monotonic() - started
        progress(f"keepalived started in lb1 (priority 150) and lb2 (100); lb1 becomes VRRP MASTER of "
                 f"VIP {spec.vip} within seconds: watch the dashboard's header")
    systemd_hosts = [h.name for h in spec.hosts if h.systemd]
    if systemd_hosts:
        key = client_key(lab, "lb1")
        for host in systemd_hosts:
            enable_sshd(lab, host, key)
        progress(f"systemd hosts {', '.join(systemd_hosts)}: booted by systemd, sshd for root from lb1 "
                 "(F2 or `lvstui setup realserver HOST` in lb1; `lvstui lab ctl reboot HOST`)")
    if traffic:
        started = time.monotonic()
        ok, message = cluster.ctl("start-traffic")
        if not ok:
            raise LabError(message)
        timings["traffic"] = time.monotonic() - started
        progress("client: steady HTTP load, bursts and long-lived TCP connections through the VIP")
    return cluster


def _died(lab: Lab, proc: LabProcess) -> bool:
    result = lab.poll(proc)
    detail = result.describe() if result is not None else ""
    raise LabError(f"the lab control server stopped\n{detail}\n{lab.log_tail()}")


def open_dashboard(cluster: Cluster, rows: int, cols: int, extra_args: tuple[str, ...] = ()) -> LabProcess:
    """The dashboard in lb1 on the guest console, sized like the caller's terminal."""
    lab = cluster.lab
    # keys typed while it booted would reach the dashboard: forget them
    flush = ("import os,termios; fd=os.open('/dev/tty0',os.O_RDWR|os.O_NOCTTY); "
             "termios.tcflush(fd,termios.TCIFLUSH)")
    lab.sh(None, f"stty -F /dev/tty0 rows {rows} cols {cols} && {shlex.quote(lab.python)} -I -S -c "
                 f"{shlex.quote(flush)}").check()
    env = {
        "PYTHONPATH": str(REPO_DIR),
        "TERM": os.environ.get("TERM", "xterm-256color"),
        "HOME": "/root",
        CONTROL_ENV: GUEST_SOCKET,
    }
    for name in ("COLORTERM", "NO_COLOR", "LVSTUI_CONFIG"):
        if name in os.environ:
            env[name] = os.environ[name]
    return lab.spawn("lb1", [lab.venv_python, "-m", "lvstui", *extra_args], env=env, console=True)


def resize(lab: Lab, rows: int, cols: int) -> None:
    """Tells the guest console its new size (the dashboard gets SIGWINCH)."""
    lab.run(None, ["stty", "-F", "/dev/tty0", "rows", str(rows), "cols", str(cols)], timeout=20)
