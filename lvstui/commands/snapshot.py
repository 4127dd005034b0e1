"""``lvstui snapshot``: read the IPVS table once (or N times) and print it."""

from __future__ import annotations

import argparse
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "snapshot",
        help="print the IPVS table (virtual services, real servers, counters, rates)",
        description="Read the kernel's IPVS table over generic netlink and print it: a table, "
        "or with --json the stable JSON schema (one document per line).",
    )
    p.add_argument("--json", action="store_true", help="print JSON (one document per line)")
    p.add_argument("--indent", type=int, default=None, metavar="N", help="indent JSON by N spaces")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="print N snapshots from one process (default 1)")
    p.add_argument("--interval", dest="snapshot_interval", type=float, default=1.0, metavar="SECONDS",
                   help="seconds between snapshots with --repeat (default 1)")
    p.add_argument("--no-keepalived", action="store_true",
                   help="the kernel's table alone, without keepalived's view (no signal to keepalived)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lvstui.backend import BackendError
    from lvstui.backend.director import make_source
    from lvstui.commands.errors import CliError

    if args.repeat < 1:
        raise CliError("--repeat must be at least 1", 2)
    if args.snapshot_interval < 0:
        raise CliError("--interval must not be negative", 2)
    try:
        client = make_source(args)  # the kernel, with keepalived's view unless --no-keepalived
    except BackendError as exc:
        raise CliError(str(exc)) from exc
    encoder = None
    try:
        next_at = time.monotonic()
        for i in range(args.repeat):
            if i:
                next_at += args.snapshot_interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            try:
                snap = client.read()
            except BackendError as exc:
                raise CliError(str(exc)) from exc
            if args.json:
                if args.indent is not None:
                    from lvstui.jsonout import dumps

                    text = dumps(snap, args.indent)
                else:
                    if encoder is None:
                        from lvstui.jsonout import CompactEncoder

                        encoder = CompactEncoder()
                    text = encoder.dumps(snap)
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
            else:
                from lvstui.render import print_snapshot

                print_snapshot(snap)
    except BrokenPipeError:
        return 0
    finally:
        client.close()
    return 0
