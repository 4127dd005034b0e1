"""How a change is written in the journal: for the operator to read, and for ``lvstui undo`` to reverse.

``describe_change`` is the short form every entry carries (``change``); an applied entry also
carries ``record`` (the change itself, rebuilt by :func:`change_from_record`) and ``kernel``
(each kernel step with the settings before and after, what undo checks still holds).
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from lvstui.model import Forward, RealServer, VirtualService
from lvstui.ops import changes as c
from lvstui.ops.changes import Change, ServiceSettings, Step
from lvstui.ops.targets import ServerKey, ServiceKey, parse_server_id, parse_service_id

__all__ = ["change_from_record", "change_record", "describe_change", "rs_settings", "steps_record", "vs_settings"]

_KINDS: dict[str, type[Any]] = {cls.__name__: cls for cls in (
    c.SetWeight, c.Drain, c.Restore, c.DrainHost, c.RestoreHost, c.AddServer, c.RemoveServer, c.AddService,
    c.EditService, c.RemoveService, c.SetExpireQuiescent, c.SetTimeouts, c.ZeroCounters,
    c.StartSync, c.StopSync, c.LoadTable)}


def _plain(value: object) -> object:
    if isinstance(value, (ServiceKey, ServerKey)):
        return value.id
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, ServiceSettings):
        return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}
    return value


def describe_change(change: Change) -> dict[str, object]:
    """The change's fields as the journal shows them (ids as strings), without its verb."""
    return {f.name: _plain(getattr(change, f.name)) for f in dataclasses.fields(change) if f.name != "verb"}


def change_record(change: Change) -> dict[str, object]:
    """Everything needed to rebuild ``change``: its kind and fields."""
    return {"kind": type(change).__name__, **describe_change(change)}


def change_from_record(record: dict[str, Any]) -> Change:
    """The change :func:`change_record` wrote (raises ValueError/KeyError for an unknown record)."""
    fields = dict(record)
    cls = _KINDS[str(fields.pop("kind"))]
    if fields.get("service") is not None:
        service = parse_service_id(str(fields["service"]))
        fields["service"] = service
        if "server" in fields:
            fields["server"] = parse_server_id(str(fields["server"]), allow_port_zero=service.fwmark is not None)
    if "forward" in fields:
        fields["forward"] = Forward(fields["forward"])
    if "settings" in fields:
        fields["settings"] = ServiceSettings(**fields["settings"])
    change: Change = cls(**fields)
    return change


def rs_settings(rs: RealServer) -> dict[str, object]:
    return {"forward": rs.forward.value, "weight": rs.weight, "upper": rs.upper_threshold,
            "lower": rs.lower_threshold}


def vs_settings(vs: VirtualService) -> dict[str, object]:
    return {"scheduler": vs.scheduler, "persistence": vs.persistence_timeout, "netmask": vs.netmask,
            "flags": sorted(vs.flags), "pe": vs.persistence_engine}


def steps_record(steps: list[Step]) -> list[dict[str, object]]:
    """Each kernel step: what it did to which service or real server, the settings before and after."""
    out: list[dict[str, object]] = []
    for step in steps:
        item: dict[str, object] = {"action": step.action, "vs": step.vs.id}
        if step.rs is None:
            item["before" if step.action == "delete" else "after"] = vs_settings(step.vs)
            if isinstance(step.before, VirtualService):
                item["before"] = vs_settings(step.before)
        else:
            item["rs"] = step.rs.id
            before = step.before if isinstance(step.before, RealServer) else None
            if step.action == "delete":
                item["before"] = rs_settings(step.rs)
            else:
                item["after"] = rs_settings(step.rs)
                if before is not None:
                    item["before"] = rs_settings(before)
        out.append(item)
    return out
