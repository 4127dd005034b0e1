"""Against real keepalived with IPVS in the User-Mode Linux lab: two directors, three real servers.

lb1 (priority 150) and lb2 (priority 100) run keepalived with VRRP instance VI_1 and a DR
virtual service whose TCP_CHECKs see rs1:80 and rs2:80 up and rs3 checked on port 81, down (nothing listens
there).  Checks: the process finder tells the two keepalived apart (network namespaces,
roles from pid files inside each host's own file system); the DATA/JSON dumps parse live;
`lvstui keepalived check` passes keepalived -t inside the director's namespace; an edit
written by lvstui passes keepalived -t and a reload applies it to the kernel.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lvstui.lab import Lab
from lvstui.lab.lab import KEEPALIVED_CONF, KEEPALIVED_PIDS, REPO_DIR
from tests.lab.cluster import module_cluster

pytestmark = pytest.mark.lab

CONF = """\
! lvstui lab test ({name})
global_defs {{
    router_id {name}
{extra}}}

vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        192.168.1.100/24 dev eth0
    }}
}}

virtual_server 192.168.1.100 80 {{
    delay_loop 2
    lb_algo wrr
    lb_kind DR
    protocol TCP

    real_server 192.168.1.21 80 {{
        weight 1
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
    real_server 192.168.1.22 80 {{
        weight 2    # the bigger one
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
    real_server 192.168.1.23 80 {{
        weight 1
        TCP_CHECK {{
            connect_port 81
            connect_timeout 1
            retry 1
        }}
    }}
}}
"""


LB2_EXTRA = "    vrrp_notify_fifo /run/lvstui-vrrp.fifo\n    fifo_write_vrrp_states_on_reload\n"


def conf(name: str, priority: int, extra: str = "") -> str:
    return CONF.format(name=name, priority=priority, extra=extra)


def python(lab: Lab, host: str | None, code: str, timeout: float = 60) -> str:
    result = lab.run(host, [lab.venv_python, "-c", code], env={"PYTHONPATH": str(REPO_DIR)}, timeout=timeout)
    assert result.ok, result.describe()
    return result.stdout


def start_pair(lab: Lab) -> None:
    lab.start_keepalived("lb1", conf("lb1", 150))
    lab.start_keepalived("lb2", conf("lb2", 100, LB2_EXTRA))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from module_cluster(tmp_path_factory, "kalab", ("http",), start=start_pair)


def dump(lab: Lab, host: str, kind: str, path: str) -> str:
    """Signal HOST's keepalived to dump (DATA or JSON) and return the fresh file."""
    lab.run(host, ["rm", "-f", path]).check()
    lab.sh(host, f"kill -$(keepalived --signum={kind}) $(cat {KEEPALIVED_PIDS[0]})").check()
    lab.wait_for(lambda: lab.run(host, ["test", "-s", path]).ok, timeout=10, what=f"{path} in {host}")
    return lab.read_file(host, path)


def test_vrrp_state_from_json_and_data(lab: Lab) -> None:
    from lvstui.keepalived.runtime import parse_vrrp_data, parse_vrrp_json

    def master() -> bool:
        states = parse_vrrp_json(dump(lab, "lb1", "JSON", "/tmp/keepalived.json"))
        return bool(states) and states[0].state == "MASTER"

    lab.wait_for(master, timeout=30, what="lb1 to become MASTER")
    (vi,) = parse_vrrp_data(dump(lab, "lb1", "DATA", "/tmp/keepalived.data"))
    assert (vi.name, vi.state, vi.priority, vi.effective_priority, vi.vips, vi.virtual_router_id) == \
        ("VI_1", "MASTER", 150, 150, ("192.168.1.100/24",), 51)
    (peer,) = parse_vrrp_json(dump(lab, "lb2", "JSON", "/tmp/keepalived.json"))
    assert (peer.state, peer.priority, peer.master_priority) == ("BACKUP", 100, 150)


def test_checker_state_from_data_dump(lab: Lab) -> None:
    from lvstui.keepalived.runtime import parse_check_data

    def settled() -> tuple | None:  # type: ignore[type-arg]
        (vs,) = parse_check_data(dump(lab, "lb1", "DATA", "/tmp/keepalived_check.data"))
        alive = tuple(r.alive for r in vs.real_servers)
        return (vs, alive) if alive == (True, True, False) else None

    vs, _ = lab.wait_for(settled, timeout=30, what="checkers to settle (rs1, rs2 up; rs3 checked on port 81, down)")
    assert vs.key == "tcp:192.168.1.100:80"
    dead = vs.real_servers[2]
    # its checker dials port 81, where nothing listens
    assert (dead.address, dead.port, dead.failed_checkers, dead.in_ipvs) == ("192.168.1.23", 80, 1, False)
    assert dead.checkers[0].detail == "Dest = [192.168.1.23]:81"
    assert [c.type for r in vs.real_servers for c in r.checkers] == ["TCP_CHECK"] * 3
    table = lab.run("lb1", ["ipvsadm", "-Ln"]).check().stdout
    assert "192.168.1.21:80" in table and "192.168.1.23" not in table


def test_process_finder_tells_instances_apart(lab: Lab) -> None:
    out = python(lab, None, (
        "import json, dataclasses\n"
        "from lvstui.keepalived.processes import find_keepalived_processes\n"
        "print(json.dumps([dataclasses.asdict(p) for p in find_keepalived_processes()]))\n"))
    found = {p["netns"]: p for p in json.loads(out)}
    assert set(found) == {"lb1", "lb2"}
    for host in ("lb1", "lb2"):
        parent, vrrp, checker = (int(lab.read_file(host, f).split()[0]) for f in KEEPALIVED_PIDS)
        p = found[host]
        assert (p["parent_pid"], p["vrrp_pid"], p["checker_pid"]) == (parent, vrrp, checker)
        assert p["config_file"] == KEEPALIVED_CONF
        assert sorted(p["children"]) == sorted([vrrp, checker])
    assert found["lb1"]["netns_inode"] != found["lb2"]["netns_inode"]


def test_check_and_parse_inside_the_director(lab: Lab) -> None:
    r = lab.lvstui("lb1", "keepalived", "check", KEEPALIVED_CONF, timeout=60)
    assert r.ok, r.describe()
    assert "keepalived -t: ok" in r.stdout
    doc = json.loads(lab.lvstui("lb1", "keepalived", "parse", "--json", KEEPALIVED_CONF, timeout=60).check().stdout)
    assert [(r["address"], r["port"], r["weight"]) for r in doc["virtual_servers"][0]["real_servers"]] == \
        [("192.168.1.21", 80, 1), ("192.168.1.22", 80, 2), ("192.168.1.23", 80, 1)]
    assert doc["virtual_servers"][0]["real_servers"][2]["checkers"][0]["params"]["connect_port"] == "81"
    # eth9 does not exist in lb1: keepalived -t, run in lb1's namespace, says so with the line
    lab.write_file("lb1", "/tmp/bad.conf", conf("x", 1).replace("interface eth0", "interface eth9"))
    bad = lab.lvstui("lb1", "keepalived", "check", "/tmp/bad.conf", timeout=60)
    assert bad.rc == 1 and "bad.conf:" in bad.stderr and "eth9" in bad.stderr


def test_edit_written_by_lvstui_is_valid_and_applied_by_reload(lab: Lab) -> None:
    out = python(lab, "lb1", (
        "import os\n"
        "os.environ['LVSTUI_STATE_DIR'] = '/tmp/lvstui-edit-state'\n"
        "from lvstui.keepalived.loader import load\n"
        "from lvstui.keepalived.view import build_view\n"
        "from lvstui.keepalived import edit\n"
        "from lvstui.keepalived.validate import validator\n"
        "from lvstui.ops.files import write_config\n"
        f"cfg = load({KEEPALIVED_CONF!r})\n"
        "vs = build_view(cfg).virtual_servers[0]\n"
        "cfg = edit.set_weight(cfg, vs.real_servers[0], 5)\n"
        "for w in write_config(cfg, validate=validator()):\n"
        "    print(w.path, w.backup)\n"))
    path, backup = out.split()
    assert path == KEEPALIVED_CONF and backup.endswith(KEEPALIVED_CONF) and backup.startswith("/tmp/lvstui-edit-state/backups/")
    text = lab.read_file("lb1", KEEPALIVED_CONF)
    assert text == conf("lb1", 150).replace(
        "        weight 1\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n    real_server 192.168.1.22",
        "        weight 5\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n    real_server 192.168.1.22", 1)
    assert lab.read_file("lb1", backup) == conf("lb1", 150)
    lab.sh("lb1", f"kill -$(keepalived --signum=RELOAD) $(cat {KEEPALIVED_PIDS[0]})").check()

    def applied() -> bool:
        table = lab.run("lb1", ["ipvsadm", "-Ln"]).check().stdout
        return any(line.split()[1:4] == ["192.168.1.21:80", "Route", "5"] for line in table.splitlines()
                   if line.strip().startswith("->"))

    lab.wait_for(applied, timeout=30, what="the reloaded weight 5 of rs1 in lb1's IPVS table")
    assert Path(REPO_DIR).is_dir()


def test_request_state_of_each_instance_from_the_guest_root(lab: Lab) -> None:
    """Each director has its own /tmp: the dumps are read through /proc/PID/root."""
    code = (
        "import json\n"
        "from lvstui.keepalived.processes import find_keepalived_processes\n"
        "from lvstui.keepalived.runtime import request_state\n"
        "res = {}\n"
        "for p in find_keepalived_processes():\n"
        "    st = request_state(p.parent_pid)\n"
        "    res[p.netns] = dict(errors=st.errors, source=st.vrrp_source,\n"
        "        vrrp=[(v.name, v.state, v.priority) for v in st.vrrp],\n"
        "        rs=[(r.address, r.alive) for s in st.servers for r in s.real_servers])\n"
        "print(json.dumps(res))\n")

    def settled() -> dict | None:  # type: ignore[type-arg]
        res = json.loads(python(lab, None, code))
        down = [a for a, alive in res["lb2"]["rs"] if not alive]
        return res if res["lb1"]["vrrp"] == [["VI_1", "MASTER", 150]] and down == ["192.168.1.23"] else None

    res = lab.wait_for(settled, timeout=40, interval=1, what="lb1 MASTER and rs3 down, as seen by request_state")
    assert res["lb1"]["errors"] == [] and res["lb2"]["errors"] == []
    assert res["lb1"]["source"] == "json"
    assert res["lb1"]["vrrp"] == [["VI_1", "MASTER", 150]]
    assert res["lb2"]["vrrp"] == [["VI_1", "BACKUP", 100]]
    assert [a for a, alive in res["lb2"]["rs"] if not alive] == ["192.168.1.23"]


def test_vrrp_fifo_events_in_the_director(lab: Lab) -> None:
    """keepalived writes the instance states to its FIFO on a reload (fifo_write_vrrp_states_on_reload)."""
    out = python(lab, "lb2", (
        "import os, time\n"
        "from lvstui.keepalived.fifo import FifoTail\n"
        "from lvstui.keepalived.processes import signal_number\n"
        "with FifoTail('/run/lvstui-vrrp.fifo') as tail:\n"
        "    tail.poll(0.2)\n"
        f"    os.kill(int(open('{KEEPALIVED_PIDS[0]}').read()), signal_number('RELOAD'))\n"
        "    events, end = [], time.monotonic() + 20\n"
        "    while not events and time.monotonic() < end:\n"
        "        events = tail.poll(0.5)\n"
        "print(events)\n"))
    assert "VrrpEvent(kind='INSTANCE', name='VI_1', state='BACKUP', priority=100)" in out


EXPANDED = r"""! definitions, ~SEQ and conditions: lvstui's view must match what keepalived built
$PRIO=120
@main $PRIO=200
$RS= \
    real_server 192.168.1.${N} 80 { \
        weight ${N} \
        TCP_CHECK { \
            connect_timeout 1 \
        } \
    }
global_defs {
    router_id client
}
vrrp_instance VX {
    interface eth0
    virtual_router_id 99
    priority $PRIO
    virtual_ipaddress {
        ~SEQ(I, 200, 202) 192.168.1.${I}/32
    }
}
virtual_server 192.168.1.150 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    $N=21
    $RS
    $N=22
    $RS
    ~SEQ(J, 23, 24) real_server 192.168.1.${J} 80 { weight 1 }
    @main real_server 192.168.1.25 80 { weight 7 }
    @^main real_server 192.168.1.26 80 { weight 8 }
}
"""


def test_view_matches_what_keepalived_built(lab: Lab, tmp_path: Path) -> None:
    """keepalived's own DATA dump of a configuration using $definitions, ~SEQ and @conditions."""
    from lvstui.keepalived.loader import load
    from lvstui.keepalived.runtime import parse_check_data, parse_vrrp_data
    from lvstui.keepalived.view import build_view

    path = "/etc/keepalived/expanded.conf"
    lab.write_file("client", path, EXPANDED)
    lab.run("client", ["keepalived", "-f", path, "-i", "main", "-p", "/run/kx.pid", "-r", "/run/kx-vrrp.pid",
                       "-c", "/run/kx-check.pid", "-l"]).check()
    try:
        lab.wait_for(lambda: lab.run("client", ["test", "-s", "/run/kx-check.pid"]).ok, timeout=20,
                     what="keepalived in client")

        def dumped(kind: str, file: str) -> str:
            lab.run("client", ["rm", "-f", file]).check()
            lab.sh("client", f"kill -$(keepalived --signum={kind}) $(cat /run/kx.pid)").check()
            lab.wait_for(lambda: lab.run("client", ["test", "-s", file]).ok, timeout=10, what=file)
            return lab.read_file("client", file)

        (vs_state,) = parse_check_data(dumped("DATA", "/tmp/keepalived_check.data"))
        (vi_state,) = parse_vrrp_data(lab.read_file("client", "/tmp/keepalived.data"))
    finally:
        lab.sh("client", "kill $(cat /run/kx.pid)")
    local = tmp_path / "expanded.conf"
    local.write_text(EXPANDED)
    view = build_view(load(local), "main")
    (vs,) = view.virtual_servers
    assert vs.key == vs_state.key
    assert [(r.address, r.weight) for r in vs.real_servers] == \
        [(r.address, r.weight) for r in vs_state.real_servers] == \
        [("192.168.1.21", 21), ("192.168.1.22", 22), ("192.168.1.23", 1), ("192.168.1.24", 1),
         ("192.168.1.25", 7)]
    (vi,) = view.vrrp_instances
    assert (vi.name, vi.priority, vi.virtual_router_id) == (vi_state.name, vi_state.priority, 99)
    assert vi.priority == 200
    assert tuple(v.split("/")[0] for v in vi.virtual_ipaddresses) == \
        tuple(v.split("/")[0] for v in vi_state.vips) == ("192.168.1.200", "192.168.1.201", "192.168.1.202")
