"""A drain that knows when it is done, on the real kernel under DR traffic (issue 14, item 5).

* ``drain --wait`` returns once the client has closed its last connection to the drained real
  server, although IPVS still holds those connections in FIN_WAIT (TCP's fin timeout left at
  its 120 s default): closed connections waiting out their timers do not count;
* ``--until expired`` waits until those entries have expired too (fin timeout shortened with
  ``ipvsadm --set`` for the test, and put back);
* persistence with net.ipv4.vs.expire_quiescent_template at 0: the pinned client's new
  connections still reach the drained server, the drain says so, and ``lvstui expire-quiescent
  on`` (refused read-only, journaled, undone by ``lvstui undo``) stops it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.lab.test_drain_traffic import CLIENT, REPO, rs_counts
from tests.support import ipvsadm_text

pytestmark = pytest.mark.lab
EQT = "/proc/sys/net/ipv4/vs/expire_quiescent_template"


def entries(lab: Any, rs: str) -> list[str]:
    """The states of lb1's entries to ``rs`` as ``ipvsadm -Lnc`` prints them."""
    out = lab.run("lb1", ["ipvsadm", "-Lnc"]).check().stdout.splitlines()
    return [f.split()[2] for f in out if len(f.split()) == 6 and f.split()[5] == rs]


def templates(lab: Any, virtual: str) -> list[str]:
    """The destinations of lb1's persistence templates for ``virtual``: client port 0 (the state
    name is not the mark: 6.1 and 7.2 kernels show TCP templates as ASSURED)."""
    out = lab.run("lb1", ["ipvsadm", "-Lnc"]).check().stdout.splitlines()
    return sorted({f[5] for f in map(str.split, out)
                   if len(f) == 6 and f[3].endswith(":0") and f[4] == virtual})


def eqt(lab: Any) -> str:
    """lb1's sysctl (read in lb1's network namespace: IPVS sysctls are per namespace)."""
    return str(lab.sh("lb1", f"cat {EQT}").check().stdout.strip())


def weight(lab: Any, vs: str, rs: str) -> int:
    table = ipvsadm_text.parse(lab.run("lb1", ["ipvsadm", "-Ln", "--exact"]).check().stdout, "")
    return int(str(table[vs].real_servers[rs]["weight"]))


def setup(lab: Any, fin_timeout: int, persistent: bool = False) -> tuple[str, str]:
    vip = lab.spec.vip
    vs = f"tcp:{vip}:9000"
    script = (f"set -e\nip addr replace {vip}/32 dev eth0\nipvsadm -C\nipvsadm --set 900 {fin_timeout} 300\n"
              f"echo 0 > {EQT}\nipvsadm -A -t {vip}:9000 -s rr{' -p 60' if persistent else ''}\n")
    for rs in lab.spec.real_servers:
        script += f"ipvsadm -a -t {vip}:9000 -r {rs.ipv4}:9000 -g -w 2\n"
    lab.sh("lb1", script).check()
    lab.sh("client", "rm -f /tmp/release").check()
    return vip, vs


def cleanup(lab: Any, vip: str, *procs: Any) -> None:
    for proc in procs:
        if proc is not None and lab.poll(proc) is None:
            lab.stop(proc)
    lab.sh("lb1", f"ipvsadm -C; ipvsadm --set 900 120 300; echo 0 > {EQT}; ip addr del {vip}/32 dev eth0; true")


def drain_returns_after_release(lab: Any, drain: Any) -> tuple[Any, float]:
    """Release the client's held connections; the drain's result and how long after it came."""
    lab.write_file("client", "/tmp/release", "1")
    released = time.monotonic()
    while (result := lab.poll(drain)) is None:
        if time.monotonic() - released > 150:
            raise AssertionError("drain --wait did not return within 150 s of the release")
        time.sleep(0.2)
    return result, time.monotonic() - released


def test_until_expired_returns_when_the_closed_entries_have_expired(dr_lab: Any) -> None:
    # First in this module: the other tests leave closed entries with 2-minute timers behind.
    lab = dr_lab
    vip, vs = setup(lab, fin_timeout=8)
    # Entries outlive their service (ipvsadm -C): an earlier test's closed connections may still
    # wait out a 2-minute timer.  Drain a real server the table holds nothing of.
    servers = [f"{h.ipv4}:9000" for h in lab.spec.real_servers]
    rs1 = lab.wait_for(lambda: next((rs for rs in servers if not entries(lab, rs)), None), timeout=150,
                       interval=2, what="a real server without entries left by earlier tests")
    client = lab.spawn("client", [lab.venv_python, "-c", CLIENT % {"vip": vip}])
    drain = None
    try:
        lab.wait_for(lambda: entries(lab, rs1).count("ESTABLISHED") >= 2, timeout=60, what="held connections on rs1")
        drain = lab.spawn("lb1", [lab.venv_python, "-m", "lvstui", "drain", vs, rs1, "--until", "expired",
                                  "--timeout", "120"],
                          env={"PYTHONPATH": REPO, "LVSTUI_STATE_DIR": "/tmp/lvstui-drain-done"})
        lab.wait_for(lambda: weight(lab, vs, rs1) == 0, timeout=30, what="rs1 at weight 0")
        lab.write_file("client", "/tmp/release", "1")
        # Only closed entries left: done by the drain's definition, but not expired yet.
        lab.wait_for(lambda: (s := entries(lab, rs1)) and "ESTABLISHED" not in s, timeout=30,
                     what="only closed entries on rs1")
        assert lab.poll(drain) is None, "--until expired returned while closed entries remained"
        result = lab.wait(drain, timeout=60)
        assert result.rc == 0, result.describe()
        assert entries(lab, rs1) == []
        assert "all expired in" in result.stdout and result.stdout.rstrip().endswith("expired: no entries left")
    finally:
        cleanup(lab, vip, drain, client)


def test_wait_returns_when_the_last_connection_closed_although_fin_wait_entries_remain(dr_lab: Any) -> None:
    lab = dr_lab
    vip, vs = setup(lab, fin_timeout=120)
    rs1 = f"{lab.spec.host('rs1').ipv4}:9000"
    client = lab.spawn("client", [lab.venv_python, "-c", CLIENT % {"vip": vip}])
    drain = None
    try:
        lab.wait_for(lambda: entries(lab, rs1).count("ESTABLISHED") >= 2, timeout=60, what="held connections on rs1")
        drain = lab.spawn("lb1", [lab.venv_python, "-m", "lvstui", "drain", vs, rs1, "--wait", "--timeout", "170"],
                          env={"PYTHONPATH": REPO, "LVSTUI_STATE_DIR": "/tmp/lvstui-drain-done"})
        lab.wait_for(lambda: weight(lab, vs, rs1) == 0, timeout=30, what="rs1 at weight 0")
        time.sleep(3)  # the estimator folds per-CPU counters every 2 s: settle before comparing
        before = rs_counts(lab, vs)
        time.sleep(4)
        after = rs_counts(lab, vs)
        assert after[rs1]["conns"] == before[rs1]["conns"], "a new connection reached the drained server"
        assert sum(v["conns"] for k, v in after.items() if k != rs1) > \
            sum(v["conns"] for k, v in before.items() if k != rs1)
        assert lab.poll(drain) is None, "drain --wait returned while the client held connections"
        result, seconds = drain_returns_after_release(lab, drain)
        left = entries(lab, rs1)
        print(f"\ndrain --wait returned {seconds:.1f} s after the client closed its last connection; "
              f"left in the table: {left}")
        assert result.rc == 0, result.describe()
        assert "TCP 2 open" in result.stdout and "ETA unknown" in result.stdout
        assert result.stdout.rstrip().endswith("drained: no client traffic left")
        # The closed connections are still there, waiting out the 120 s fin timeout: the old
        # criterion (inactive count at 0) would have kept waiting for them.
        assert left and "ESTABLISHED" not in left and set(left) <= {"FIN_WAIT", "TIME_WAIT", "CLOSE"}
        assert seconds < 60, result.stdout
        assert "(carrying no traffic): TCP" in result.stdout
    finally:
        cleanup(lab, vip, drain, client)


def test_pinned_clients_reach_a_drained_server_until_expire_quiescent_is_on(dr_lab: Any) -> None:
    lab = dr_lab
    vip, vs = setup(lab, fin_timeout=120, persistent=True)
    env = {"LVSTUI_STATE_DIR": "/tmp/lvstui-drain-pinned"}
    lab.sh("lb1", "rm -rf /tmp/lvstui-drain-pinned").check()
    client = lab.spawn("client", [lab.venv_python, "-c", CLIENT % {"vip": vip}])
    try:
        # Persistence pins the one client to one real server: the kernel's template says which.
        # (Not judged by the connection counters: a real server re-added while earlier tests'
        # closed entries still hold it comes back from the trash with counters the estimator
        # may fold in a couple of seconds later.)
        pinned = lab.wait_for(lambda: templates(lab, f"{vip}:9000") or None, timeout=60,
                              what="the client's persistence template")
        assert len(pinned) == 1, pinned
        rs = pinned[0]
        lab.wait_for(lambda: entries(lab, rs).count("ESTABLISHED") >= 2, timeout=60,
                     what="the client's connections on the pinned real server")
        r = lab.lvstui("lb1", "drain", vs, rs, env=env)
        assert r.rc == 0, r.describe()
        assert "expire_quiescent_template is 0" in r.stderr and "lvstui expire-quiescent on" in r.stderr
        time.sleep(3)
        before = rs_counts(lab, vs)[rs]["conns"]
        # polled, not slept: on a loaded machine the client's next connection may take a while
        lab.wait_for(lambda: rs_counts(lab, vs)[rs]["conns"] > before, timeout=30,
                     what="the pinned client still reaching the drained server")
        r = lab.lvstui("lb1", "drain", vs, rs, "--wait", "--timeout", "3", env=env)
        assert r.rc == 124, r.describe()
        assert "clients pinned by persistence" in r.stdout and "can still open new connections here" in r.stdout
        r = lab.lvstui("lb1", "--readonly", "expire-quiescent", "on", env=env)
        assert r.rc == 3 and eqt(lab) == "0", r.describe()
        r = lab.lvstui("lb1", "expire-quiescent", "on", env=env)
        assert r.rc == 0, r.describe()
        assert "net.ipv4.vs.expire_quiescent_template: 0 -> 1" in r.stdout
        assert eqt(lab) == "1"
        time.sleep(3)
        counts = rs_counts(lab, vs)

        def others(now: dict[str, dict[str, int]]) -> int:
            return sum(v["conns"] for k, v in now.items() if k != rs)

        # the client's new connections go to the other servers now: wait for some, then check
        # that none reached the drained one meanwhile
        lab.wait_for(lambda: others(rs_counts(lab, vs)) > others(counts), timeout=30,
                     what="the client's new connections reaching the other real servers")
        later = rs_counts(lab, vs)
        assert later[rs]["conns"] == counts[rs]["conns"], "a pinned client still reached the drained server"
        journal = lab.sh("lb1", "cat /tmp/lvstui-drain-pinned/journal.jsonl").check().stdout
        assert '"verb": "expire-quiescent"' in journal and '"sysctl"' in journal
        r = lab.lvstui("lb1", "undo", "--yes", env=env)
        assert r.rc == 0, r.describe()
        assert eqt(lab) == "0"
    finally:
        cleanup(lab, vip, client)
