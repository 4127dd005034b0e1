"""Command-line entry point: ``lvstui`` starts the dashboard, ``lvstui VERB`` runs a verb.

Only argparse and the standard library are imported here; each verb imports
what it needs when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lvstui import __version__
from lvstui.commands import COMMAND_MODULES


class CliError(Exception):
    """A failure to report as one line on stderr with a non-zero exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lvstui",
        description="Terminal console for Linux Virtual Server (IPVS) directors. "
        "Without a verb it opens the live dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"lvstui {__version__}")
    parser.add_argument("--readonly", action="store_true",
                        help="monitoring only: every operation is refused")
    parser.add_argument("--demo", action="store_true",
                        help="show a deterministic simulated director (a demo, not your kernel)")
    parser.add_argument("--interval", type=float, default=1.0, metavar="SECONDS",
                        help="refresh interval of the dashboard (default 1)")
    parser.add_argument("--theme", metavar="NAME", help="colour theme (see themes/)")
    sub = parser.add_subparsers(dest="command", metavar="VERB")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    try:
        if handler is None:
            from lvstui.commands.dashboard import run_dashboard

            return run_dashboard(args)
        return int(handler(args) or 0)
    except CliError as exc:
        print(f"lvstui: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
