"""Command-line entry point: ``lvstui`` starts the dashboard, ``lvstui VERB`` runs a verb.

Only argparse, the standard library and the small read-only policy are imported here; each
verb imports what it needs when it runs.  ``--readonly`` installs a read-only
:class:`~lvstui.ops.policy.WritePolicy` for the whole command: every write below any interface
is refused there (journaled), reported here as one line with exit status 3.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lvstui import __version__
from lvstui.commands import COMMAND_MODULES
from lvstui.commands.errors import EXIT_FAILED, EXIT_REFUSED, CliError
from lvstui.commands.peer_args import add_peer_arguments
from lvstui.ops.journal import StateError
from lvstui.ops.policy import ReadOnly, WritePolicy, installed

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lvstui",
        description="Terminal console for Linux Virtual Server (IPVS) directors. "
        "Without a verb it opens the live dashboard.",
        # no abbreviations of the top-level options: argparse would otherwise take a verb's own
        # --pe (add-vs/edit-vs) for an ambiguous prefix of --peer, --peer-command and --peer-identity
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"lvstui {__version__}")
    parser.add_argument("--readonly", action="store_true",
                        help="monitoring only: every operation is refused")
    parser.add_argument("--demo", action="store_true",
                        help="show a deterministic simulated director (a demo, not your kernel)")
    parser.add_argument("--interval", type=float, default=1.0, metavar="SECONDS",
                        help="refresh interval of the dashboard (default 1)")
    parser.add_argument("--theme", metavar="NAME", help="colour theme (see themes/)")
    add_peer_arguments(parser.add_argument_group("the pair's other director (read over SSH)"), top=True)
    sub = parser.add_subparsers(dest="command", metavar="VERB")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    try:
        with installed(WritePolicy(readonly=bool(args.readonly))):
            if handler is None:
                # lazy for start-up speed: the dashboard pulls in Textual, the verbs must not
                from lvstui.commands.dashboard import run_dashboard

                return run_dashboard(args)
            return int(handler(args) or 0)
    except ReadOnly as exc:
        print(f"lvstui: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except CliError as exc:
        print(f"lvstui: {exc}", file=sys.stderr)
        return exc.status
    except StateError as exc:  # the journal or the remembered weights, wherever a verb met it
        print(f"lvstui: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
