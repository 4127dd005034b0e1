"""``lvstui fleet FILE``: every keepalived pair of the fleet file on one screen.

The file (TOML; examples/fleet.toml) names the pairs and how each director is reached over SSH;
each director is read by a background reader of its own (:mod:`lvstui.fleet.poller`), at most
``--parallel`` connecting at once.  ``--demo`` simulates the fleet (the file's pairs, or six
made-up ones): nothing is reached.  Enter on a pair opens its dashboard, read-only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lvstui.commands.errors import CliError

EPILOG = """\
The file:
  [defaults]                       # optional: command, identity, port, accept_new_host_key
  command = "lvstui"
  [[pair]]
  name = "web"
  directors = [{ host = "root@lb1" }, { host = "root@lb2", port = 2222 }]

Each director is read as --peer reads one (its `lvstui snapshot --json --repeat` stream, else
ipvsadm -S -n; ~/.ssh/config and known_hosts: an unknown host key is refused unless
accept_new_host_key = true, a changed one always). A slow or unreachable director is shown
STALE or UNREACHABLE with its age and error; it never holds the screen. Enter opens the
pair's dashboard from what its readers hold (the first director, the second as its peer),
read-only; q there returns. `lvstui --readonly fleet FILE` says READ-ONLY in the header.
Keys: / filters (pair, director host, VIP; Esc clears), s cycles the order (the file's, problems
first, by name), ! problems first, ? lists them all; [keys] in ~/.config/lvstui/config.toml
remaps them as for the dashboard (fleet.<action>, table.*).
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "fleet", help="every keepalived pair of a fleet file on one screen (read over SSH)",
        description="Show every pair of FILE on one screen: VIPs, which director is MASTER, split brain, "
        "real servers up/total, drained, alarms, and each director read, STALE or UNREACHABLE. Enter opens "
        "a pair's dashboard (read-only: the director is read over SSH). Nothing is changed anywhere.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", nargs="?", metavar="FILE", help="the fleet file (TOML)")
    p.add_argument("--parallel", type=int, default=8, metavar="N",
                   help="SSH connections being opened at once, at most (default 8)")
    p.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                   help="simulate the fleet (FILE's pairs, or six made-up ones): a demo, nothing is reached")
    p.add_argument("--interval", type=float, default=argparse.SUPPRESS, metavar="SECONDS",
                   help="the directors' snapshot interval, and the screen's refresh (default 1)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lvstui.config import MAX_INTERVAL, ConfigError, config_path, load_config
    from lvstui.fleet.spec import FleetError, load_fleet

    interval = float(getattr(args, "interval", 1.0))
    if not 0 < interval <= MAX_INTERVAL:
        raise CliError(f"--interval must be a positive number of seconds (at most {MAX_INTERVAL:g})", 2)
    if not 1 <= args.parallel <= 256:
        raise CliError("--parallel must be between 1 and 256", 2)
    demo = bool(getattr(args, "demo", False))
    if args.file is None and not demo:
        raise CliError("fleet: give the fleet FILE (see lvstui fleet --help), or --demo", 2)
    try:
        config = load_config()
    except ConfigError as exc:
        raise CliError(str(exc), 2) from None
    from lvstui.fleet.demo import demo_fleet, demo_readers

    try:
        spec = load_fleet(Path(args.file)) if args.file is not None else demo_fleet()
    except FleetError as exc:
        raise CliError(str(exc), 2) from None
    if demo:
        make = demo_readers(spec, interval=interval)
    else:
        from lvstui.fleet.poller import ssh_readers
        from lvstui.setup.ssh import SshOptions

        make = ssh_readers(SshOptions(), interval=interval, parallel=args.parallel)
    from lvstui.fleet.poller import FleetPoller
    from lvstui.ui.fleet import FleetApp

    poller = FleetPoller(spec, make).start()
    app = FleetApp(poller, readonly=bool(args.readonly), demo=demo, interval=interval,
                   theme=getattr(args, "theme", None) or config.theme, config_dir=config_path().parent,
                   keymap=dict(config.keys))
    try:
        app.run()
    finally:
        poller.close()
    if demo:
        print("lvstui: that was a demo fleet (simulated directors)", file=sys.stderr)
    return int(app.return_code or 0)
