"""``python -m lvstui.bench.conns --lab``: lvstui's per-real-server counts by state against
``ipvsadm -Lnc > /dev/null`` on the same connection table (1,000,000 entries by default).

A lab guest (one director, a client) gets N entries made by raw packets from the client
(lvstui.bench.conns_guest load), then both are timed as whole processes, one after the
other, on the same table, and ``lvstui conns`` (readable and --json) beside them.  Targets
(issue 14 items 3 and 7): the counts in at most half of ipvsadm's time, memory growth under
100 MB; a whole ``lvstui conns`` process at most 1.5x a whole ``ipvsadm -Lnc``.  Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from lvstui.lab import Lab, LabSpec, require_uml

REPO = str(Path(__file__).resolve().parents[2])
RS_COUNT = 10


def setup_script(vip: str) -> str:
    lines = [
        "set -e", f"ip addr replace {vip}/32 dev eth0", "ipvsadm -C",
        "ipvsadm --set 36000 36000 36000",  # nothing expires while measured
        "sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0",
        f"ipvsadm -A -t {vip}:8080 -s rr", f"ipvsadm -A -u {vip}:5353 -s rr",
    ]
    for i in range(RS_COUNT):  # addresses nobody has: packets to them die, the entries stay
        lines += [f"ipvsadm -a -t {vip}:8080 -r 192.168.1.{200 + i}:8080 -g",
                  f"ipvsadm -a -u {vip}:5353 -r 192.168.1.{200 + i}:5353 -g"]
    return "\n".join(lines) + "\n"


def run(lab: Lab, entries: int, rounds: int) -> dict[str, Any]:
    vip = lab.spec.vip
    env = {"PYTHONPATH": REPO}
    lab.sh("lb1", setup_script(vip)).check()
    r = lab.run("client", [lab.venv_python, "-m", "lvstui.bench.conns_guest", "load", vip, str(entries)],
                env=env, timeout=3600)
    r.check()
    loaded = json.loads(r.stdout)
    r = lab.run("lb1", [lab.venv_python, "-m", "lvstui.bench.conns_guest", "measure", str(rounds)],
                env=env, timeout=7200)
    r.check()
    figures: dict[str, Any] = json.loads(r.stdout)
    figures["load"] = loaded
    return figures


def report(d: dict[str, Any]) -> list[str]:
    def med(key: str, field: str) -> float:
        return statistics.median(float(x[field]) for x in d[key])

    lv = d["lvstui"]
    n = lv[0]["entries"]
    growth = statistics.median((x["rss_peak_kib"] - x["rss_before_kib"]) / 1024 for x in lv)
    ipv_wall, ipv_cpu = med("ipvsadm", "wall"), med("ipvsadm", "cpu")
    lv_wall, lv_cpu = med("lvstui", "wall"), med("lvstui", "cpu")
    load = d["load"]
    return [
        (f"table: {n:,} IPVS entries over {lv[0]['real_servers']} real servers (made by "
         f"{load['packets']:,} raw packets in {load['seconds']:.0f} s); median of {len(lv)} rounds"),
        (f"  ipvsadm -Lnc > /dev/null            wall {ipv_wall:8.2f} s   cpu {ipv_cpu:8.2f} s   "
        f"peak RSS {med('ipvsadm', 'maxrss_kib') / 1024:6.1f} MiB"),
        f"  cat /proc/net/ip_vs_conn (kernel)   wall {med('cat', 'wall'):8.2f} s   cpu {med('cat', 'cpu'):8.2f} s",
        (f"  lvstui counts by real server/state  wall {lv_wall:8.2f} s   cpu {lv_cpu:8.2f} s   "
        f"(the read alone: wall {med('lvstui', 'read_wall'):.2f} s)"),
        f"    ratio to ipvsadm: wall {lv_wall / ipv_wall:.2f}, cpu {lv_cpu / ipv_cpu:.2f} (target <= 0.50)",
        (f"    memory growth during the read {growth:.1f} MiB (target < 100 MB); "
        f"peak RSS {med('lvstui', 'rss_peak_kib') / 1024:.1f} MiB"),
        *[(f"  {label:<34} wall {med(key, 'wall'):8.2f} s   cpu {med(key, 'cpu'):8.2f} s   ratio to ipvsadm "
           f"wall {med(key, 'wall') / ipv_wall:.2f}, cpu {med(key, 'cpu') / ipv_cpu:.2f} (target <= 1.5); "
           f"to the kernel alone (cat) wall {med(key, 'wall') / med('cat', 'wall'):.2f}")
          for key, label in (("conns", "lvstui conns > /dev/null"), ("conns_json", "lvstui conns --json"))
          if d.get(key)],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lvstui.bench.conns", description=__doc__)
    parser.add_argument("--lab", action="store_true", required=True, help="run in a lab guest (the only mode)")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--mem", default="2048M", help="the guest's memory (IPVS entries live in it)")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = parser.parse_args(argv)
    require_uml()
    spec = LabSpec.dr_cluster(directors=1, real_servers=0, client=True, mem=args.mem)
    with tempfile.TemporaryDirectory(prefix="lvstui-bench-conns-") as tmp:
        lab = Lab(spec, workdir=Path(tmp)).start()
        try:
            figures = run(lab, args.entries, args.rounds)
        finally:
            lab.close()
    for line in report(figures):
        print(line)
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
