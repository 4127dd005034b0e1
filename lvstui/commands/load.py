"""``lvstui load FILE``: apply a saved table (``lvstui save`` / ``ipvsadm -S -n``) as only what differs.

Planned against a fresh read (:class:`lvstui.ops.changes.LoadTable`), shown, confirmed
(``--yes``), applied all-or-nothing by the operations layer (a step the kernel refuses undoes
the ones before it), journaled with the table it replaced so ``lvstui undo`` puts it back.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lvstui.commands.confirm import confirmed
from lvstui.commands.errors import EXIT_INVALID, EXIT_REFUSED, CliError, operation_errors

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    text = ("apply a saved table (`lvstui save` or `ipvsadm -S -n` lines) as a previewed change of only what "
            "differs: services and real servers added, changed or removed; thresholds the file does not give "
            "are kept. All or nothing; `lvstui undo` puts the previous table back")
    p = sub.add_parser("load", help=text, description=text + ".")
    p.add_argument("file", metavar="FILE", help="the saved rules (- for standard input)")
    p.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    p.add_argument("--yes", action="store_true", help="apply without asking")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lvstui.backend.ipvs import IpvsClient
    from lvstui.ops.changes import LoadTable
    from lvstui.ops.engine import Operations
    from lvstui.ops.policy import current

    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{args.file}: {getattr(exc, 'strerror', None) or exc}", EXIT_INVALID) from None
    change = LoadTable(text, "<stdin>" if args.file == "-" else args.file)
    current().check("load", actor="cli", source=change.source)  # before the kernel is opened
    with operation_errors():
        director = IpvsClient()
    with director, operation_errors():
        ops = Operations(director, readonly=args.readonly, actor="cli")
        plan = ops.plan(change)
        for warning in plan.warnings:
            print(f"lvstui: warning: {warning}", file=sys.stderr)
        if not plan.steps:
            print(f"{plan.title}: nothing to change (the table is the file's)")
            return 0
        print(f"{plan.title}: {len(plan.steps)} changes")
        for line in plan.lines():
            print(f"  {line}")
        if args.dry_run:
            print("dry run: nothing changed")
            return 0
        if not confirmed(f"Apply these {len(plan.steps)} changes?", args.yes):
            print("nothing changed")
            return EXIT_REFUSED
        outcome = ops.apply(change, plan)
    print(f"loaded: {outcome.applied} changes (journal {outcome.entry_id}; `lvstui undo` puts the table back)")
    return 0
