"""Which keepalived is ours, and how its configuration names the kernel's services (read only).

One rule finds "the keepalived of this network namespace" for the whole program (the dashboard's
watcher, the durable planner, the VRRP toggle): :func:`local_keepalived`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lvstui.keepalived.join import ipvs_port
from lvstui.keepalived.processes import KeepalivedProcess, find_keepalived_processes
from lvstui.keepalived.view import ConfigView, ConfRealServer, VirtualServer
from lvstui.model import format_endpoint

__all__ = ["TRACK_PREFIX", "KeepalivedSite", "find_site", "local_keepalived", "managed_server",
           "managed_service", "our_file_check", "own_netns_inode", "proc_path", "track_name"]

TRACK_PREFIX = "lvstui_"


def own_netns_inode() -> int | None:
    try:
        return os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return None


def local_keepalived(processes: list[KeepalivedProcess] | None = None,
                     netns_inode: Callable[[], int | None] = own_netns_inode) -> list[KeepalivedProcess]:
    """The keepalived parents running in our network namespace, the surest first.

    A process whose namespace inode equals ours is ours.  When either inode cannot be read
    (no permission on /proc/PID/ns/net, or on our own), it cannot be told apart: it counts
    as ours too, after every exact match, so an exact match always wins.  A process in a
    namespace known to be another one is never ours.
    """
    if processes is None:
        processes = find_keepalived_processes()
    mine = netns_inode()
    exact = [p for p in processes if mine is not None and p.netns_inode == mine]
    unknown = [p for p in processes if mine is None or p.netns_inode is None]
    return exact + [p for p in unknown if p not in exact]


def proc_path(pid: int, path: str) -> Path:
    """``path`` as process ``pid`` sees it (its root may differ from ours)."""
    try:
        theirs, mine = os.stat(f"/proc/{pid}/root"), os.stat("/")
        if (theirs.st_dev, theirs.st_ino) != (mine.st_dev, mine.st_ino):
            return Path(f"/proc/{pid}/root") / path.lstrip("/")
    except OSError:
        pass
    return Path(path)


@dataclass(frozen=True, slots=True)
class KeepalivedSite:
    """The keepalived that manages IPVS in this network namespace, and its configuration file."""

    config_path: Path  # as this process can open it
    parent_pid: int | None = None
    netns: str | None = None
    config_id: str | None = None  # keepalived's -i, else its default (the short host name)
    root: Path = Path("/")  # keepalived's root directory as this process sees it

    def local(self, path: Path) -> Path:
        """A path in keepalived's file system, as this process can open it."""
        return path if self.root == Path("/") else self.root / path.relative_to("/")


def _same_root(pid: int) -> bool:
    try:
        a, b = os.stat(f"/proc/{pid}/root"), os.stat("/")
    except OSError:
        return True
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _site_of(proc: KeepalivedProcess) -> KeepalivedSite:
    path = Path(proc.config_file)
    if not path.is_absolute():
        try:
            path = Path(os.readlink(f"/proc/{proc.parent_pid}/cwd")) / path
        except OSError:
            path = path.absolute()
    root = Path("/") if _same_root(proc.parent_pid) else Path(f"/proc/{proc.parent_pid}/root")
    site = KeepalivedSite(path, proc.parent_pid, proc.netns, proc.effective_config_id, root)
    return dataclasses.replace(site, config_path=site.local(path))


def find_site(processes: list[KeepalivedProcess] | None = None) -> KeepalivedSite | None:
    """The keepalived running in this process's network namespace (None: keepalived manages nothing here)."""
    found = local_keepalived(processes)
    return _site_of(found[0]) if found else None


# -- matching the kernel's ids with the configuration -------------------------------------------


def _addr(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return text


def _group_has(view: ConfigView, group: str, vs_id: str) -> bool:
    for g in view.virtual_server_groups:
        if g.name != group:
            continue
        for member in g.members:
            words = member.split()
            if words[:1] == ["fwmark"] and len(words) > 1 and vs_id.split(":")[:2] == ["fwmark", words[1]]:
                return True
            if len(words) >= 2 and "-" in words[0]:
                return True  # an address range: treat as managed (lvstui cannot make it durable anyway)
            if len(words) >= 2 and words[1].isdigit() and \
                    vs_id.endswith(":" + format_endpoint(_addr(words[0]) or "", int(words[1]))):
                return True
    return False


def managed_service(view: ConfigView, vs_id: str, protocol: str | None, address: str | None,
                    port: int | None, fwmark: int | None) -> VirtualServer | None:
    """keepalived's virtual_server for a kernel service (by address and port, or fwmark), or a group one."""
    for vs in view.virtual_servers:
        if vs.kind == "fwmark" and fwmark is not None and vs.fwmark == fwmark:
            return vs
        if vs.kind == "address" and fwmark is None and vs.protocol.lower() == protocol \
                and _addr(vs.address) == address and vs.port == port:
            return vs
        if vs.kind == "group" and vs.group and _group_has(view, vs.group, vs_id):
            return vs
    return None


def managed_server(vs: VirtualServer, address: str, port: int) -> ConfRealServer | None:
    """The real_server keepalived puts in IPVS as ADDRESS:PORT (DR resets the port to the virtual one)."""
    for rs in vs.real_servers:
        if _addr(rs.address) == address and (ipvs_port(vs, rs) or 0) == port:
            return rs
    return None


def track_name(vs_id: str, rs_id: str) -> str:
    """``lvstui_tcp_192.168.1.100_80_192.168.1.21_80``: one track file per service and real server."""
    return TRACK_PREFIX + re.sub(r"[^A-Za-z0-9.]+", "_", f"{vs_id}_{rs_id}").strip("_")


def our_file_check(rs: ConfRealServer) -> str | None:
    """The name of the lvstui track file this real server's FILE_CHECK reads, if any."""
    for checker in rs.checkers:
        name = checker.get("track_file") if checker.type == "FILE_CHECK" else None
        if name and name.startswith(TRACK_PREFIX):
            return name
    return None
