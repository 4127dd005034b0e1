"""The lab itself, against the real User-Mode Linux guest: IPVS, isolation, DR traffic, death."""

from __future__ import annotations

import os
import re
import select
import signal
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import pytest

from lvstui.lab import CommandResult, HostSpec, Lab, LabError, LabSpec

pytestmark = pytest.mark.lab


def uml_processes(umid: str) -> list[int]:
    """Host processes of the guest ``umid`` (UML runs guest processes as host processes)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if f"umid={umid}".encode() in cmdline.split(b"\0"):
            found.append(int(entry))
    return found


# -- the spec ----------------------------------------------------------------------------------


def test_dr_cluster_spec_names_and_addresses() -> None:
    spec = LabSpec.dr_cluster(directors=2, real_servers=3, client=True, services=("http",))
    assert spec.names == ("lb1", "lb2", "rs1", "rs2", "rs3", "client")
    assert [h.ipv4 for h in spec.hosts] == [
        "192.168.1.11",
        "192.168.1.12",
        "192.168.1.21",
        "192.168.1.22",
        "192.168.1.23",
        "192.168.1.50",
    ]
    assert spec.host("lb1").ipv6 == "2001:db8:1::11"
    assert spec.host("client").ipv6 == "2001:db8:1::50"
    assert (spec.vip, spec.vip6) == ("192.168.1.100", "2001:db8:1::100")
    assert [h.name for h in spec.real_servers] == ["rs1", "rs2", "rs3"]
    assert all(h.dr_real_server and h.services == ("http",) for h in spec.real_servers)
    assert not any(h.dr_real_server or h.services for h in spec.directors)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad Name", "number": 5}, "bad lab host name"),
        ({"name": "x", "number": 100}, "not 100"),
        ({"name": "x", "number": 5, "services": ("smtp",)}, "unknown lab service"),
    ],
)
def test_bad_host_spec_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HostSpec(**kwargs)  # type: ignore[arg-type]


def test_duplicate_host_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        LabSpec(hosts=(HostSpec("a", 5), HostSpec("a", 6)))


# -- the guest's root namespace -----------------------------------------------------------


def test_ipvs_is_in_the_guest_and_not_on_the_host(lab_root: Lab) -> None:
    assert not Path("/proc/net/ip_vs").exists(), "the host kernel unexpectedly has IPVS"
    r = lab_root.run(None, ["ipvsadm", "-Ln"]).check()
    assert r.stdout.startswith("IP Virtual Server version")
    assert lab_root.run(None, ["test", "-e", "/proc/net/ip_vs"]).rc == 0
    modules = lab_root.run(None, ["cat", "/proc/modules"]).check().stdout
    for module in (
        "ip_vs_rr",
        "ip_vs_wrr",
        "ip_vs_mh",
        "ip_vs_ftp",
        "ip_vs_pe_sip",
        "sctp",
        "veth",
        "bridge",
    ):
        assert re.search(rf"^{module} ", modules, re.M), f"{module} not loaded"


def test_run_returns_exact_output_status_and_input(lab_root: Lab) -> None:
    r = lab_root.sh(None, "printf 'a\\tb\\n  c  \\n\\n'; printf 'err \\303\\251\\n' >&2; exit 3")
    assert isinstance(r, CommandResult)
    assert (r.rc, r.stdout, r.stderr) == (3, "a\tb\n  c  \n\n", "err é\n")
    with pytest.raises(LabError, match="exited with status 3"):
        r.check()
    assert lab_root.run(None, ["cat"], input="x" * 5000).stdout == "x" * 5000
    assert lab_root.run(None, ["/no/such/program"]).rc != 0


def test_add_a_service_in_the_root_namespace(lab_root: Lab) -> None:
    lab_root.sh(
        None, "ipvsadm -A -t 10.1.2.3:80 -s wrr && ipvsadm -a -t 10.1.2.3:80 -r 10.1.2.4:80 -g -w 3"
    ).check()
    out = lab_root.run(None, ["ipvsadm", "-Ln"]).check().stdout
    assert "TCP  10.1.2.3:80 wrr" in out
    assert re.search(r"-> 10\.1\.2\.4:80\s+Route\s+3\s", out)


def test_command_timeout_raises_and_the_lab_goes_on(lab_root: Lab) -> None:
    started = time.monotonic()
    with pytest.raises(LabError, match="timed out after 1 s") as info:
        lab_root.sh(None, "echo partial; sleep 30", timeout=1)
    assert time.monotonic() - started < 8
    assert "sleep 30" in str(info.value)
    assert lab_root.run(None, ["true"]).rc == 0


def test_spawn_wait_and_stop(lab_root: Lab) -> None:
    quick = lab_root.spawn(None, ["sh", "-c", "echo out; echo err >&2; exit 4"])
    r = lab_root.wait(quick, timeout=30)
    assert (r.rc, r.stdout, r.stderr) == (4, "out\n", "err\n")
    slow = lab_root.spawn(None, ["sh", "-c", "echo started; exec sleep 600"])
    with pytest.raises(LabError, match="still running"):
        lab_root.wait(slow, timeout=0.5)
    assert lab_root.poll(slow) is None
    stopped = lab_root.stop(slow)
    assert stopped.stdout == "started\n" and stopped.rc != 0
    assert lab_root.poll(slow) is not None


def test_round_trip_is_fast(lab_root: Lab) -> None:
    times = [lab_root.ping() for _ in range(30)]
    assert statistics.median(times) < 0.1, times


def test_many_threads_at_once_lose_nothing(lab_root: Lab) -> None:
    # 32 threads x 900-byte requests: far more than the guest tty's 4 KB input buffer holds
    def calls(i: int) -> int:
        for j in range(10):
            lab_root.ping(timeout=60, payload=f"{i}-{j}-" + "p" * 900)
        return i

    with ThreadPoolExecutor(32) as pool:
        assert sorted(pool.map(calls, range(32))) == list(range(32))
    slow = [threading.Thread(target=lambda: lab_root.run(None, ["sleep", "1"]).check()) for _ in range(6)]
    started = time.monotonic()
    for t in slow:
        t.start()
    for t in slow:
        t.join()
    assert time.monotonic() - started < 5, "commands in the guest should run side by side"


def test_file_round_trip_in_the_guest_root_does_not_touch_the_host(lab_root: Lab) -> None:
    name = f"/etc/lvstui-lab-test-{uuid.uuid4().hex}"
    text = "".join(f"line {i} é\n" for i in range(2000))  # longer than a console line
    lab_root.write_file(None, name, text)
    assert lab_root.read_file(None, name) == text
    assert not Path(name).exists()
    # the real root is reachable in the guest only read-only (the hosts' lower layer)
    probe = lab_root.run(None, ["touch", f"/lab/lower/tmp/lvstui-lab-probe-{uuid.uuid4().hex}"])
    assert probe.rc != 0 and "Read-only file system" in probe.stderr
    with pytest.raises(LabError, match="No such file"):
        lab_root.read_file(None, "/etc/no-such-file-here")


# -- a DR cluster ---------------------------------------------------------------------------


def test_hosts_have_their_addresses_names_and_dr_setup(dr_lab: Lab) -> None:
    lb1 = dr_lab.sh("lb1", "hostname; ip -br addr show eth0; ls /sys/class/net").check().stdout
    assert lb1.startswith("lb1\n")
    assert "192.168.1.11/24" in lb1 and "2001:db8:1::11/64" in lb1
    assert sorted(lb1.split("\n")[2:-1]) == ["eth0", "lo"]
    rs2 = (
        dr_lab.sh(
            "rs2",
            "ip -br addr show lo; sysctl -n net.ipv4.conf.all.arp_ignore "
            "net.ipv4.conf.all.arp_announce net.ipv4.conf.lo.arp_ignore "
            "net.ipv4.conf.lo.arp_announce",
        )
        .check()
        .stdout
    )
    assert "192.168.1.100/32" in rs2 and "2001:db8:1::100/128" in rs2
    assert rs2.split()[-4:] == ["1", "2", "1", "2"]
    assert dr_lab.run("lb1", ["sysctl", "-n", "net.ipv4.conf.all.arp_ignore"]).stdout == "0\n"
    # every host reaches every other by name, over IPv4 and IPv6
    r = dr_lab.sh("client", "curl -s -m 5 http://rs3/ && curl -s -m 5 'http://[2001:db8:1::21]/'").check()
    assert r.stdout == "rs3\nrs1\n"


def test_each_host_has_its_own_file_system(dr_lab: Lab) -> None:
    name = f"/etc/lvstui-lab-test-{uuid.uuid4().hex}"
    dr_lab.write_file("lb1", name, "lb1 only\n")
    assert dr_lab.read_file("lb1", name) == "lb1 only\n"
    assert dr_lab.run("lb1", ["cat", name]).stdout == "lb1 only\n"
    assert not Path(name).exists(), "a lab host wrote to the real host's /etc"
    assert dr_lab.run("lb2", ["test", "-e", name]).rc == 1
    assert dr_lab.run(None, ["test", "-e", name]).rc == 1
    dr_lab.sh("lb1", "echo mine > /tmp/who && echo mine > /run/who").check()
    assert dr_lab.sh("lb2", "cat /tmp/who /run/who").rc != 0
    # a new file on the real host is visible (read-only view), the repository too
    assert dr_lab.run("lb2", ["test", "-f", str(Path(__file__).resolve())]).rc == 0


ECHO_CLIENT = """
import socket
s = socket.create_connection(("rs2", 9000), 5)
s.sendall(b"hi\\n")
print(s.recv(10).decode().strip())
"""


def test_services_can_fail_and_come_back(dr_lab: Lab) -> None:
    def both() -> str:
        web = dr_lab.run("client", ["curl", "-s", "-m", "5", "http://rs2/"]).stdout
        return web + dr_lab.run("client", [dr_lab.python, "-c", ECHO_CLIENT]).stdout

    assert both() == "rs2\nhi\n"
    dr_lab.stop_services("rs2")
    try:
        assert dr_lab.run("client", ["curl", "-s", "-m", "5", "http://rs2/"]).rc != 0
        assert dr_lab.run("client", ["curl", "-s", "-m", "5", "http://rs1/"]).stdout == "rs1\n"
    finally:
        dr_lab.start_services("rs2")
    assert both() == "rs2\nhi\n"


def test_lvstui_runs_inside_a_host(dr_lab: Lab) -> None:
    r = dr_lab.lvstui("lb1", "--help")
    assert r.rc == 0, r.describe()
    assert "usage: lvstui" in r.stdout


def test_dr_traffic_reaches_every_real_server_and_bypasses_the_director(dr_lab: Lab) -> None:
    vip = dr_lab.spec.vip
    setup = [f"ip addr add {vip}/24 dev eth0", f"ipvsadm -A -t {vip}:80 -s rr"]
    setup += [f"ipvsadm -a -t {vip}:80 -r {rs.ipv4}:80 -g" for rs in dr_lab.spec.real_servers]
    dr_lab.sh("lb1", " && ".join(setup)).check()
    # Source ports outside the ephemeral range: no IPVS connection entry left by another
    # test can match (it would send the request to that entry's real server).
    requests = f"for i in 1 2 3 4 5 6; do curl -s -m 5 --local-port 2110$i http://{vip}/ || echo FAIL; done"
    try:
        dr_lab.run("client", ["ip", "neigh", "flush", "to", vip])
        r = dr_lab.sh("client", requests, timeout=60).check()
        answers = r.stdout.split()
        assert sorted(answers) == ["rs1", "rs1", "rs2", "rs2", "rs3", "rs3"], answers
        assert answers[:3] == answers[3:], "round robin should repeat the same order"

        def counters() -> tuple[int, ...]:
            stats = dr_lab.run("lb1", ["ipvsadm", "-Ln", "--stats", "--exact"]).check().stdout
            line = next(ln for ln in stats.splitlines() if ln.startswith(f"TCP  {vip}:80"))
            return tuple(int(x) for x in line.split()[2:5])

        # the kernel folds its per-CPU counters into what ipvsadm reads every 2 s
        conns, inpkts, outpkts = dr_lab.wait_for(
            lambda: (c := counters())[0] == 6 and c, timeout=10, what="IPVS counters of the 6 requests"
        )
        assert inpkts > 0 and outpkts == 0
        # the directors' ARP: only lb1 answered for the VIP, never a real server
        neigh = dr_lab.run("client", ["ip", "neigh", "show", vip]).stdout
        lb1_mac = dr_lab.sh("lb1", "cat /sys/class/net/eth0/address").stdout.strip()
        assert lb1_mac in neigh
    finally:
        dr_lab.sh("lb1", f"ip addr del {vip}/24 dev eth0; ipvsadm -C")
        dr_lab.run("client", ["ip", "neigh", "flush", "to", vip])


def test_start_keepalived_in_a_host(dr_lab: Lab) -> None:
    config = f"""
global_defs {{
    router_id lb2
    vrrp_version 3
}}
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.2
    virtual_ipaddress {{
        {dr_lab.spec.vip}/24 dev eth0
    }}
}}
"""
    pids = dr_lab.start_keepalived("lb2", config)
    try:
        assert len(pids) == 2 and all(p > 1 for p in pids)
        dr_lab.wait_for(
            lambda: dr_lab.spec.vip in dr_lab.run("lb2", ["ip", "-br", "addr", "show", "eth0"]).stdout,
            timeout=20,
            what="keepalived on lb2 to take the VIP",
        )
        assert dr_lab.read_file("lb2", "/etc/keepalived/keepalived.conf") == config
        assert not dr_lab.run("lb1", ["test", "-e", "/run/keepalived.pid"]).ok
    finally:
        dr_lab.stop_keepalived("lb2")
        dr_lab.run("client", ["ip", "neigh", "flush", "to", dr_lab.spec.vip])
    assert dr_lab.spec.vip not in dr_lab.run("lb2", ["ip", "-br", "addr", "show", "eth0"]).stdout


def test_unknown_host_is_a_clear_error(dr_lab: Lab) -> None:
    with pytest.raises(LabError, match="no lab host named 'lb9'"):
        dr_lab.run("lb9", ["true"])


# -- life and death -------------------------------------------------------------------------


def _dead_pid() -> int:
    for pid in range(4_000_000, 3_000_000, -1):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
    raise AssertionError("no free pid found")


def test_a_killed_guest_fails_fast_and_leaves_nothing(tmp_path: Path) -> None:
    # what a caller killed with SIGKILL leaves behind: swept by the next lab
    stale = Path(tempfile.gettempdir()) / f"lvstui-{_dead_pid()}-0123abcd-x1y2z3"
    (stale / "uml").mkdir(parents=True)
    with Lab(LabSpec(), workdir=tmp_path) as lab:
        assert not stale.exists()
        assert lab.run(None, ["true"]).rc == 0
        assert uml_processes(lab.umid)
        private = lab.temp_dir
        assert lab.process is not None
        os.kill(lab.process.pid, signal.SIGKILL)
        started = time.monotonic()
        with pytest.raises(LabError, match="exited|not running"):
            for _ in range(50):  # the first call may race the death; none may hang
                lab.run(None, ["sleep", "5"], timeout=10)
        assert time.monotonic() - started < 5
        assert not lab.alive
    assert uml_processes(lab.umid) == []
    assert private is not None and not private.exists()
    assert (tmp_path / lab.umid / "console.log").exists()


def _read_until(stream: IO[bytes], marker: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.2)
        if ready:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
    return seen


def test_console_pipe_and_exit_on_an_exception(tmp_path: Path) -> None:
    umid = ""
    with pytest.raises(KeyboardInterrupt):
        with Lab(LabSpec(), workdir=tmp_path, console="pipe") as lab:
            umid = lab.umid
            assert uml_processes(umid)
            assert lab.console_stdout is not None
            proc = lab.spawn(None, ["sh", "-c", "tty; echo hello-$((6*7))"], console=True)
            assert lab.wait(proc).rc == 0
            seen = _read_until(lab.console_stdout, b"hello-42", timeout=10)
            assert b"/dev/tty0" in seen and b"hello-42" in seen, seen
            raise KeyboardInterrupt
    assert umid and uml_processes(umid) == []
    assert not lab.alive
    with pytest.raises(LabError, match="shut down"):
        lab.run(None, ["true"])
    assert "agent ready" in (tmp_path / umid / "out" / "agent.log").read_text()
