"""The confirmation rule the write verbs share (``vrrp demote|promote|setup``, ``undo``): ``--yes``,
else a "y" on the terminal; with no terminal and no ``--yes``, refused (exit 3)."""

from __future__ import annotations

import sys

from lvstui.commands.errors import EXIT_REFUSED, CliError

__all__ = ["confirmed"]


def confirmed(question: str, yes: bool) -> bool:
    """True to go ahead; False when the operator said no (nothing changed, say so and exit 3)."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise CliError("no terminal to confirm on: add --yes", EXIT_REFUSED)
    sys.stdout.write(question + " [y/N] ")
    sys.stdout.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")
