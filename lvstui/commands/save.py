"""``lvstui save``: the IPVS table as ``ipvsadm -S -n`` writes it, so that ``ipvsadm -R`` reads it back
(see :mod:`lvstui.backend.rules`).  Reads only."""

from __future__ import annotations

import argparse

from lvstui.commands.errors import EXIT_FAILED, CliError

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("save", help="print the IPVS table as `ipvsadm -S -n` does (for `ipvsadm -R`)",
                       description="Print the IPVS table as `ipvsadm -S -n` does, so that `ipvsadm -R` "
                                   "reads it back. Like ipvsadm it leaves out connection thresholds, "
                                   "timeouts and sync daemons. Reads only.")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lvstui.backend import BackendError
    from lvstui.backend.ipvs import IpvsClient
    from lvstui.backend.rules import save_lines

    try:
        with IpvsClient() as director:
            snap = director.read()
    except BackendError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    for line in save_lines(snap):
        print(line)
    return 0
