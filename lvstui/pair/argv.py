"""The peer's command line for a change made here: the same verb for the peer's lvstui, built from
the change object (validated here), so the CLI's verbs and the dashboard ask the peer alike.

A relative weight (+N/-N) is sent as the absolute weight it gives here, so both directors end
at the same weight; ``force`` and ``runtime_only`` are passed on.

Both journals name the other director alike, in ``peer`` (``role``: what the *peer* did):
the asking director's entry ``{"host": "lb2", "role": "asked", "result": ..., "entry": ...}``
(the peer's SSH target, its result and its journal id), the peer's entry
``{"host": "lb1", "role": "asking", "address": ...}`` (the asking director's host name, given
with ``--on-behalf-of``, and the address its SSH connection came from, where sshd says it).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Any

from lvstui.ops import changes as c
from lvstui.ops.changes import Change
from lvstui.ops.engine import Operations
from lvstui.ops.targets import InvalidInput
from lvstui.setup import validate

__all__ = ["ON_BEHALF_OF", "PAIRED_VERBS", "asking_record", "parse_asker", "peer_argv"]

#: The flag the asking director adds to what it runs on the peer (its host name after it).
ON_BEHALF_OF = "--on-behalf-of"

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


def parse_asker(text: str) -> str:
    """The asking director's name given with ``--on-behalf-of``: a host name or an address
    (InvalidInput, one line, otherwise)."""
    try:
        return validate.hostname(text, ON_BEHALF_OF)
    except validate.ValidationError as exc:
        raise InvalidInput(str(exc)) from None


def asking_record(host: str, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The journal's ``peer`` field of a change the pair's other director asked for (``--on-behalf-of
    HOST``): its name, and the address its SSH connection came from (``SSH_CLIENT``, set by sshd)."""
    record: dict[str, Any] = {"host": host, "role": "asking"}
    client = environ.get("SSH_CLIENT", "").split()
    if client:
        try:
            record["address"] = str(ipaddress.ip_address(client[0]))
        except ValueError:
            pass
    return record
