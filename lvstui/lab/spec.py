"""What a lab guest holds: hosts (network namespaces) on one bridge, and their services;
optionally a second, management network between some of them (``LabSpec(mgmt=...)``)."""

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
# The management network (LabSpec.mgmt): eth1 of those hosts, on a bridge of its own, as a
# director pair's SSH link besides the LAN that carries VRRP and the clients' traffic.
MGMT_SUBNET4 = "10.0.0"
MGMT_SUBNET6 = "2001:db8:2:"
MGMT_SUFFIX = "-mgmt"  # lb2's management address is lb2-mgmt in /etc/hosts
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
    # Hosts with a second interface, eth1, on the management network (bridge mgmt_bridge):
    # 10.0.0.<number>/24 and 2001:db8:2::<number>/64, named HOST-mgmt in /etc/hosts.
    mgmt: tuple[str, ...] = ()
    mgmt_bridge: str = "br1"

    def __post_init__(self) -> None:
        names = [h.name for h in self.hosts]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"lab host names must be unique: {sorted(dupes)}")
        numbers = [h.number for h in self.hosts]
        if len(set(numbers)) != len(numbers):
            raise ValueError("lab host numbers must be unique")
        self._check_mgmt()

    def _check_mgmt(self) -> None:
        if isinstance(self.mgmt, str):
            raise TypeError(f"mgmt takes a tuple of host names, not the string {self.mgmt!r}"
                             f" (for one host: mgmt=({self.mgmt!r},))")
        unknown = [n for n in self.mgmt if n not in self.names]
        if unknown:
            raise ValueError(f"management network: no lab host named {', '.join(map(repr, unknown))}"
                             f" (hosts: {', '.join(self.names) or 'none'})")
        if len(set(self.mgmt)) != len(self.mgmt):
            raise ValueError(f"management network: each host once, not {self.mgmt}")
        systemd = [n for n in self.mgmt if self.host(n).systemd]
        if systemd:
            raise ValueError(f"management network: {', '.join(systemd)} boot(s) systemd, whose nspawn makes"
                             " only eth0: a management interface is for hosts with init='none'")
        if self.mgmt and self.mgmt_bridge == self.bridge:
            raise ValueError(f"the management bridge must differ from the LAN's ({self.bridge})")

    def _mgmt_number(self, name: str) -> int:
        if name not in self.mgmt:
            raise KeyError(f"lab host {name!r} is not on the management network"
                           f" (LabSpec(mgmt=...): {', '.join(self.mgmt) or 'none'})")
        return self.host(name).number

    def mgmt_ipv4(self, name: str) -> str:
        """Host *name*'s address on the management network (eth1): 10.0.0.<number>."""
        return f"{MGMT_SUBNET4}.{self._mgmt_number(name)}"

    def mgmt_ipv6(self, name: str) -> str:
        return f"{MGMT_SUBNET6}:{self._mgmt_number(name)}"

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
