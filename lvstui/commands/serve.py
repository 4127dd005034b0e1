"""``lvstui serve``: the dashboard in a web browser (textual-serve), always read-only, for a NOC wall.

Each browser that opens the page gets a dashboard process of its own, started by textual-serve
as :func:`app_command` says: ``python -m lvstui --readonly ...``.  So the read-only policy is
installed by :func:`lvstui.cli.main` in the very process that holds the dashboard: every write
below any key (operations, VRRP, the lab panel, setup) is refused there by
:mod:`lvstui.ops.policy` and journaled, not merely hidden from the footer.  The server itself
only relays the terminal (lvstui/commands/serve_web.py); it holds no source and no writer.
"""

from __future__ import annotations

import argparse
import shlex
import sys

__all__ = ["DEFAULT_LISTEN", "DEFAULT_PORT", "app_command", "register", "run"]

DEFAULT_PORT = 10561  # beside the exporter's 10560
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve",
        help="the dashboard in a web browser, read-only (for a NOC wall)",
        description="Serve the live dashboard over HTTP with textual-serve: each browser that opens "
        "the page gets its own dashboard, run read-only (every operation refused, as with "
        "`lvstui --readonly`). The top-level options --demo, --interval and --theme apply to the "
        "served dashboards (`lvstui --demo serve`). Stop with Ctrl-C or SIGTERM.",
    )
    p.add_argument("--listen", default=DEFAULT_LISTEN, metavar="ADDRESS:PORT",
                   help=f"where to listen (default {DEFAULT_LISTEN}: this machine only; "
                   f"0.0.0.0:{DEFAULT_PORT} or [::]:{DEFAULT_PORT} for a wall screen elsewhere; "
                   "there is no authentication, anyone who reaches it sees the director)")
    p.set_defaults(handler=run)


def app_command(args: argparse.Namespace) -> list[str]:
    """The argv of one served dashboard: this interpreter's lvstui, always ``--readonly``."""
    argv = [sys.executable, "-m", "lvstui", "--readonly"]
    if getattr(args, "demo", False):
        argv.append("--demo")
    interval = getattr(args, "interval", None)
    if interval is not None:
        argv += ["--interval", repr(float(interval))]
    if getattr(args, "theme", None):
        argv += ["--theme", str(args.theme)]
    return argv


def run(args: argparse.Namespace) -> int:
    from lvstui.commands.errors import EXIT_INVALID, CliError
    from lvstui.listen import format_listen, parse_listen

    try:
        host, port = parse_listen(args.listen, DEFAULT_PORT)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_INVALID) from exc
    if float(getattr(args, "interval", 1.0) or 1.0) <= 0:
        raise CliError("--interval must be a positive number of seconds", EXIT_INVALID)
    demo = bool(getattr(args, "demo", False))
    if not demo:
        _check_kernel()
    from lvstui.commands.serve_web import bind, serve

    try:
        sock = bind(host, port)
    except OSError as exc:
        raise CliError(f"cannot listen on {args.listen}: {exc.strerror or exc}") from exc
    where = format_listen(*sock.getsockname()[:2])
    print(f"lvstui serve: http://{where}/ (read-only dashboard, {'demo' if demo else 'kernel'} source)",
          file=sys.stderr, flush=True)
    serve(sock, shlex.join(app_command(args)))
    return 0


def _check_kernel() -> None:
    """Fail at start, in one line, where no served dashboard could read IPVS (not in each browser)."""
    from lvstui.commands.dashboard import SourceUnavailable, choose_source
    from lvstui.commands.errors import CliError

    try:
        source, _ = choose_source(argparse.Namespace(no_keepalived=True))
    except SourceUnavailable as exc:
        raise CliError(f"cannot read IPVS: {exc}") from None
    source.close()
