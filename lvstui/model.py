"""Plain, frozen, typed models of a director's state.

Everything the screens and the CLI show is built from these classes.  They do
no I/O and import nothing from Textual: a backend (netlink, keepalived, the
demo source) produces a :class:`Snapshot`, and everything downstream only reads
it.  Keys are stable strings (``tcp:192.168.1.100:80``, ``fwmark:7``,
``192.168.1.13:80``) so that tables can diff rows between snapshots.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

__all__ = [
    "Forward",
    "Stats",
    "Rates",
    "RealServer",
    "VirtualService",
    "SyncDaemon",
    "Timeouts",
    "CheckState",
    "VrrpInstance",
    "Snapshot",
    "EMPTY_SNAPSHOT",
    "format_endpoint",
    "service_id",
    "normalize_address",
    "CpuStats",
    "NicStats",
    "HostStats",
    "KeepalivedProcessState",
    "KeepalivedHealth",
    "VrrpPeer",
    "ConfiguredServer",
    "ConfiguredService",
]


class Forward(str, Enum):
    """Forwarding method of a real server, named as operators and JSON name it."""

    NAT = "NAT"  # IP_VS_CONN_F_MASQ (0), ipvsadm: Masq
    LOCAL = "LOCAL"  # IP_VS_CONN_F_LOCALNODE (1), ipvsadm: Local
    TUN = "TUN"  # IP_VS_CONN_F_TUNNEL (2), ipvsadm: Tunnel
    DR = "DR"  # IP_VS_CONN_F_DROUTE (3), ipvsadm: Route

    @property
    def kernel_value(self) -> int:
        return _FORWARD_TO_KERNEL[self]

    @classmethod
    def from_kernel(cls, value: int) -> Forward:
        try:
            return _KERNEL_TO_FORWARD[value & 0x7]
        except KeyError:
            raise ValueError(f"unknown IPVS forwarding method {value}") from None

    @classmethod
    def parse(cls, text: str) -> Forward:
        """Accept DR/NAT/TUN and ipvsadm's words (route, masq, tunnel, gatewaying...)."""
        word = text.strip().upper()
        aliases = {
            "DR": cls.DR, "ROUTE": cls.DR, "GATEWAYING": cls.DR, "G": cls.DR,
            "NAT": cls.NAT, "MASQ": cls.NAT, "MASQUERADING": cls.NAT, "M": cls.NAT,
            "TUN": cls.TUN, "TUNNEL": cls.TUN, "IPIP": cls.TUN, "I": cls.TUN,
            "LOCAL": cls.LOCAL,
        }
        try:
            return aliases[word]
        except KeyError:
            raise ValueError(f"unknown forwarding method {text!r} (use DR, NAT or TUN)") from None


_FORWARD_TO_KERNEL = {Forward.NAT: 0, Forward.LOCAL: 1, Forward.TUN: 2, Forward.DR: 3}
_KERNEL_TO_FORWARD = {v: k for k, v in _FORWARD_TO_KERNEL.items()}


@dataclass(frozen=True, slots=True)
class Stats:
    """The kernel's 64-bit cumulative counters."""

    conns: int = 0
    inpkts: int = 0
    outpkts: int = 0
    inbytes: int = 0
    outbytes: int = 0


@dataclass(frozen=True, slots=True)
class Rates:
    """Per-second rates: the kernel's estimator values, or lvstui's own deltas.

    The kernel's estimator (``ip_vs_est``) smooths over ~2 s windows; bps are
    bytes per second as ipvsadm prints them.
    """

    cps: int = 0
    inpps: int = 0
    outpps: int = 0
    inbps: int = 0
    outbps: int = 0


ZERO_STATS = Stats()
ZERO_RATES = Rates()


def normalize_address(text: str) -> str:
    """Return the canonical (compressed) text form of an IPv4 or IPv6 address.

    Raises ValueError with a readable message for anything else.
    """
    candidate = text.strip()
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address") from None


def format_endpoint(address: str, port: int) -> str:
    """``192.168.1.13:80`` or ``[2001:db8::13]:80``."""
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def service_id(protocol: str | None, address: str | None, port: int | None,
               fwmark: int | None, family: str) -> str:
    if fwmark:
        return f"fwmark:{fwmark}" if family == "inet" else f"fwmark:{fwmark}:inet6"
    assert protocol is not None and address is not None and port is not None
    return f"{protocol}:{format_endpoint(address, port)}"


@dataclass(frozen=True, slots=True)
class CheckState:
    """What keepalived's health checker thinks of one real server."""

    checker: str  # TCP_CHECK, HTTP_GET, MISC_CHECK, FILE_CHECK, ...
    alive: bool
    failed_checkers: int = 0
    detail: str = ""
    # the only failing checker is lvstui's own drain (a FILE_CHECK on an lvstui track file)
    drained: bool = False


@dataclass(frozen=True, slots=True)
class RealServer:
    address: str
    port: int
    family: str = "inet"
    forward: Forward = Forward.DR
    weight: int = 1
    upper_threshold: int = 0
    lower_threshold: int = 0
    active_conns: int = 0
    inactive_conns: int = 0
    persistent_conns: int = 0
    stats: Stats = ZERO_STATS
    rates: Rates = ZERO_RATES
    tun_type: str | None = None  # ipip, gue, gre (TUN only)
    tun_port: int = 0
    tun_flags: tuple[str, ...] = ()
    # keepalived's view; None where keepalived does not manage this server
    check: CheckState | None = None
    in_kernel: bool = True
    inhibited: bool = False

    @property
    def id(self) -> str:
        return format_endpoint(self.address, self.port)

    @property
    def state(self) -> str:
        """``up``, ``drained``, ``down`` or ``inhibited``."""
        if self.check is not None and not self.check.alive:
            if self.check.drained and self.in_kernel:
                return "drained"
            return "inhibited" if self.in_kernel else "down"
        if not self.in_kernel:
            return "down"
        if self.weight == 0:
            return "inhibited" if self.inhibited else "drained"
        return "up"


@dataclass(frozen=True, slots=True)
class VirtualService:
    protocol: str | None  # tcp, udp, sctp; None for fwmark services
    family: str  # inet or inet6
    address: str | None
    port: int | None
    fwmark: int | None = None
    scheduler: str = "wlc"
    flags: tuple[str, ...] = ()
    persistence_timeout: int = 0
    netmask: str = "255.255.255.255"
    persistence_engine: str | None = None
    stats: Stats = ZERO_STATS
    rates: Rates = ZERO_RATES
    real_servers: tuple[RealServer, ...] = ()

    @property
    def id(self) -> str:
        return service_id(self.protocol, self.address, self.port, self.fwmark, self.family)

    @property
    def persistent(self) -> bool:
        return "persistent" in self.flags

    @property
    def active_conns(self) -> int:
        return sum(rs.active_conns for rs in self.real_servers)

    @property
    def inactive_conns(self) -> int:
        return sum(rs.inactive_conns for rs in self.real_servers)

    @property
    def persistent_conns(self) -> int:
        return sum(rs.persistent_conns for rs in self.real_servers)

    @property
    def up_count(self) -> int:
        return sum(1 for rs in self.real_servers if rs.state == "up")

    def real_server(self, rs_id: str) -> RealServer | None:
        for rs in self.real_servers:
            if rs.id == rs_id:
                return rs
        return None


@dataclass(frozen=True, slots=True)
class SyncDaemon:
    """One connection-synchronisation daemon (``ipvsadm --start-daemon``)."""

    state: str  # master or backup
    mcast_ifn: str
    syncid: int
    sync_maxlen: int = 0
    mcast_group: str | None = None
    mcast_port: int = 0
    mcast_ttl: int = 0


@dataclass(frozen=True, slots=True)
class Timeouts:
    """``ipvsadm --set`` timeouts, in seconds."""

    tcp: int
    tcp_fin: int
    udp: int


@dataclass(frozen=True, slots=True)
class VrrpInstance:
    name: str
    state: str  # MASTER, BACKUP, FAULT, INIT, STOP, UNKNOWN
    priority: int
    effective_priority: int
    vips: tuple[str, ...] = ()
    interface: str = ""
    virtual_router_id: int = 0
    last_transition: datetime | None = None
    master_priority: int | None = None  # the master's priority as this instance last heard it


@dataclass(frozen=True, slots=True)
class VrrpPeer:
    """A router seen advertising a VRID on the wire (only the master of a VRID advertises)."""

    vrid: int
    source: str
    priority: int
    interface: str = ""
    version: int = 2
    advert_interval: float = 1.0
    age: float = 0.0  # seconds since its last advert, when the snapshot was taken
    current: bool = True  # advertising now (an advert within ~3 intervals)
    local: bool = False  # one of this machine's addresses


@dataclass(frozen=True, slots=True)
class KeepalivedProcessState:
    role: str  # parent, vrrp, checker, bfd
    pid: int | None
    alive: bool
    expected: bool = True  # False: not needed by this configuration (no vrrp_instance, no virtual_server)


@dataclass(frozen=True, slots=True)
class VrrpTransition:
    """One state change of a VRRP instance, as keepalived logged it."""

    at: datetime
    instance: str
    state: str  # the state entered: MASTER, BACKUP, FAULT, ...
    reason: str = ""  # the line keepalived logged before it, where it logged one


@dataclass(frozen=True, slots=True)
class KeepalivedHealth:
    """keepalived on this director: its processes, where it stands, its recent log lines."""

    status: str  # running, degraded, not running
    processes: tuple[KeepalivedProcessState, ...] = ()
    config_file: str = ""
    netns: str | None = None
    log_source: str = ""  # journald, /var/log/syslog, ... or "" when none was found
    log_lines: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()  # a dump that could not be read, a configuration that does not parse...
    state_at: datetime | None = None  # when keepalived last dumped its state for us
    peers_error: str | None = None  # why VRRP adverts cannot be watched, if they cannot
    transitions: tuple[VrrpTransition, ...] | None = None  # the last hour's, from the log (None: no log read)
    checker_reported_at: datetime | None = None  # the checker's last fresh dump (its real servers' states)
    alarms: tuple[str, ...] = ()  # the watchdog's: a checker that stopped reporting, ...
    unicast_peers: tuple[str, ...] = ()  # the configuration's unicast_peer addresses (every instance's)


@dataclass(frozen=True, slots=True)
class ConfiguredServer:
    """A real server as keepalived's configuration has it (what it would set up after a restart)."""

    id: str  # ADDRESS:PORT, as RealServer.id
    weight: int = 1
    forward: str = ""  # its own lvs_method, "" where it takes the virtual server's
    checks: tuple[str, ...] = ()  # its checkers, summarised (``TCP_CHECK port 80``)


@dataclass(frozen=True, slots=True)
class ConfiguredService:
    """A ``virtual_server`` block of keepalived's configuration, for comparing two directors'."""

    id: str  # the model's service id (``tcp:192.168.1.100:80``, ``fwmark:1``) or ``group:NAME``
    scheduler: str = "wlc"
    forward: str = "NAT"  # lb_kind / lvs_method
    persistence: str = "off"
    real_servers: tuple[ConfiguredServer, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything lvstui knows about one director at one instant."""

    director: str
    taken_at: datetime
    monotonic: float = 0.0
    virtual_services: tuple[VirtualService, ...] = ()
    sync_daemons: tuple[SyncDaemon, ...] = ()
    timeouts: Timeouts | None = None
    ipvs_version: str = ""
    conn_table_size: int = 0
    source: str = "kernel"  # kernel, demo, empty
    error: str | None = None  # set when this poll failed (the data may be stale)
    vrrp: tuple[VrrpInstance, ...] = ()
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)
    # the director machine (psutil); None where nobody measured it
    host: HostStats | None = None
    # keepalived's view (lvstui.backend.director); None where keepalived is neither running nor configured
    keepalived: KeepalivedHealth | None = None
    drift: tuple[str, ...] = ()  # where the kernel differs from what keepalived intends
    # keepalived's configured virtual servers; None where no configuration was read
    keepalived_config: tuple[ConfiguredService, ...] | None = None
    vrrp_peers: tuple[VrrpPeer, ...] = ()
    peer: PeerView | None = None  # the pair's other director, where lvstui was given one (--peer)
    split_brain: tuple[SplitBrain, ...] = ()

    def service(self, vs_id: str) -> VirtualService | None:
        for vs in self.virtual_services:
            if vs.id == vs_id:
                return vs
        return None

    @property
    def real_server_count(self) -> int:
        return sum(len(vs.real_servers) for vs in self.virtual_services)


@dataclass(frozen=True, slots=True)
class Difference:
    """Where the two directors of a pair differ: their kernels' tables (lvstui.peer.compare)."""

    # the kernels' tables: service-here-only, service-peer-only, server-here-only, server-peer-only,
    # weight, ...; keepalived's configurations: the same kinds prefixed "config-"
    kind: str
    ids: tuple[str, ...]  # the virtual service id, then the real server id where one is involved
    here: str = ""  # the value on this director, as text ("" where it has none)
    peer: str = ""  # the value on the peer


@dataclass(frozen=True, slots=True)
class SplitBrain:
    """Two or more routers MASTER for one VRID at once."""

    vrid: int
    instances: tuple[str, ...]  # the VRRP instance names involved (this director's first)
    masters: tuple[str, ...]  # who is MASTER: "here", the peer's host, or an advert's source address
    seen_by: str  # "state" (both directors' keepalived) or "adverts" (heard on the wire)


@dataclass(frozen=True, slots=True)
class SyncedService:
    """One service's connections on the sync master and on the backup that should hold them."""

    service: str
    master: int  # active + inactive connections on the sync master
    backup: int  # the same on the backup (synced entries count on the backup's real servers)


@dataclass(frozen=True, slots=True)
class SyncCheck:
    """Whether a failover would keep clients: the pair's connection-sync daemons and the counts."""

    verdict: str  # off, one-sided, syncid-mismatch, syncing, not-syncing, idle
    detail: str  # one line for the operator
    master: str = ""  # "here" or the peer's host: the director whose sync master daemon sends
    services: tuple[SyncedService, ...] = ()


@dataclass(frozen=True)
class PeerView:
    """The other director of the pair as last read over SSH: data even when it could not be read."""

    host: str
    reachable: bool
    error: str | None = None
    snapshot: Snapshot | None = None  # the peer's last snapshot (kept, marked stale, when a read fails)
    read_at: float | None = None  # monotonic time that snapshot arrived
    age: float | None = None  # seconds since then, when this view was taken
    stale: bool = True
    via: str = ""  # "lvstui" (its snapshot stream) or "ipvsadm" (ipvsadm -S -n: no VRRP, no counters)
    differences: tuple[Difference, ...] = ()
    sync: SyncCheck | None = None  # None where the peer's snapshot is missing or has no counters
    connecting: bool = False  # its reader has not finished a first try yet (neither read nor failed)


EMPTY_SNAPSHOT = Snapshot(
    director="",
    taken_at=datetime.fromtimestamp(0, tz=UTC),
    source="empty",
)


# --- Director host statistics (psutil), shown by the dashboard's director panel ---


@dataclass(frozen=True, slots=True)
class CpuStats:
    """One CPU core over the last interval, in percent of that core."""

    core: int
    busy: float  # everything but idle and iowait
    softirq: float  # the share an LVS director spends forwarding packets
    system: float = 0.0
    user: float = 0.0


@dataclass(frozen=True, slots=True)
class NicStats:
    """One network interface: per-second rates over the last interval, cumulative drops/errors."""

    name: str
    rx_pps: float = 0.0
    tx_pps: float = 0.0
    rx_bps: float = 0.0  # bytes per second, as ipvsadm counts
    tx_bps: float = 0.0
    drops_in: int = 0
    drops_out: int = 0
    errors_in: int = 0
    errors_out: int = 0


@dataclass(frozen=True, slots=True)
class HostStats:
    """The director machine itself: CPU, load, memory and NICs."""

    cpus: tuple[CpuStats, ...] = ()
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    mem_total: int = 0
    mem_used: int = 0
    nics: tuple[NicStats, ...] = ()
    error: str | None = None  # set when psutil could not read something
