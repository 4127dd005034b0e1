"""``lvstui lab``: a disposable real-kernel LVS cluster (User-Mode Linux) with the dashboard on lb1.

``lvstui lab --check`` self-tests it; ``lvstui lab ctl ACTION`` breaks things in a running lab
from a second terminal (stop a real server's service, stop keepalived on the master, more load).
"""

from __future__ import annotations

import argparse
import os
import sys

DESCRIPTION = """\
Boots a disposable LVS cluster on a real Linux kernel with IPVS, in User-Mode Linux (an
ordinary process: no root, no KVM, no IPVS needed on this machine), and opens the lvstui
dashboard on its director lb1 in this terminal, reading the guest kernel over netlink as on
a production director.

The cluster: directors lb1 (VRRP MASTER, priority 150) and lb2 (BACKUP, 100) running
keepalived with VIP 192.168.1.100 on eth0 and two LVS-DR services, HTTP on port 80
(HTTP_GET checks) and a TCP echo service on 9000 (TCP_CHECK), each over real servers
rs1, rs2 and rs3; a client sends a steady HTTP load that drifts, bursts and long-lived TCP
connections. Quitting the dashboard (q) powers the lab off; so do Ctrl-C while it boots,
SIGTERM and closing the terminal. Nothing on this machine changes: the guest writes to an overlay.

Break things and watch lvstui react: in the dashboard press L (the Lab panel: stop or start a
real server's HTTP or TCP service, stop keepalived on the master, more load, a burst), or
from a second terminal: `lvstui lab ctl stop rs1 http`, `lvstui lab ctl stop keepalived lb1`,
`lvstui lab ctl burst`, `lvstui lab ctl help` for all.

With --systemd-hosts the lab also boots sd1 and sd2, whose init is systemd (systemd-nspawn in
the guest; sd1 brings its network up with systemd-networkd, sd2 with ifupdown) and whose sshd
lets root in from lb1: set them up with the wizards (F2, or `lvstui setup realserver sd1
--vip 192.168.1.100` in lb1) and reboot them for real with `lvstui lab ctl reboot sd1`.

Needs User-Mode Linux (linux.uml) with keepalived, ipvsadm and sshd: `scripts/setup.sh`
provides them on Debian/Ubuntu (without installing or starting a service on this machine),
and a kernel that boots on this CPU. The kernel is the first that passes a one-second probe
boot: --uml PATH (or LVSTUI_UML), the distribution's /usr/bin/linux.uml, then the ones
scripts/setup.sh fetched into ~/.cache/lvstui/uml. Elsewhere, `lvstui --demo` shows a
simulated director instead."""


def control_socket() -> str:
    """Where a running `lvstui lab` listens for `lvstui lab ctl` (one lab per user at a time).

    LVSTUI_LAB_CONTROL overrides it (inside the lab it names the guest's control server)."""
    if os.environ.get("LVSTUI_LAB_CONTROL"):
        return os.environ["LVSTUI_LAB_CONTROL"]
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isdir(base) and os.access(base, os.W_OK):
        return os.path.join(base, "lvstui-lab.sock")
    return f"/tmp/lvstui-lab-{os.getuid()}.sock"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("lab", help="a disposable real-kernel LVS cluster (User-Mode Linux) to try lvstui on",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(handler=run)
    p.add_argument("--check", action="store_true",
                   help="self-test: boot, cluster, keepalived pair, traffic through the VIP, lvstui snapshot "
                        "in lb1, the control path; print each check and exit 0 if all pass")
    p.add_argument("--logs", metavar="DIR",
                   help="keep the guest's logs in DIR/<lab id>/ (default: a temp dir removed on exit)")
    p.add_argument("--systemd-hosts", action="store_true",
                   help="also boot sd1 (systemd-networkd) and sd2 (ifupdown), hosts whose init is systemd "
                        "and whose sshd lets root in from lb1: targets for the setup wizards that reboot "
                        "for real (`lvstui lab ctl reboot sd1`)")
    p.add_argument("--mem", default="768M", metavar="SIZE", help="guest memory (default 768M)")
    p.add_argument("--uml", metavar="PATH", default=None,
                   help="the linux.uml to boot (default: $LVSTUI_UML, else the first that boots here)")
    labsub = p.add_subparsers(dest="lab_command", metavar="ctl")
    c = labsub.add_parser("ctl", help="send an action to the running lab (try: lvstui lab ctl help)",
                          description="Send an action to the lab `lvstui lab` runs in another terminal "
                                      "(inside the lab, LVSTUI_LAB_CONTROL names the socket).")
    c.add_argument("words", nargs=argparse.REMAINDER, metavar="ACTION",
                   help="status, stop rs1 http, start rs1, stop keepalived lb1, load 20, burst, hold 30, "
                        "drain rs2, help")
    c.set_defaults(handler=run_ctl)


def run(args: argparse.Namespace) -> int:
    # Lazy: `lvstui --help` and the dashboard do not pay for the lab's imports.
    from lvstui.lab.kernel import require_uml
    from lvstui.lab.results import LabUnavailable

    if not _valid_mem(args.mem):
        print(f"lvstui lab: --mem must be a size such as 768M or 1G, not {args.mem!r}", file=sys.stderr)
        return 2
    try:
        kernel = require_uml(args.uml)
    except LabUnavailable as exc:
        print(f"lvstui lab: {exc} (or try `lvstui --demo` for a simulated director)", file=sys.stderr)
        return 1
    if args.check:
        from lvstui.lab.selfcheck import run_check

        return run_check(mem=args.mem, logs=args.logs, uml=kernel.binary)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("lvstui lab: the dashboard needs a terminal (stdin and stdout); "
              "`lvstui lab --check` runs without one", file=sys.stderr)
        return 2
    from lvstui.lab.session import run_session

    return run_session(mem=args.mem, logs=args.logs, socket_path=control_socket(), uml=kernel.binary,
                       systemd_hosts=args.systemd_hosts)


def run_ctl(args: argparse.Namespace) -> int:
    from lvstui.lab.control import send  # lazy: the lab's modules load only for this verb
    from lvstui.ops.policy import check_lab_action  # lazy, as every verb's imports (cli start-up)

    words = list(args.words)
    check_lab_action(words, actor="cli")  # --readonly: refused (exit 3, journaled) unless it only reads
    path = control_socket()
    try:
        ok, message = send(path, words)
    except (FileNotFoundError, ConnectionRefusedError):
        print(f"lvstui lab ctl: no lab is running (nothing listens on {path}); start one with `lvstui lab`",
              file=sys.stderr)
        return 1
    except (OSError, TimeoutError, ValueError) as exc:
        print(f"lvstui lab ctl: {path}: {exc}", file=sys.stderr)
        return 1
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 3


def _valid_mem(mem: str) -> bool:
    import re

    match = re.fullmatch(r"(\d+)([MG])", mem or "")
    if not match:
        return False
    mib = int(match.group(1)) * (1024 if match.group(2) == "G" else 1)
    return 256 <= mib <= 8192
