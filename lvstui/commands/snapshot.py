"""``lvstui snapshot``: read the IPVS table once (or N times) and print it."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


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
    peer = p.add_argument_group(
        "the pair's other director",
        "With --peer, the document gains `peer` (that director's VRRP, table and the differences between "
        "the two tables) and `split_brain` is also judged from its state. It is read over SSH with the "
        "setup wizards' rules (~/.ssh/config, known_hosts: an unknown host key is refused unless "
        "--accept-new-host-key, a changed one always); an unreachable peer is reported in `peer.error`, "
        "never fails the snapshot.")
    peer.add_argument("--peer", metavar="[USER@]HOST[:PORT]", help="the other director of the keepalived pair")
    peer.add_argument("--peer-command", default="lvstui", metavar="COMMAND",
                      help="how lvstui is run there (default: lvstui; where it does not answer, "
                      "ipvsadm -S -n is read instead: the table without counters, thresholds or VRRP)")
    peer.add_argument("--peer-wait", type=float, default=10.0, metavar="SECONDS",
                      help="how long the first snapshot waits for the peer's (default 10)")
    peer.add_argument("--identity", metavar="FILE", help="SSH private key for the peer")
    peer.add_argument("--accept-new-host-key", action="store_true",
                      help="accept (and remember) the peer's host key when it is unknown")
    p.set_defaults(handler=run)


def _with_peer(local: Any, args: argparse.Namespace) -> Any:
    """*local* with the peer beside it; waits (at most --peer-wait) for the peer's first answer."""
    import shlex

    from lvstui.commands.errors import CliError
    from lvstui.peer.reader import PeerReader
    from lvstui.peer.source import WithPeer
    from lvstui.setup.ssh import SshOptions, parse_target

    try:
        parse_target(args.peer)
        command = shlex.split(args.peer_command)
    except ValueError as exc:
        local.close()
        raise CliError(f"--peer/--peer-command: {exc}", 2) from None
    if not command:
        local.close()
        raise CliError("--peer-command is empty", 2)
    options = SshOptions(identity=args.identity, accept_new_host_key=args.accept_new_host_key)
    reader = PeerReader(args.peer, options, command=command, interval=max(args.snapshot_interval, 0.2)).start()
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
    if args.peer:
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
