"""What a lab guest holds: hosts (network namespaces) on one bridge, and their services."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SUBNET4 = "192.168.1"
SUBNET6 = "2001:db8:1:"
PREFIX4 = 24
PREFIX6 = 64
VIP = f"{SUBNET4}.100"
VIP6 = f"{SUBNET6}:100"
GATEWAY = f"{SUBNET4}.1"
GATEWAY6 = f"{SUBNET6}:1"
HTTP_PORT = 80
TCP_PORT = 9000
SERVICES = ("http", "tcp")
# The lab's package mirror (lvstui/lab/mirror.py), served from the guest root on the bridge.
MIRROR_PORT = 8080
MIRROR_URL = f"http://{GATEWAY}:{MIRROR_PORT}/"
INITS = ("none", "systemd")
NETWORKS = ("networkd", "ifupdown")

_NAME = re.compile(r"^[a-z][a-z0-9]{0,10}$")


@dataclass(frozen=True)
class HostSpec:
    """One lab host: its own network namespace, UTS name and file system inside the guest."""

    name: str
    number: int  # last part of its addresses: 192.168.1.<number>, 2001:db8:1::<number>
    role: str = "host"  # "director", "real_server", "client" or "host"
    services: tuple[str, ...] = ()
    dr_real_server: bool = False  # VIP/32 and VIP6/128 on lo, arp_ignore=1, arp_announce=2
    # Without the daemons scripts/userland.sh unpacked (no keepalived, no ipvsadm unless this
    # machine's dpkg has them), and apt sees only the lab's package mirror (lvstui/lab/mirror.py).
    bare: bool = False
    # "none": commands run in the host's namespaces, nothing runs as its init (the default).
    # "systemd": the host boots Debian's systemd as its init (systemd-nspawn --boot in the
    # guest); its own network stack ("networkd" or "ifupdown") brings up eth0 at each boot.
    init: str = "none"
    network: str = "networkd"

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"bad lab host name {self.name!r}: use 1-11 lower-case letters and digits")
        if not 2 <= self.number <= 254 or self.number == 100:
            raise ValueError(f"bad host number {self.number} for {self.name}: use 2-254, not 100 (the VIP)")
        if self.init not in INITS:
            raise ValueError(f"bad init {self.init!r} for {self.name}: use one of {INITS}")
        if self.network not in NETWORKS:
            raise ValueError(f"bad network {self.network!r} for {self.name}: use one of {NETWORKS}")
        if self.systemd and (self.services or self.dr_real_server):
            raise ValueError(f"{self.name}: a systemd host runs what its own init starts: no lab services"
                             " or LVS-DR set-up (the real-server wizard gives it that)")
        unknown = set(self.services) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown lab service(s) {sorted(unknown)} for {self.name}: use {SERVICES}")

    @property
    def systemd(self) -> bool:
        return self.init == "systemd"

    @property
    def ipv4(self) -> str:
        return f"{SUBNET4}.{self.number}"

    @property
    def ipv6(self) -> str:
        # The same digits as the IPv4 host part, read as hex: lb1 (.11) is 2001:db8:1::11.
        return f"{SUBNET6}:{self.number}"


@dataclass(frozen=True)
class LabSpec:
    """A lab topology. ``LabSpec()`` is an empty lab: only the guest's root namespace."""

    hosts: tuple[HostSpec, ...] = ()
    vip: str = VIP
    vip6: str = VIP6
    bridge: str = "br0"
    mem: str = "768M"
    extra_modules: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [h.name for h in self.hosts]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"lab host names must be unique: {sorted(dupes)}")
        numbers = [h.number for h in self.hosts]
        if len(set(numbers)) != len(numbers):
            raise ValueError("lab host numbers must be unique")

    def host(self, name: str) -> HostSpec:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(f"no lab host named {name!r} (hosts: {', '.join(self.names) or 'none'})")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hosts)

    def by_role(self, role: str) -> tuple[HostSpec, ...]:
        return tuple(h for h in self.hosts if h.role == role)

    @property
    def directors(self) -> tuple[HostSpec, ...]:
        return self.by_role("director")

    @property
    def real_servers(self) -> tuple[HostSpec, ...]:
        return self.by_role("real_server")

    @classmethod
    def dr_cluster(
        cls,
        directors: int = 2,
        real_servers: int = 3,
        client: bool = True,
        services: tuple[str, ...] = ("http",),
        **kwargs: object,
    ) -> LabSpec:
        """lb1..lbN at .11.., rs1..rsN at .21.., client at .50; real servers set up for LVS-DR."""
        if not 0 <= directors <= 9 or not 0 <= real_servers <= 28:
            raise ValueError("dr_cluster takes 0-9 directors and 0-28 real servers")
        hosts = [HostSpec(f"lb{i}", 10 + i, role="director") for i in range(1, directors + 1)]
        hosts += [
            HostSpec(f"rs{i}", 20 + i, role="real_server", services=tuple(services), dr_real_server=True)
            for i in range(1, real_servers + 1)
        ]
        if client:
            hosts.append(HostSpec("client", 50, role="client"))
        return cls(hosts=tuple(hosts), **kwargs)  # type: ignore[arg-type]
