"""The keepalived pair the VRRP/state lab tests share: lb1 (150, MASTER) and lb2 (100, BACKUP).

VIP 192.168.1.100 on eth0, a DR virtual_server 192.168.1.100:80 with TCP_CHECKs
(connect_timeout 1, delay_loop 1) on rs1..rs3 (rs2 with inhibit_on_failure), and the
track file lvstui's toggle writes.  The lab's syslog receiver (``control.py syslog``) on
/dev/log (shared by every lab host, as one machine's syslog would be for several
keepalived) writes lb1's /var/log/syslog, so the log pane's syslog path is exercised for real.
"""

from __future__ import annotations

import json
from typing import Any

from lvstui.lab import Lab, LabProcess
from lvstui.lab.lab import KEEPALIVED_PIDS
from lvstui.lab.scenario import CONTROL_PY, vrrp_conf
from lvstui.lab.scenario import TRACK as TRACK  # the track file lvstui's VRRP toggle writes

# the lab's own VRRP part (vrrp_conf); the test pair differs in its virtual server
CONF = """\
! lvstui VRRP/state lab test ({name})
{vrrp}
virtual_server 192.168.1.100 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP

    real_server 192.168.1.21 80 {{
        weight 1
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
    real_server 192.168.1.22 80 {{
        weight 1
        inhibit_on_failure
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
    real_server 192.168.1.23 80 {{
        weight 1
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
}}
"""

def conf(name: str, priority: int) -> str:
    return CONF.format(name=name, vrrp=vrrp_conf(name, priority, "BACKUP", "192.168.1.100"))


def start_pair(lab: Lab) -> LabProcess:
    """syslog on /dev/log (into lb1's /var/log/syslog), then keepalived in lb1 and lb2; lb1 MASTER."""
    syslog = lab.spawn("lb1", [lab.python, "-I", "-S", str(CONTROL_PY), "syslog",
                               "/dev/log", "/var/log/syslog"])
    lab.wait_for(
        lambda: lab.run("lb1", ["test", "-e", "/var/log/syslog.ready"]).ok,
        timeout=20,
        what="the lab syslog on /dev/log",
    )
    lab.start_keepalived("lb1", conf("lb1", 150))
    lab.start_keepalived("lb2", conf("lb2", 100))
    lab.wait_for(
        lambda: "192.168.1.100/" in lab.run("lb1", ["ip", "-br", "addr", "show", "eth0"]).stdout,
        timeout=30,
        what="lb1 to hold the VIP (MASTER)",
    )
    return syslog


def snapshot(lab: Lab, host: str, *extra: str) -> dict[str, Any]:
    r = lab.lvstui(host, "snapshot", "--json", *extra, timeout=60)
    assert r.ok, r.describe()
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def real_server(doc: dict[str, Any], rs_id: str) -> dict[str, Any]:
    (vs,) = [v for v in doc["virtual_services"] if v["id"] == "tcp:192.168.1.100:80"]
    (rs,) = [r for r in vs["real_servers"] if r["id"] == rs_id]
    return rs  # type: ignore[no-any-return]


def pids(lab: Lab, host: str) -> list[int]:
    return [int(lab.read_file(host, f).split()[0]) for f in KEEPALIVED_PIDS]
