"""``lvstui exporter``: IPVS and keepalived as Prometheus metrics over HTTP (read-only)."""

from __future__ import annotations

import argparse
from datetime import UTC

# the default is repeated here so that --help needs no import of the exporter package
DEFAULT_LISTEN = "127.0.0.1:10560"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "exporter",
        help="serve IPVS and keepalived state as Prometheus metrics (read-only)",
        description="Poll the director (the kernel's IPVS table and keepalived's view, as `snapshot` "
        "reads them) every --poll-interval seconds and serve the latest poll on /metrics in the "
        "Prometheus text format: any number of scrapes, no kernel read per scrape. Read-only: "
        "nothing in the exporter can change IPVS or keepalived. Metrics: README, "
        "\"Metrics (Prometheus)\".",
    )
    p.add_argument("--listen", default=DEFAULT_LISTEN, metavar="ADDRESS:PORT",
                   help=f"where to listen (default {DEFAULT_LISTEN}: this machine only; port 10560, "
                   "outside Prometheus' default port allocations; [::]:10560 for every address)")
    p.add_argument("--poll-interval", type=float, default=5.0, metavar="SECONDS",
                   help="seconds between polls (default 5; a slow poll stretches it)")
    p.add_argument("--no-keepalived", action="store_true",
                   help="the kernel's table alone, without keepalived's view (no signal to keepalived)")
    p.add_argument("--keepalived-refresh", type=float, default=5.0, metavar="SECONDS",
                   help="ask keepalived for a full state dump at least this often (default 5)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import signal
    import sys
    import threading

    from lvstui.commands.errors import CliError
    from lvstui.exporter.server import Exporter, parse_listen
    from lvstui.exporter.source import Reopening, director_source

    try:
        listen = parse_listen(args.listen)
    except ValueError as exc:
        raise CliError(str(exc), 2) from exc
    if args.poll_interval <= 0:
        raise CliError("--poll-interval must be positive", 2)
    if getattr(args, "demo", False):
        from datetime import datetime

        from lvstui.demo import DemoSource

        source: object = DemoSource(epoch=datetime.now(UTC))
    else:
        source = Reopening(lambda: director_source(args.keepalived_refresh, args.no_keepalived))
    exporter = Exporter(source, args.poll_interval, listen)  # type: ignore[arg-type]
    try:
        exporter.start()
    except OSError as exc:
        raise CliError(f"cannot listen on {args.listen}: {exc.strerror or exc}") from exc
    host, port = exporter.listen
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    state = exporter.loop.state
    first = "first poll ok" if state.error is None else f"first poll failed: {state.error}"
    print(f"lvstui exporter: http://{where}/metrics (read-only; {first}; "
          f"{'demo' if getattr(args, 'demo', False) else 'kernel'} source)", file=sys.stderr, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    finally:
        exporter.close()
    return 0
