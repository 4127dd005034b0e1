"""What the guest does to build a LabSpec's hosts.

Each host gets, in the guest's root namespace:
- a network namespace (/run/netns/HOST) with ``lo`` and ``eth0``, a veth whose other end
  ``v-HOST`` is a port of the bridge (``setup_script``, run by /bin/sh in the guest root);
  a host on the management network (``LabSpec.mgmt``) also ``eth1``, whose veth end ``m-HOST``
  is a port of the management bridge (``br1``), which has no address in the guest root;
- a UTS namespace (/lab/ns/HOST.uts) whose host name is HOST;
- its own file system at /lab/hosts/HOST: an overlay whose lower layer is the real
  machine's root, read-only, and whose upper layer is a tmpfs, with /proc, /dev and
  /dev/pts bound in, sysfs mounted from inside its network namespace (so /sys/class/net
  lists its own interfaces), and fresh tmpfs on /tmp, /run and /dev/shm
  (``host_setup``, done by the agent's ``setup_host`` without starting any program).

A *bare* host's lower layers leave out the daemons scripts/userland.sh unpacked (they stay
reachable at /lab/userland, for its sshd); fresh tmpfs on /etc/apt/sources.list.d,
/var/lib/apt/lists and /var/cache/apt, and a sources.list naming only the lab's mirror.
"""

from __future__ import annotations

from typing import Any

from lvstui.lab.spec import GATEWAY, GATEWAY6, MGMT_SUFFIX, MIRROR_URL, PREFIX4, PREFIX6, HostSpec, LabSpec

DR_SYSCTLS = {
    "net.ipv4.conf.all.arp_ignore": 1,
    "net.ipv4.conf.all.arp_announce": 2,
    "net.ipv4.conf.lo.arp_ignore": 1,
    "net.ipv4.conf.lo.arp_announce": 2,
}
BASE_SYSCTLS = {"net.ipv6.conf.all.accept_dad": 0, "net.ipv6.conf.default.accept_dad": 0}


def hosts_file(spec: LabSpec) -> str:
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    if spec.hosts:
        lines += [f"{GATEWAY} lab", f"{GATEWAY6} lab"]
    for h in spec.hosts:
        lines += [f"{h.ipv4} {h.name}", f"{h.ipv6} {h.name}"]
    for name in spec.mgmt:
        lines += [f"{spec.mgmt_ipv4(name)} {name}{MGMT_SUFFIX}", f"{spec.mgmt_ipv6(name)} {name}{MGMT_SUFFIX}"]
    return "\n".join(lines) + "\n"


def _heredoc(command: str, lines: list[str]) -> str:
    return f"{command} <<'EOF'\n" + "\n".join(lines) + "\nEOF"


def _host_ip_batch(spec: LabSpec, host: HostSpec) -> list[str]:
    batch = [
        "link set lo up",
        "link set eth0 up",
        f"addr add {host.ipv4}/{PREFIX4} dev eth0",
        f"addr add {host.ipv6}/{PREFIX6} dev eth0 nodad",
    ]
    if host.name in spec.mgmt:
        batch += [
            "link set eth1 up",
            f"addr add {spec.mgmt_ipv4(host.name)}/{PREFIX4} dev eth1",
            f"addr add {spec.mgmt_ipv6(host.name)}/{PREFIX6} dev eth1 nodad",
        ]
    if host.dr_real_server:
        batch += [f"addr add {spec.vip}/32 dev lo", f"addr add {spec.vip6}/128 dev lo nodad"]
    return batch


def lan_port(host: str) -> str:
    """The guest root's end of *host*'s eth0 veth: a port of the LAN bridge."""
    return f"v-{host}"


def mgmt_port(host: str) -> str:
    """The guest root's end of *host*'s eth1 veth: a port of the management bridge."""
    return f"m-{host}"


def setup_script(spec: LabSpec) -> str:
    """The /bin/sh script (guest root) that makes the bridge, namespaces and addresses."""
    lines = ["set -e", _heredoc("cat > /etc/hosts", hosts_file(spec).splitlines())]
    if not spec.hosts:
        return "\n".join(lines) + "\n"
    root_batch = [
        f"link add {spec.bridge} type bridge forward_delay 0",
        f"link set {spec.bridge} up",
        f"addr add {GATEWAY}/{PREFIX4} dev {spec.bridge}",
        f"addr add {GATEWAY6}/{PREFIX6} dev {spec.bridge} nodad",
    ]
    if spec.mgmt:
        root_batch += [f"link add {spec.mgmt_bridge} type bridge forward_delay 0", f"link set {spec.mgmt_bridge} up"]
    for h in spec.hosts:
        if h.systemd:
            continue  # systemd-nspawn makes its namespaces and veth at each boot (agent.py)
        root_batch += [
            f"netns add {h.name}",
            f"link add {lan_port(h.name)} type veth peer name eth0 netns {h.name}",
            f"link set {lan_port(h.name)} master {spec.bridge} up",
        ]
        if h.name in spec.mgmt:
            root_batch += [
                f"link add {mgmt_port(h.name)} type veth peer name eth1 netns {h.name}",
                f"link set {mgmt_port(h.name)} master {spec.mgmt_bridge} up",
            ]
    lines.append(_heredoc("ip -batch -", root_batch))
    for h in spec.hosts:
        if not h.systemd:
            lines.append(_heredoc(f"ip -n {h.name} -batch -", _host_ip_batch(spec, h)))
    return "\n".join(lines) + "\n"


def _networkd_files(host: HostSpec) -> dict[str, str]:
    network = (
        "# lvstui lab: eth0, configured by systemd-networkd at each boot\n"
        "[Match]\nName=eth0\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\nConfigureWithoutCarrier=yes\n\n"
        f"[Address]\nAddress={host.ipv4}/{PREFIX4}\n\n"
        f"[Address]\nAddress={host.ipv6}/{PREFIX6}\nDuplicateAddressDetection=none\n"
    )
    return {"/etc/systemd/network/10-lab-eth0.network": network}


def _ifupdown_files(host: HostSpec) -> dict[str, str]:
    interfaces = (
        "# lvstui lab: eth0, configured by ifupdown (networking.service) at each boot\n"
        "source /etc/network/interfaces.d/*\n\n"
        "auto lo\niface lo inet loopback\n\n"
        f"auto eth0\niface eth0 inet static\n    address {host.ipv4}/{PREFIX4}\n\n"
        f"iface eth0 inet6 static\n    address {host.ipv6}/{PREFIX6}\n    dad-attempts 0\n    accept_ra 0\n"
    )
    return {"/etc/network/interfaces": interfaces}


# Units a systemd host starts at boot besides systemd's own (journald, logind, ...), per stack.
NETWORK_UNITS = {
    "networkd": {
        "multi-user.target.wants/systemd-networkd.service": "systemd-networkd.service",
        "sockets.target.wants/systemd-networkd.socket": "systemd-networkd.socket",
    },
    "ifupdown": {
        "multi-user.target.wants/networking.service": "networking.service",
        "network-online.target.wants/networking.service": "networking.service",
    },
}


def systemd_host_setup(spec: LabSpec, host: HostSpec, machine_id: str) -> dict[str, Any]:
    """``setup_host`` for a systemd host: its files and the units it enables (the real
    machine's enabled units are hidden from it), booted afterwards by ``boot_host``."""
    files = {
        "/etc/hostname": f"{host.name}\n",
        "/etc/hosts": hosts_file(spec),
        "/etc/machine-id": f"{machine_id}\n",
        "/etc/fstab": "# lvstui lab: nothing to mount (systemd-nspawn mounts the API file systems)\n",
        "/etc/sysctl.d/10-lab.conf": "".join(f"{k} = {v}\n" for k, v in BASE_SYSCTLS.items()),
        # In a container /proc/sys is read-only but for /proc/sys/net (the host's own
        # network namespace), so systemd-sysctl would skip the boot; let it apply the net.*
        # keys of /etc/sysctl.d (the real-server wizard's ARP sysctls) as on a real host.
        "/etc/systemd/system/systemd-sysctl.service.d/10-lab.conf":
            "[Unit]\nConditionPathIsReadWrite=\nConditionPathIsReadWrite=/proc/sys/net/\n",
    }
    files.update(_networkd_files(host) if host.network == "networkd" else _ifupdown_files(host))
    links = {f"/etc/systemd/system/{link}": f"/usr/lib/systemd/system/{unit}"
             for link, unit in NETWORK_UNITS[host.network].items()}
    if host.bare:
        files["/etc/apt/sources.list"] = mirror_sources()
    return {"name": host.name, "init": "systemd", "bridge": spec.bridge, "address": host.ipv4,
            "files": files, "links": links, "bare": host.bare}


def host_setup(spec: LabSpec, host: HostSpec) -> dict[str, Any]:
    """Arguments of the agent's ``setup_host`` request for ``host`` (not a systemd host)."""
    sysctls = dict(BASE_SYSCTLS)
    if host.dr_real_server:
        sysctls.update(DR_SYSCTLS)
    files = {"/etc/hostname": f"{host.name}\n", "/etc/hosts": hosts_file(spec)}
    if host.bare:
        files["/etc/apt/sources.list"] = mirror_sources()
    return {"name": host.name, "sysctls": sysctls, "files": files, "bare": host.bare}


def mirror_sources() -> str:
    """A bare host's sources.list: the lab's flat repository, unsigned (served only in the lab)."""
    return f"# the lab's package mirror (lvstui/lab/mirror.py)\ndeb [trusted=yes] {MIRROR_URL} ./\n"
