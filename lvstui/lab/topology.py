"""What the guest does to build a LabSpec's hosts.

Each host gets, in the guest's root namespace:
- a network namespace (/run/netns/HOST) with ``lo`` and ``eth0``, a veth whose other end
  ``v-HOST`` is a port of the bridge (``setup_script``, run by /bin/sh in the guest root);
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

from lvstui.lab.spec import GATEWAY, GATEWAY6, MIRROR_URL, PREFIX4, PREFIX6, HostSpec, LabSpec

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
    if host.dr_real_server:
        batch += [f"addr add {spec.vip}/32 dev lo", f"addr add {spec.vip6}/128 dev lo nodad"]
    return batch


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
    for h in spec.hosts:
        root_batch += [
            f"netns add {h.name}",
            f"link add v-{h.name} type veth peer name eth0 netns {h.name}",
            f"link set v-{h.name} master {spec.bridge} up",
        ]
    lines.append(_heredoc("ip -batch -", root_batch))
    for h in spec.hosts:
        lines.append(_heredoc(f"ip -n {h.name} -batch -", _host_ip_batch(spec, h)))
    return "\n".join(lines) + "\n"


def host_setup(spec: LabSpec, host: HostSpec) -> dict[str, Any]:
    """Arguments of the agent's ``setup_host`` request for ``host``."""
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
