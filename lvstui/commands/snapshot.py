"""``lvstui snapshot``: read the IPVS table once (or N times) and print it."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from lvstui.commands.peer_args import add_peer_arguments


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "snapshot",
        help="print the IPVS table (virtual services, real servers, counters, rates)",
        description="Read the kernel's IPVS table over generic netlink and print it: a table, "
        "or with --json the stable JSON schema (one document per line).  With keepalived running, "
        "each snapshot asks it for a fresh dump of its checkers and VRRP; the view of its "
        "configuration comes from ~/.cache/lvstui/keepalived-view while no file of it changed.",
    )
    p.add_argument("--json", action="store_true", help="print JSON (one document per line)")
    p.add_argument("--indent", type=int, default=None, metavar="N", help="indent JSON by N spaces")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="print N snapshots from one process (default 1)")
    p.add_argument("--interval", dest="snapshot_interval", type=float, default=1.0, metavar="SECONDS",
                   help="seconds between snapshots with --repeat (default 1)")
    p.add_argument("--no-keepalived", action="store_true",
                   help="the kernel's table alone, without keepalived's view (no signal to keepalived)")
    peer = p.add_argument_group(
        "the pair's other director",
        "With a peer (--peer, here or before the verb, or [peer] in config.toml), the document gains "
        "`peer` (that director's VRRP, table and the differences between the two tables) and "
        "`split_brain` is also judged from its state. It is read over SSH with the setup wizards' rules "
        "(~/.ssh/config, known_hosts: an unknown host key is refused unless --accept-new-host-key, a "
        "changed one always); an unreachable peer is reported in `peer.error`, never fails the snapshot.")
    add_peer_arguments(peer)
    peer.add_argument("--peer-wait", type=float, default=10.0, metavar="SECONDS",
                      help="how long the first snapshot waits for the peer's (default 10)")
    p.set_defaults(handler=run)


def _with_peer(local: Any, args: argparse.Namespace) -> Any:
    """*local* with the peer beside it, where one is named; waits (at most --peer-wait) for the
    peer's first answer."""
    from lvstui.commands.peer_args import peer_target, start_reader

    try:
        peer = peer_target(args)
    except BaseException:
        local.close()
        raise
    if peer is None:
        return local
    # imported only now: it pulls in paramiko, which a snapshot without a peer never needs
    from lvstui.peer.source import WithPeer

    reader = start_reader(peer, args.snapshot_interval)
    reader.wait(max(0.0, args.peer_wait))
    return WithPeer(local, reader)


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
    client = _with_peer(client, args)
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
