"""``lvstui undo [ID]``: reverse the last journaled change, or the one whose journal id is ID.

The reversal goes the way every change goes (:mod:`lvstui.ops.undo` over
:class:`lvstui.ops.engine.Operations`): planned against a fresh read of the kernel and of
keepalived's files, shown, confirmed (on the terminal, or ``--yes``), applied with its read-back,
journaled (``undo_of``).  Refused, with one line saying what changed, when the state has moved on
since the change.  Exit status as the operation verbs: 0 done, 1 failed, 2 invalid input,
3 refused (nothing to undo, moved on since, not confirmed, --readonly, busy), 4 done but not recorded.
A change that a killed lvstui left with an intent but no outcome in the journal is reconciled
first (finished or undone against the kernel; one line each on stderr).
"""

# The imports inside the verbs are lazy for start-up speed only (see lvstui/commands/__init__.py):
# `lvstui VERB` loads what that one verb needs.
from __future__ import annotations

import argparse
import sys

from lvstui.commands.confirm import confirmed
from lvstui.commands.errors import EXIT_FAILED, EXIT_INVALID, EXIT_REFUSED, CliError, operation_errors

__all__ = ["register", "run_undo"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    text = "reverse the last change lvstui made (drain, restore, weight, add/remove a real server...)"
    p = sub.add_parser(
        "undo", help=text,
        description=text + ", or the one with journal id ID. It is planned against a fresh read, shown and "
        "confirmed, and refused when the state has moved on since the change (someone changed the server "
        "by hand, a later change). Run again to walk further back.",
        epilog="ID: the `id` of an entry in the journal (journal.jsonl in lvstui's state directory). "
        "Exit status: 0 done, 1 failed (nothing half-applied), 2 invalid input, 3 refused, 4 done but not "
        "recorded.")
    p.add_argument("id", nargs="?", default=None, metavar="ID", help="the journal id of the change to undo")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--force", action="store_true",
                   help="as the verbs' --force (below a keepalived quorum, last healthy real server...)")
    from lvstui.commands.ops import add_on_behalf_of

    add_on_behalf_of(p)
    p.set_defaults(handler=run_undo)


def run_undo(args: argparse.Namespace) -> int:
    from lvstui.backend import BackendError
    from lvstui.backend.ipvs import IpvsClient
    from lvstui.ops.engine import Operations
    from lvstui.ops.policy import current
    from lvstui.ops.targets import InvalidInput
    from lvstui.ops.undo import apply_undo, plan_undo
    from lvstui.pair.argv import asking_record, parse_asker

    try:
        extra = {"peer": asking_record(parse_asker(args.on_behalf_of))} if args.on_behalf_of is not None else {}
    except InvalidInput as exc:
        raise CliError(str(exc), EXIT_INVALID) from None
    current().check("undo", actor="cli", entry=args.id)  # before the kernel is opened
    try:
        director = IpvsClient()
    except BackendError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    with director:
        ops = Operations(director, actor="cli")
        with operation_errors():  # plan_undo first finishes or undoes a change a killed lvstui left half-recorded
            undo = plan_undo(ops, args.id, force=args.force, journal_extra=extra)
        for line in undo.recovered:
            print(f"lvstui: recovered: {line}", file=sys.stderr)
        print(undo.title)
        for line in undo.lines():
            print(f"  {line}")
        for warning in undo.warnings():
            print(f"lvstui: warning: {warning}", file=sys.stderr)
        if not confirmed("Undo it?", args.yes):
            print("nothing changed")
            return EXIT_REFUSED
        with operation_errors():
            outcomes = apply_undo(ops, undo, force=args.force, journal_extra=extra)
    for outcome in outcomes:
        for line in outcome.plan.lines() or [f"{outcome.plan.title}: nothing to change in the kernel"]:
            print(line)
        if outcome.plan.durable is not None:
            for line in outcome.plan.durable.lines:
                print(f"keepalived: {line}")
        for line in outcome.messages:
            print(line if line.startswith("RUNTIME ONLY") else f"keepalived: {line}")
    print(f"undone: journal {undo.entry_id}")
    return 0
