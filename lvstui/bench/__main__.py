"""``python -m lvstui.bench``: lvstui's poll against ipvsadm on the same tables in the lab guest.

Prints figures only; the targets (issue: performance) are stated beside them.
Times in the guest are inflated by User-Mode Linux's slow system calls, so the
figures that matter are ratios against ipvsadm measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lvstui.lab import Lab, LabSpec, require_uml


def _median(values: list[float]) -> float:
    return statistics.median(values)


def run_case(lab: Lab, services: int, servers: int, rounds: int) -> dict[str, Any]:
    """The guest's figures, as the JSON object ``lvstui.bench.guest`` prints."""
    r = lab.run(None, [lab.venv_python, "-m", "lvstui.bench.guest", str(services), str(servers),
                       str(rounds)], env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])}, timeout=1800)
    r.check()
    figures: dict[str, Any] = json.loads(r.stdout)
    return figures


def report(d: dict[str, Any]) -> list[str]:
    ipv = _median(d["ipvsadm_cpu"])
    poll = _median(d["poll_cpu"])
    poll_wall = _median(d["poll_wall"])
    ipv_wall = _median(d["ipvsadm_wall"])
    cli = _median(d["cli_cpu"])
    steady = (float(d["repeat_cpu"]) - cli) / (int(d["repeat"]) - 1)
    return [
        (f"table: {d['services']} services x {d['real_servers_per_service']} real servers "
         f"(built with ipvsadm -R in {float(d['ipvsadm_restore_seconds']):.1f} s)"),
        f"  ipvsadm -Ln --stats --exact   cpu {ipv:.3f} s   wall {ipv_wall:.3f} s   (median of {d['rounds']})",
        (f"  lvstui poll (in a running process) cpu {poll:.3f} s   wall {poll_wall:.3f} s   "
         f"ratio to ipvsadm {poll / ipv:.2f}"),
        f"  lvstui poll + JSON (all new)   cpu {poll + _median(d['json_cpu']):.3f} s",
        (f"  `lvstui snapshot --json` whole process cpu {cli:.3f} s (start-up alone "
         f"{float(d['startup_cpu']):.3f} s; reader import {float(d['reader_import_cpu']):.3f} s)"),
        (f"  `snapshot --json --repeat {d['repeat']}` steady state: {steady:.3f} s cpu per snapshot; "
         f"peak RSS {float(d['repeat_maxrss_mib']):.0f} MiB"),
        f"  peak RSS of the measuring process (reader + {d['rounds']} polls) {float(d['maxrss_mib']):.0f} MiB",
        *kernel_lines(d, poll, poll_wall),
        *whole_lines(d),
    ]


def kernel_lines(d: dict[str, Any], poll: float, poll_wall: float) -> list[str]:
    """The poll beside the kernel's side alone (the same requests, replies dropped undecoded)."""
    if "kernel_cpu" not in d:
        return []
    k, kw = _median(d["kernel_cpu"]), _median(d["kernel_wall"])
    return [(f"  kernel alone (the poll's requests, replies undecoded) cpu {k:.3f} s   wall {kw:.3f} s; "
             f"the poll is {poll / k:.2f}x of it in cpu, {poll_wall / kw:.2f}x in wall (goal <= 2.0)")]


def whole_lines(d: dict[str, Any]) -> list[str]:
    """Whole processes, interleaved, with keepalived running on the same table."""
    whole = d.get("with_keepalived")
    if not whole:
        return []
    ipv = whole["ipvsadm -Ln --stats --exact"]
    ic, iw = _median(ipv["cpu"]), _median(ipv["wall"])
    out = [(f"  with keepalived managing the table (started in {float(d['keepalived_start_seconds']):.1f} s), "
            f"whole processes, median of {len(ipv['cpu'])}:"),
           f"    ipvsadm -Ln --stats --exact            cpu {ic:.3f} s   wall {iw:.3f} s"]
    for name, row in whole.items():
        if name.startswith("ipvsadm"):
            continue
        c, w = _median(row["cpu"]), _median(row["wall"])
        label = name if name != "-c pass" else "python -c pass (the interpreter alone)"
        out.append(f"    {label:<38} cpu {c:.3f} s   wall {w:.3f} s   ratio to ipvsadm cpu {c / ic:.2f}, "
                   f"wall {w / iw:.2f}")
    out.append("    target: `lvstui snapshot --json` (keepalived's view included) <= 1.5x ipvsadm")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lvstui.bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="only the 1,000 x 10 table")
    args = parser.parse_args(argv)
    require_uml()
    print(f"lvstui benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{platform.machine()}, {_cpu_model()}, host kernel {platform.release()}, guest: User-Mode Linux")
    cases = [(1000, 10)] if args.quick else [(1000, 10), (10000, 5)]
    with tempfile.TemporaryDirectory() as work, Lab(LabSpec(mem="2048M"), workdir=Path(work)) as lab:
        for services, servers in cases:
            data = run_case(lab, services, servers, args.rounds)
            for line in report(data):
                print(line, flush=True)
    print("targets: 1,000 x 10 poll cpu ratio <= 1.0; 10,000 x 5 ratio <= 2.0 and RSS <= 250 MB")
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
