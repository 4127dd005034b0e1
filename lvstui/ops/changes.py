"""Validated change objects.  A change is planned against a fresh snapshot into kernel steps.

Planning never writes: it either returns the exact steps (each with what it
replaces, so it can be undone) or raises :class:`Refused` / ``InvalidInput``.
"""

from __future__ import annotations

import dataclasses
import errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from lvstui.backend.rules import save_lines
from lvstui.model import Forward, RealServer, Snapshot, SyncDaemon, Timeouts, VirtualService
from lvstui.ops.refused import Refused as Refused  # re-exported: its home before ops.refused
from lvstui.ops.rules import parse_rules
from lvstui.ops.targets import InvalidInput, ServerKey, ServiceKey, parse_flags

if TYPE_CHECKING:  # for the annotation only: ops.keepalived imports this module
    from lvstui.ops.keepalived import DurablePlan


def scope(change: Change) -> list[ServiceKey] | None:
    """The services a change reads and writes, or None when it needs the whole table (a host)."""
    if isinstance(change, SetExpireQuiescent):
        return []
    if isinstance(change, ZeroCounters):
        return [change.service] if change.service is not None else []
    if isinstance(change, (SetTimeouts, StartSync, StopSync, LoadTable)):
        return None  # a full read: it carries the timeouts and the daemons
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
    config: list[TimeoutsStep | ZeroStep | DaemonStep] = field(default_factory=list)  # IPVS-wide (after the steps)
    sysctls: list[SysctlStep] = field(default_factory=list)  # IPVS sysctls to write (after those)
    record: dict[str, object] = field(default_factory=dict)  # more for the journal entry (what undo needs)

    def lines(self) -> list[str]:
        return ([s.describe() for s in self.steps] + [s.describe() for s in self.config]
                + [s.describe() for s in self.sysctls])

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
            "net.ipv4.vs.expire_quiescent_template is 0 (`lvstui expire-quiescent on` sets it to 1). Watch its "
            "persistent count (the dashboard's Persist column, ipvsadm's PersistConn) separately from connections.")


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


# -- sysctls -----------------------------------------------------------------------

EQT = "expire_quiescent_template"


@dataclass(frozen=True)
class SysctlStep:
    """One IPVS sysctl (a file of /proc/sys/net/ipv4/vs) to write, with the value it replaces."""

    name: str
    value: int
    before: int

    def describe(self) -> str:
        return f"net.ipv4.vs.{self.name}: {self.before} -> {self.value}"


@dataclass(frozen=True)
class SetExpireQuiescent:
    """net.ipv4.vs.expire_quiescent_template: at 1 the kernel drops a persistence template that
    points at a weight-0 real server when a pinned client comes back, so a drain also ends
    persistence's pinning; at 0 (the kernel's default) pinned clients keep reaching it."""

    value: int
    verb: str = "expire-quiescent"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        if self.value not in (0, 1):
            raise InvalidInput(f"net.ipv4.vs.{EQT} is 0 or 1, not {self.value}")
        if eqt is None:
            raise Refused(f"net.ipv4.vs.{EQT} cannot be read (no IPVS in this kernel or network namespace)")
        word = "on" if self.value else "off"
        plan = Plan(f"expire quiescent templates {word} (net.ipv4.vs.{EQT} = {self.value})")
        if eqt != self.value:
            plan.sysctls.append(SysctlStep(EQT, self.value, eqt))
            plan.warnings.append(f"net.ipv4.vs.{EQT} lasts until the next reboot; to keep it, add "
                                 f"'net.ipv4.vs.{EQT} = {self.value}' to /etc/sysctl.d/ (the ip_vs module "
                                 "must be loaded before sysctl reads it)")
        return plan


# -- table-wide settings: timeouts, counters ---------------------------------------------

MAX_TIMEOUT = 2147483  # seconds: the kernel keeps timeouts in jiffies (an int), at HZ up to 1000


@runtime_checkable
class ConfigDirector(Protocol):
    """A director that can set IPVS's timeouts and zero counters (the kernel client)."""

    def read_timeouts(self) -> Timeouts | None: ...
    def set_timeouts(self, t: Timeouts) -> None: ...
    def zero(self, vs: VirtualService | None) -> None: ...
    def read_daemons(self) -> tuple[SyncDaemon, ...]: ...
    def start_daemon(self, d: SyncDaemon) -> None: ...
    def stop_daemon(self, state: str) -> None: ...


def _config_director(director: Director) -> ConfigDirector:
    if not isinstance(director, ConfigDirector):
        raise OSError(errno.EOPNOTSUPP, "this director has no timeouts, counters or sync daemons to change")
    return director


def _timeouts_text(t: Timeouts) -> str:
    return f"tcp {t.tcp}, tcpfin {t.tcp_fin}, udp {t.udp}"


@dataclass(frozen=True)
class TimeoutsStep:
    """``ipvsadm --set``: the three timeouts to write, and the ones they replace."""

    after: Timeouts
    before: Timeouts

    def describe(self) -> str:
        return f"IPVS timeouts: {_timeouts_text(self.before)} -> {_timeouts_text(self.after)}"

    def apply(self, director: Director) -> None:
        _config_director(director).set_timeouts(self.after)

    def undo(self, director: Director) -> None:
        _config_director(director).set_timeouts(self.before)

    def check(self, director: Director) -> str | None:
        now = _config_director(director).read_timeouts()
        return None if now == self.after else f"IPVS timeouts read back as {_timeouts_text(now) if now else 'nothing'}"

    def record(self) -> dict[str, object]:
        return {"timeouts": {"before": dataclasses.asdict(self.before), "after": dataclasses.asdict(self.after)}}


@dataclass(frozen=True)
class ZeroStep:
    """``ipvsadm -Z``: one service's counters (its real servers' too), or every counter."""

    vs: VirtualService | None

    def describe(self) -> str:
        return f"zero the counters of {self.vs.id} and its real servers" if self.vs else "zero every IPVS counter"

    def apply(self, director: Director) -> None:
        _config_director(director).zero(self.vs)

    def undo(self, director: Director) -> None:
        """Counters cannot be put back (a zero is the one step of its change: nothing after it fails)."""

    def check(self, director: Director) -> str | None:
        return None  # new packets count again at once: there is no value to read back

    def record(self) -> dict[str, object]:
        return {"zeroed": self.vs.id if self.vs else "all"}


@dataclass(frozen=True)
class SetTimeouts:
    """``ipvsadm --set``: any of the three; the others stay as they are."""

    tcp: int | None = None
    tcp_fin: int | None = None
    udp: int | None = None
    verb: str = "timeouts"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        for name, value in (("tcp", self.tcp), ("tcpfin", self.tcp_fin), ("udp", self.udp)):
            if value is not None and not 1 <= value <= MAX_TIMEOUT:
                raise InvalidInput(f"--{name} {value}: a timeout is 1-{MAX_TIMEOUT} seconds")
        current = snap.timeouts
        if current is None:
            raise Refused("the kernel did not report its timeouts")
        after = Timeouts(tcp=self.tcp or current.tcp, tcp_fin=self.tcp_fin or current.tcp_fin,
                         udp=self.udp or current.udp)
        plan = Plan(f"set IPVS timeouts ({_timeouts_text(after)})")
        if after != current:
            plan.config.append(TimeoutsStep(after, current))
            plan.warnings.append("new timeouts apply from each entry's next state change; entries keep the "
                                 "timer they run now")
        return plan


@dataclass(frozen=True)
class ZeroCounters:
    """``ipvsadm -Z``: one virtual service's counters, or all (None)."""

    service: ServiceKey | None = None
    verb: str = "zero"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        vs = _service(snap, self.service) if self.service is not None else None
        title = f"zero the counters of {vs.id}" if vs is not None else "zero every IPVS counter"
        return Plan(title, config=[ZeroStep(vs)])


def daemon_text(d: SyncDaemon) -> str:
    """As ``ipvsadm -L --daemon`` prints it (the fields it prints when set)."""
    text = f"{d.state} sync daemon (mcast={d.mcast_ifn}, syncid={d.syncid}"
    if d.sync_maxlen:
        text += f", maxlen={d.sync_maxlen}"
    if d.mcast_group:
        text += f", group={d.mcast_group}"
    if d.mcast_port:
        text += f", port={d.mcast_port}"
    if d.mcast_ttl:
        text += f", ttl={d.mcast_ttl}"
    return text + ")"


@dataclass(frozen=True)
class DaemonStep:
    """``ipvsadm --start-daemon`` / ``--stop-daemon`` of one connection-sync daemon."""

    action: str  # start | stop
    daemon: SyncDaemon

    def describe(self) -> str:
        d = self.daemon
        return f"{self.action} the {d.state} sync daemon (interface {d.mcast_ifn}, syncid {d.syncid})"

    def apply(self, director: Director) -> None:
        self._do(director, self.action)

    def undo(self, director: Director) -> None:
        self._do(director, "stop" if self.action == "start" else "start")

    def _do(self, director: Director, action: str) -> None:
        target = _config_director(director)
        if action == "start":
            target.start_daemon(self.daemon)
        else:
            target.stop_daemon(self.daemon.state)

    def check(self, director: Director) -> str | None:
        running = {d.state: d for d in _config_director(director).read_daemons()}
        now = running.get(self.daemon.state)
        if self.action == "stop":
            return None if now is None else f"the {self.daemon.state} sync daemon still runs"
        if now is None:
            return f"the {self.daemon.state} sync daemon is not running"
        if (now.mcast_ifn, now.syncid) != (self.daemon.mcast_ifn, self.daemon.syncid):
            return f"reads back as {daemon_text(now)}"
        return None

    def record(self) -> dict[str, object]:
        return {"daemon": {"action": self.action, **dataclasses.asdict(self.daemon)}}


SYNC_STATES = ("master", "backup")


def _running(snap: Snapshot, state: str) -> SyncDaemon | None:
    if state not in SYNC_STATES:
        raise InvalidInput(f"sync daemon {state!r}: master or backup")
    return next((d for d in snap.sync_daemons if d.state == state), None)


@dataclass(frozen=True)
class StartSync:
    """``ipvsadm --start-daemon master|backup --mcast-interface IFN --syncid N``."""

    state: str
    interface: str
    syncid: int = 0
    verb: str = "sync-start"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        _running(snap, self.state)  # checks the name
        if not 0 <= self.syncid <= 255:
            raise InvalidInput(f"--syncid {self.syncid}: 0-255 (0: every sync id, for a backup)")
        if not self.interface or len(self.interface) > 15 or "/" in self.interface or " " in self.interface:
            raise InvalidInput(f"--interface {self.interface!r} is not an interface name")
        wanted = SyncDaemon(self.state, self.interface, self.syncid)
        plan = Plan(f"start the {self.state} sync daemon on {self.interface} (syncid {self.syncid})")
        running = _running(snap, self.state)
        if running is not None:
            if (running.mcast_ifn, running.syncid) == (self.interface, self.syncid):
                plan.warnings.append(f"already running: {daemon_text(running)}")
                return plan
            raise Refused(f"{daemon_text(running)} already runs: stop it first (lvstui sync stop {self.state})")
        plan.config.append(DaemonStep("start", wanted))
        return plan


@dataclass(frozen=True)
class StopSync:
    """``ipvsadm --stop-daemon master|backup``."""

    state: str
    verb: str = "sync-stop"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        plan = Plan(f"stop the {self.state} sync daemon")
        running = _running(snap, self.state)
        if running is None:
            plan.warnings.append(f"no {self.state} sync daemon runs")
        else:
            plan.config.append(DaemonStep("stop", running))
        return plan


# -- load: a saved table applied as the difference ------------------------------------------


def _settings_key(vs: VirtualService) -> tuple[object, ...]:
    default = "128" if vs.family == "inet6" else "255.255.255.255"
    return (vs.scheduler, vs.persistence_timeout, vs.netmask if vs.persistence_timeout else default,
            frozenset(f for f in vs.flags if f != "hashed"), vs.persistence_engine or None)


def _dest_key(rs: RealServer) -> tuple[object, ...]:
    tunnel = (rs.tun_type or "ipip", rs.tun_port, frozenset(rs.tun_flags)) if rs.forward is Forward.TUN else None
    forward = Forward.DR if rs.forward is Forward.LOCAL else rs.forward  # the kernel picks local by itself
    return forward, rs.weight, rs.upper_threshold, rs.lower_threshold, tunnel


@dataclass(frozen=True)
class LoadTable:
    """A saved table (``lvstui save`` / ``ipvsadm -S -n`` lines) applied as only what differs:
    services and real servers added, changed or removed so that the kernel's table is the file's.
    Thresholds the file does not give (ipvsadm -S never writes them) stay as they are."""

    text: str
    source: str = "-"
    verb: str = "load"

    def plan(self, snap: Snapshot, memory: dict[str, int], eqt: int | None = None) -> Plan:
        saved = parse_rules(self.text, self.source)
        plan = Plan(f"load {self.source}")
        wanted = {s.vs.id for s in saved}
        intended = []
        for s in saved:
            current = snap.service(s.vs.id)
            if current is None:
                vs = dataclasses.replace(s.vs, real_servers=tuple(x.rs for x in s.servers))
                plan.steps.append(Step("add", vs))
                plan.steps += [Step("add", vs, x.rs) for x in s.servers]
                intended.append(vs)
                continue
            if _settings_key(current) != _settings_key(s.vs):
                plan.steps.append(Step("edit", dataclasses.replace(s.vs, real_servers=current.real_servers),
                                       None, current))
            names = {x.rs.id for x in s.servers}
            for rs in current.real_servers:
                if rs.id not in names:
                    plan.steps.append(Step("delete", current, rs))
                    if rs.active_conns:
                        plan.warnings.append(f"{rs.active_conns} active connections on {rs.id} in {current.id} "
                                             "will be dropped")
            servers = []
            for x in s.servers:
                have = current.real_server(x.rs.id)
                rs = x.rs
                if have is not None and not x.thresholds_given:
                    rs = dataclasses.replace(rs, upper_threshold=have.upper_threshold,
                                             lower_threshold=have.lower_threshold)
                if have is None:
                    plan.steps.append(Step("add", current, rs))
                elif _dest_key(have) != _dest_key(rs):
                    plan.steps.append(Step("edit", current, rs, have))
                servers.append(rs)
            intended.append(dataclasses.replace(s.vs, real_servers=tuple(servers)))
        for vs in snap.virtual_services:
            if vs.id not in wanted:
                plan.steps.append(Step("delete", vs))
                if vs.active_conns:
                    plan.warnings.append(f"{vs.active_conns} active connections of {vs.id} will be dropped")
        after = dataclasses.replace(snap, virtual_services=tuple(intended))
        plan.record = {"table_before": list(save_lines(snap, thresholds=True)),
                       "table_after": sorted(save_lines(after))}
        return plan


#: changes that are IPVS-wide settings, not services: keepalived has no part in them
TABLE_WIDE = (SetExpireQuiescent, SetTimeouts, ZeroCounters, StartSync, StopSync, LoadTable)

Change = (SetWeight | Drain | Restore | DrainHost | RestoreHost | AddServer | RemoveServer | AddService
          | EditService | RemoveService | SetExpireQuiescent | SetTimeouts | ZeroCounters
          | StartSync | StopSync | LoadTable)
