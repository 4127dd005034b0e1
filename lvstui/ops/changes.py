"""Validated change objects.  A change is planned against a fresh snapshot into kernel steps.

Planning never writes: it either returns the exact steps (each with what it
replaces, so it can be undone) or raises :class:`Refused` / ``InvalidInput``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from lvstui.model import Forward, RealServer, Snapshot, VirtualService
from lvstui.ops.targets import InvalidInput, ServerKey, ServiceKey, parse_flags

if TYPE_CHECKING:  # for the annotation only: ops.keepalived imports this module
    from lvstui.ops.keepalived import DurablePlan


class Refused(Exception):
    """The change is valid in form but not allowed now (missing target, duplicate, busy, read-only).

    ``instead``: the operation (its CLI verb, e.g. ``weight``) that does what the message advises;
    ``reason``: the refusal without the CLI's advice, for an interface that points at its own key.
    """

    def __init__(self, message: str, *, instead: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.instead = instead
        self.reason = reason or message


def scope(change: Change) -> list[ServiceKey] | None:
    """The services a change reads and writes, or None when it needs the whole table (a host)."""
    return None if isinstance(change, (DrainHost, RestoreHost)) else [change.service]


def forced(change: Change) -> bool:
    """The change's own ``force`` (remove-rs and remove-vs carry one)."""
    return isinstance(change, (RemoveServer, RemoveService)) and change.force


class Director(Protocol):
    """What the operations layer needs of a backend (the kernel, or the demo).

    A director may also be a :class:`ServiceReader` (it reads only the services asked for):
    the engine then reads just what a change touches instead of the whole table.
    """

    def read(self) -> Snapshot: ...
    def add_service(self, vs: VirtualService) -> None: ...
    def edit_service(self, vs: VirtualService) -> None: ...
    def delete_service(self, vs: VirtualService) -> None: ...
    def add_dest(self, vs: VirtualService, rs: RealServer) -> None: ...
    def edit_dest(self, vs: VirtualService, rs: RealServer) -> None: ...
    def delete_dest(self, vs: VirtualService, rs: RealServer) -> None: ...


@runtime_checkable
class ServiceReader(Protocol):
    """A director that can read just some services (the kernel client does: one netlink dump each)."""

    def read_services(self, keys: list[ServiceKey]) -> Snapshot: ...


@dataclass(frozen=True)
class Step:
    """One kernel change: ``add``/``edit``/``delete`` of a service (rs is None) or a real server."""

    action: str
    vs: VirtualService
    rs: RealServer | None = None
    before: VirtualService | RealServer | None = None

    def describe(self) -> str:
        if self.rs is None:
            if self.action == "edit" and isinstance(self.before, VirtualService):
                return f"edit virtual service {self.vs.id}: {_vs_settings(self.before)} -> {_vs_settings(self.vs)}"
            return f"{self.action} virtual service {self.vs.id} ({_vs_settings(self.vs)})"
        if self.action == "edit" and isinstance(self.before, RealServer):
            changes = _rs_diff(self.before, self.rs)
            return f"{self.vs.id} -> {self.rs.id}: {changes}"
        if self.action == "add":
            return (f"add real server {self.rs.id} to {self.vs.id} ({self.rs.forward.value}, weight "
                    f"{self.rs.weight})")
        return f"remove real server {self.rs.id} from {self.vs.id}"

    def apply(self, director: Director) -> None:
        if self.rs is None:
            {"add": director.add_service, "edit": director.edit_service,
             "delete": director.delete_service}[self.action](self.vs)
        else:
            {"add": director.add_dest, "edit": director.edit_dest,
             "delete": director.delete_dest}[self.action](self.vs, self.rs)

    def undo(self, director: Director) -> None:
        if self.rs is None:
            if self.action == "add":
                director.delete_service(self.vs)
            elif self.action == "delete":
                director.add_service(self.vs)
                for rs in self.vs.real_servers:
                    director.add_dest(self.vs, rs)
            elif isinstance(self.before, VirtualService):
                director.edit_service(self.before)
        else:
            if self.action == "add":
                director.delete_dest(self.vs, self.rs)
            elif self.action == "delete":
                director.add_dest(self.vs, self.rs)
            elif isinstance(self.before, RealServer):
                director.edit_dest(self.vs, self.before)

    def check(self, snap: Snapshot) -> str | None:
        """After applying: None if the kernel shows the intended result, else what differs."""
        current = snap.service(self.vs.id)
        if self.rs is None:
            if self.action == "delete":
                return None if current is None else f"{self.vs.id} is still there"
            if current is None:
                return f"{self.vs.id} is missing"
            if _vs_settings(current) != _vs_settings(self.vs):
                return f"{self.vs.id} reads back as {_vs_settings(current)}"
            return None
        if current is None:
            return f"{self.vs.id} is missing"
        found = current.real_server(self.rs.id)
        if self.action == "delete":
            return None if found is None else f"{self.rs.id} is still in {self.vs.id}"
        if found is None:
            return f"{self.rs.id} is missing from {self.vs.id}"
        if _rs_settings(found) != _rs_settings(self.rs):
            return f"{self.vs.id} -> {self.rs.id} reads back as {_rs_diff(self.rs, found)}"
        return None


def _vs_settings(vs: VirtualService) -> str:
    parts = [vs.scheduler]
    if vs.persistence_timeout:
        parts.append(f"persistent {vs.persistence_timeout}s")
        default = "128" if vs.family == "inet6" else "255.255.255.255"
        if vs.netmask != default:
            parts.append(f"mask {vs.netmask}")
    flags = [f for f in vs.flags if f != "persistent"]
    if flags:
        parts.append("flags " + ",".join(flags))
    if vs.persistence_engine:
        parts.append(f"pe {vs.persistence_engine}")
    return " ".join(parts)


def _rs_settings(rs: RealServer) -> tuple[object, ...]:
    return rs.forward, rs.weight, rs.upper_threshold, rs.lower_threshold


def _rs_diff(a: RealServer, b: RealServer) -> str:
    out = []
    if a.weight != b.weight:
        out.append(f"weight {a.weight} -> {b.weight}")
    if a.forward != b.forward:
        out.append(f"forward {a.forward.value} -> {b.forward.value}")
    if a.upper_threshold != b.upper_threshold:
        out.append(f"upper threshold {a.upper_threshold} -> {b.upper_threshold}")
    if a.lower_threshold != b.lower_threshold:
        out.append(f"lower threshold {a.lower_threshold} -> {b.lower_threshold}")
    return ", ".join(out) or "no change"


@dataclass
class Plan:
    """What a change will do, shown before it is applied."""

    title: str
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    remember: dict[tuple[str, str], int] = field(default_factory=dict)  # weights to keep for restore
    forget: list[tuple[str, str]] = field(default_factory=list)
    # keepalived: what makes the change durable, or the operator's choice to change the kernel
    # only although keepalived manages the service.
    durable: DurablePlan | None = None
    runtime_only: bool = False

    def lines(self) -> list[str]:
        return [s.describe() for s in self.steps]

    def keepalived_lines(self) -> list[str]:
        """What will be written for keepalived (track files, configuration lines, reload)."""
        return self.durable.describe() if self.durable is not None else []


# -- helpers ---------------------------------------------------------------------


def _service(snap: Snapshot, key: ServiceKey) -> VirtualService:
    vs = snap.service(key.id)
    if vs is None:
        raise Refused(f"virtual service {key.id} does not exist")
    return vs


def _server(vs: VirtualService, key: ServerKey) -> RealServer:
    rs = vs.real_server(key.id)
    if rs is None:
        raise Refused(f"real server {key.id} is not in {vs.id}")
    return rs


def _check_port_for(vs: VirtualService, key: ServerKey, forward: Forward) -> None:
    if key.port == 0 and not vs.fwmark:
        raise InvalidInput(f"real server {key.id}: port 0 is only valid in fwmark services")
    if vs.fwmark or forward is Forward.NAT or vs.port is None:
        return
    if key.port != vs.port:
        raise InvalidInput(f"{forward.value} delivers to the service's own port {vs.port}, not {key.port}: "
                           f"use port {vs.port}, or NAT to map {vs.port} to {key.port}")


def persistence_warning(vs: VirtualService, expire_quiescent_template: int | None) -> str | None:
    if not vs.persistence_timeout:
        return None
    if expire_quiescent_template == 1:
        return None
    return (f"{vs.id} is persistent ({vs.persistence_timeout}s): clients holding a persistence template keep "
            "reaching a drained real server until the template expires, because "
            "net.ipv4.vs.expire_quiescent_template is 0. Watch PersistConn separately from connections.")


# -- real servers ------------------------------------------------------------------


@dataclass(frozen=True)
class SetWeight:
    service: ServiceKey
    server: ServerKey
    weight: int | None = None  # absolute
    delta: int = 0  # relative (+1/-1) when weight is None
    verb: str = "weight"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        vs = _service(snap, self.service)
        rs = _server(vs, self.server)
        weight = self.weight if self.weight is not None else rs.weight + self.delta
        if weight < 0:
            raise Refused(f"{rs.id} in {vs.id} is at weight {rs.weight}: cannot go below 0")
        if weight > 2147483647:
            raise Refused("weight cannot go above 2147483647")
        plan = Plan(f"set weight of {rs.id} in {vs.id} to {weight}")
        if weight != rs.weight:
            plan.steps.append(Step("edit", vs, dataclasses.replace(rs, weight=weight), rs))
        if weight > 0:
            plan.forget.append((vs.id, rs.id))
        return plan


@dataclass(frozen=True)
class Drain:
    service: ServiceKey
    server: ServerKey
    verb: str = "drain"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        vs = _service(snap, self.service)
        rs = _server(vs, self.server)
        plan = Plan(f"drain {rs.id} in {vs.id} (weight {rs.weight} -> 0; existing connections finish)")
        if rs.weight > 0:
            plan.steps.append(Step("edit", vs, dataclasses.replace(rs, weight=0), rs))
            plan.remember[(vs.id, rs.id)] = rs.weight
        else:
            plan.warnings.append(f"{rs.id} in {vs.id} is already at weight 0")
        warning = persistence_warning(vs, eqt)
        if warning:
            plan.warnings.append(warning)
        return plan


@dataclass(frozen=True)
class Restore:
    service: ServiceKey
    server: ServerKey
    verb: str = "restore"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        vs = _service(snap, self.service)
        rs = _server(vs, self.server)
        weight = memory.get(f"{vs.id} {rs.id}")
        if weight is None:
            if rs.weight > 0:
                return Plan(f"{rs.id} in {vs.id} is not drained (weight {rs.weight})")
            reason = f"no remembered weight for {rs.id} in {vs.id} (it was not drained by lvstui)"
            raise Refused(f"{reason}: set one with `lvstui weight {vs.id} {rs.id} N`", instead="weight",
                          reason=reason)
        plan = Plan(f"restore {rs.id} in {vs.id} to weight {weight}")
        if rs.weight != weight:
            plan.steps.append(Step("edit", vs, dataclasses.replace(rs, weight=weight), rs))
        plan.forget.append((vs.id, rs.id))
        return plan


def _host_servers(snap: Snapshot, address: str) -> list[tuple[VirtualService, RealServer]]:
    found = [(vs, rs) for vs in snap.virtual_services for rs in vs.real_servers if rs.address == address]
    if not found:
        raise Refused(f"no real server with address {address} in any virtual service")
    return found


@dataclass(frozen=True)
class DrainHost:
    address: str
    verb: str = "drain-host"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        plan = Plan(f"drain every real server on {self.address}")
        for vs, rs in _host_servers(snap, self.address):
            if rs.weight > 0:
                plan.steps.append(Step("edit", vs, dataclasses.replace(rs, weight=0), rs))
                plan.remember[(vs.id, rs.id)] = rs.weight
            warning = persistence_warning(vs, eqt)
            if warning:
                plan.warnings.append(warning)
        if not plan.steps:
            plan.warnings.append(f"every real server on {self.address} is already at weight 0")
        return plan


@dataclass(frozen=True)
class RestoreHost:
    address: str
    verb: str = "restore-host"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        plan = Plan(f"restore every real server on {self.address}")
        missing = []
        for vs, rs in _host_servers(snap, self.address):
            weight = memory.get(f"{vs.id} {rs.id}")
            if weight is None:
                if rs.weight == 0:
                    missing.append(f"{vs.id} -> {rs.id}")
                continue
            if weight != rs.weight:
                plan.steps.append(Step("edit", vs, dataclasses.replace(rs, weight=weight), rs))
            plan.forget.append((vs.id, rs.id))
        if missing:
            plan.warnings.append("no remembered weight (left at 0): " + "; ".join(missing))
        return plan


@dataclass(frozen=True)
class AddServer:
    service: ServiceKey
    server: ServerKey
    weight: int = 1
    forward: Forward = Forward.DR
    upper: int = 0
    lower: int = 0
    verb: str = "add-rs"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        vs = _service(snap, self.service)
        if vs.real_server(self.server.id) is not None:
            raise Refused(f"real server {self.server.id} is already in {vs.id}")
        _check_port_for(vs, self.server, self.forward)
        if self.upper and self.lower > self.upper:
            raise InvalidInput(f"lower threshold {self.lower} is above upper threshold {self.upper}")
        rs = RealServer(address=self.server.address, port=self.server.port, family=self.server.family,
                        forward=self.forward, weight=self.weight, upper_threshold=self.upper,
                        lower_threshold=self.lower)
        if vs.fwmark is None and rs.family != vs.family and self.forward is not Forward.TUN:
            raise InvalidInput(f"an {rs.family} real server in an {vs.family} service needs TUN forwarding")
        return Plan(f"add {rs.id} to {vs.id}", [Step("add", vs, rs)])


@dataclass(frozen=True)
class RemoveServer:
    service: ServiceKey
    server: ServerKey
    force: bool = False
    verb: str = "remove-rs"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        vs = _service(snap, self.service)
        rs = _server(vs, self.server)
        if rs.active_conns and not self.force:
            raise Refused(f"{rs.id} in {vs.id} still has {rs.active_conns} active connections: drain it first, "
                          "or force (the kernel drops them)")
        plan = Plan(f"remove {rs.id} from {vs.id}", [Step("delete", vs, rs)], forget=[(vs.id, rs.id)])
        if rs.active_conns:
            plan.warnings.append(f"{rs.active_conns} active connections on {rs.id} will be dropped")
        if len(vs.real_servers) == 1:
            plan.warnings.append(f"{rs.id} is the last real server of {vs.id}")
        return plan


# -- virtual services --------------------------------------------------------------


@dataclass(frozen=True)
class ServiceSettings:
    scheduler: str | None = None
    persistence_timeout: int | None = None
    netmask: str | None = None
    flags: str | None = None  # comma list, validated against the scheduler
    persistence_engine: str | None = None


def _apply_settings(base: VirtualService, s: ServiceSettings) -> VirtualService:
    scheduler = s.scheduler or base.scheduler
    timeout = base.persistence_timeout if s.persistence_timeout is None else s.persistence_timeout
    if s.flags is not None:
        flags = list(parse_flags(s.flags, scheduler))
    else:
        flags = [f for f in base.flags if f != "persistent"]
        if scheduler != base.scheduler:
            flags = [f for f in flags if f == "ops"]
    if timeout:
        flags.insert(0, "persistent")
    netmask = s.netmask or base.netmask
    pe = base.persistence_engine if s.persistence_engine is None else (s.persistence_engine or None)
    if pe and not timeout:
        raise InvalidInput("a persistence engine needs a persistent service (--persistent SECONDS)")
    if s.netmask and not timeout:
        raise InvalidInput("--netmask applies to persistent services only (add --persistent SECONDS)")
    return dataclasses.replace(base, scheduler=scheduler, persistence_timeout=timeout, flags=tuple(flags),
                               netmask=netmask, persistence_engine=pe)


@dataclass(frozen=True)
class AddService:
    service: ServiceKey
    settings: ServiceSettings = ServiceSettings()
    verb: str = "add-vs"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        if snap.service(self.service.id) is not None:
            raise Refused(f"virtual service {self.service.id} already exists")
        k = self.service
        base = VirtualService(protocol=k.protocol, family=k.family, address=k.address, port=k.port,
                              fwmark=k.fwmark, scheduler="wlc",
                              netmask="128" if k.family == "inet6" else "255.255.255.255")
        vs = _apply_settings(base, self.settings)
        return Plan(f"add virtual service {vs.id}", [Step("add", vs)])


@dataclass(frozen=True)
class EditService:
    service: ServiceKey
    settings: ServiceSettings = ServiceSettings()
    verb: str = "edit-vs"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        current = _service(snap, self.service)
        vs = _apply_settings(current, self.settings)
        plan = Plan(f"edit virtual service {vs.id}")
        if _vs_settings(vs) != _vs_settings(current):
            plan.steps.append(Step("edit", vs, None, current))
        return plan


@dataclass(frozen=True)
class RemoveService:
    service: ServiceKey
    force: bool = False
    verb: str = "remove-vs"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        vs = _service(snap, self.service)
        if vs.active_conns and not self.force:
            raise Refused(f"{vs.id} still has {vs.active_conns} active connections: drain its real servers "
                          "first, or force (the kernel drops them)")
        plan = Plan(f"remove virtual service {vs.id} and its {len(vs.real_servers)} real servers",
                    [Step("delete", vs)], forget=[(vs.id, rs.id) for rs in vs.real_servers])
        if vs.active_conns:
            plan.warnings.append(f"{vs.active_conns} active connections will be dropped")
        return plan


Change = (SetWeight | Drain | Restore | DrainHost | RestoreHost | AddServer | RemoveServer | AddService
          | EditService | RemoveService)
