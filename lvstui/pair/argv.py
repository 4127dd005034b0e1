"""The peer's command line for a change made here: the same verb for the peer's lvstui, built from
the change object (validated here), so the CLI's verbs and the dashboard ask the peer alike.

A relative weight (+N/-N) is sent as the absolute weight it gives here, so both directors end
at the same weight; ``force`` and ``runtime_only`` are passed on.
"""

from __future__ import annotations

from lvstui.ops import changes as c
from lvstui.ops.changes import Change
from lvstui.ops.engine import Operations

__all__ = ["PAIRED_VERBS", "peer_argv"]

#: The verbs made on both directors (the real servers' and virtual services' durable changes).
#: IPVS-wide settings (timeouts, expire-quiescent, counters, sync daemons) stay per director.
#: (Here, not in lvstui.pair.both, so that the dashboard knows them without loading SSH.)
PAIRED_VERBS = frozenset({"drain", "restore", "drain-host", "restore-host", "weight", "add-rs", "remove-rs",
                          "add-vs", "edit-vs", "remove-vs"})


def peer_argv(change: Change, ops: Operations, *, force: bool = False, runtime_only: bool = False) -> list[str]:
    """``[VERB, ARG...]`` for ``lvstui --peer none`` on the peer; TypeError for a verb made per
    director (see :data:`PAIRED_VERBS`)."""
    argv = _verb_argv(change, ops)
    if force or getattr(change, "force", False):
        argv.append("--force")
    if runtime_only:
        argv.append("--runtime-only")
    return argv


def _verb_argv(change: Change, ops: Operations) -> list[str]:
    if isinstance(change, (c.DrainHost, c.RestoreHost)):
        return [change.verb, change.address]
    if isinstance(change, (c.AddService, c.EditService)):
        s = change.settings
        argv = [change.verb, change.service.id]
        for flag, value in (("--scheduler", s.scheduler), ("--persistent", s.persistence_timeout),
                            ("--netmask", s.netmask), ("--flags", s.flags), ("--pe", s.persistence_engine)):
            if value is not None:
                argv += [flag, str(value)]
        return argv
    if isinstance(change, c.RemoveService):
        return [change.verb, change.service.id]
    if isinstance(change, (c.Drain, c.Restore, c.RemoveServer)):
        return [change.verb, change.service.id, change.server.id]
    if isinstance(change, c.SetWeight):
        return [change.verb, change.service.id, change.server.id, _absolute(change, ops)]
    if isinstance(change, c.AddServer):
        return [change.verb, change.service.id, change.server.id, "--weight", str(change.weight),
                "--forward", change.forward.value, "--upper", str(change.upper), "--lower", str(change.lower)]
    raise TypeError(f"{change.verb} is made per director, not on the peer")


def _absolute(change: c.SetWeight, ops: Operations) -> str:
    if change.weight is not None:
        return str(change.weight)
    snap = ops.read_for(change)
    found = [rs.weight for vs in snap.virtual_services if vs.id == change.service.id
             for rs in vs.real_servers if rs.id == change.server.id]
    return str(found[0] + change.delta) if found else f"{change.delta:+d}"
