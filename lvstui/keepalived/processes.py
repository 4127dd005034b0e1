"""Running keepalived processes, their roles, pid files and namespaces; signal numbers.

keepalived runs as a parent that forks a VRRP child, a checker (IPVS) child
and, when configured, a BFD child.  The roles are read from the pid files the
parent was told about (``-p/-r/-c/-b`` or their defaults), read through
``/proc/PID/root`` because keepalived may run in its own mount namespace (with
``net_namespace`` it unshares /run/keepalived); the process name
(``keepalived_vrrp``...) is the fallback.  Several keepalived parents on one
machine (one per network namespace in the lab) are told apart by pid and
network namespace, whose name comes from /run/netns.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from lvstui.keepalived.expand import default_config_id

__all__ = [
    "DEFAULT_PID_FILES",
    "KeepalivedProcess",
    "find_keepalived",
    "find_keepalived_processes",
    "netns_name",
    "parse_cmdline",
    "signal_number",
]

ROLES = ("parent", "vrrp", "checker", "bfd")
DEFAULT_PID_FILES = {
    "parent": "/run/keepalived.pid",
    "vrrp": "/run/keepalived_vrrp.pid",
    "checker": "/run/keepalived_checkers.pid",
    "bfd": "/run/keepalived_bfd.pid",
}
_OPTS = {  # option -> (field, takes a value)
    "-f": "config", "--use-file": "config",
    "-p": "parent", "--pid": "parent",
    "-r": "vrrp", "--vrrp_pid": "vrrp",
    "-c": "checker", "--checkers_pid": "checker",
    "-b": "bfd", "--bfd_pid": "bfd",
    "-i": "config_id", "--config-id": "config_id",
    "-s": "namespace", "--namespace": "namespace",
}
_NAMES = {"keepalived_vrrp": "vrrp", "keepalived_ipvs": "checker", "keepalived_bfd": "bfd",
          "keepalived_healthcheckers": "checker"}


@dataclass(frozen=True, slots=True)
class KeepalivedProcess:
    """One keepalived (a parent and its children), as seen from this machine."""

    parent_pid: int
    vrrp_pid: int | None = None
    checker_pid: int | None = None
    bfd_pid: int | None = None
    config_file: str = "/etc/keepalived/keepalived.conf"
    config_id: str | None = None
    netns: str | None = None  # name under /run/netns, if any
    netns_inode: int | None = None
    pid_files: tuple[tuple[str, str], ...] = ()  # (role, path)
    cmdline: tuple[str, ...] = ()
    children: tuple[int, ...] = field(default=())  # every child pid, role known or not

    @property
    def effective_config_id(self) -> str:
        """What keepalived matches ``@ID`` conditions against: its ``-i``, else the node name
        up to its first dot (keepalived's default; the node name of this UTS namespace)."""
        return self.config_id or default_config_id()

    @property
    def roles(self) -> dict[str, int | None]:
        return {"parent": self.parent_pid, "vrrp": self.vrrp_pid, "checker": self.checker_pid,
                "bfd": self.bfd_pid}


def parse_cmdline(argv: list[str] | tuple[str, ...]) -> dict[str, str]:
    """The options of a keepalived command line that say where its files are."""
    out: dict[str, str] = {}
    i = 1
    while i < len(argv):
        arg = argv[i]
        key, value = arg, None
        if arg.startswith("--") and "=" in arg:
            key, value = arg.split("=", 1)
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2 and arg[:2] in _OPTS:
            key, value = arg[:2], arg[2:]
        if key in _OPTS:
            if value is None:
                if i + 1 >= len(argv):
                    break
                value = argv[i + 1]
                i += 1
            out[_OPTS[key]] = value
        i += 1
    return out


def netns_name(inode: int | None, netns_dir: Path = Path("/run/netns")) -> str | None:
    """The /run/netns name whose namespace has this inode."""
    if inode is None:
        return None
    try:
        entries = sorted(netns_dir.iterdir())
    except OSError:
        return None
    for entry in entries:
        try:
            if entry.stat().st_ino == inode:
                return entry.name
        except OSError:
            continue
    return None


def _read_pid(pid: int, path: str) -> int | None:
    for candidate in (Path(f"/proc/{pid}/root") / path.lstrip("/"), Path(path)):
        try:
            return int(candidate.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return None


def _is_keepalived(proc: object) -> bool:
    import psutil  # lazy for start-up speed: only the process scan needs it

    assert isinstance(proc, psutil.Process)
    try:
        cmd = proc.cmdline()
        exe = os.path.basename(cmd[0]) if cmd else ""
        return exe == "keepalived" or proc.name().startswith("keepalived") or \
            proc.name().startswith("Keepalived")
    except (psutil.Error, OSError):
        return False


def find_keepalived_processes() -> list[KeepalivedProcess]:
    """Every keepalived parent running on this machine with its children's roles."""
    import psutil  # lazy for start-up speed: only the process scan needs it

    procs = {}
    for proc in psutil.process_iter():
        if _is_keepalived(proc):
            procs[proc.pid] = proc
    result = []
    for pid, proc in sorted(procs.items()):
        try:
            ppid = proc.ppid()
            if ppid in procs:
                continue  # a child; handled with its parent
            argv = tuple(proc.cmdline())
            kids = [c for c in proc.children() if c.pid in procs]
        except psutil.Error:
            continue
        opts = parse_cmdline(argv)
        files = {role: opts.get(role, DEFAULT_PID_FILES[role]) for role in ROLES}
        roles: dict[str, int | None] = {}
        kid_pids = {k.pid for k in kids}
        for role in ("vrrp", "checker", "bfd"):
            found = _read_pid(pid, files[role])
            if found not in kid_pids and role not in opts:
                # use_pid_dir / net_namespace / instance: /run/keepalived[/NAME]/keepalived_*.pid
                name = Path(DEFAULT_PID_FILES[role]).name
                for candidate in sorted(Path(f"/proc/{pid}/root/run/keepalived").glob(f"**/{name}")):
                    found = _read_pid(pid, "/" + str(candidate.relative_to(f"/proc/{pid}/root")))
                    if found in kid_pids:
                        files[role] = "/" + str(candidate.relative_to(f"/proc/{pid}/root"))
                        break
            roles[role] = found if found in kid_pids else None
        for kid in kids:  # fall back on the process names keepalived may set
            if kid.pid in roles.values():
                continue
            try:
                named = _NAMES.get(kid.name())
            except psutil.Error:
                named = None
            if named and roles.get(named) is None:
                roles[named] = kid.pid
        try:
            inode = os.stat(f"/proc/{pid}/ns/net").st_ino
        except OSError:
            inode = None
        result.append(KeepalivedProcess(
            parent_pid=pid, vrrp_pid=roles.get("vrrp"), checker_pid=roles.get("checker"),
            bfd_pid=roles.get("bfd"), config_file=opts.get("config", "/etc/keepalived/keepalived.conf"),
            config_id=opts.get("config_id"), netns=opts.get("namespace") or netns_name(inode),
            netns_inode=inode, pid_files=tuple(sorted(files.items())), cmdline=argv,
            children=tuple(sorted(kid_pids))))
    return result


def find_keepalived() -> str | None:
    found = shutil.which("keepalived")
    if found:
        return found
    for candidate in ("/usr/sbin/keepalived", "/usr/local/sbin/keepalived", "/sbin/keepalived"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


@functools.cache
def signal_number(name: str, keepalived: str | None = None) -> int:
    """``keepalived --signum=NAME`` (DATA, STATS, JSON, RELOAD, STOP...): real-time ones differ per build."""
    binary = keepalived or find_keepalived()
    if binary is None:
        raise RuntimeError("keepalived is not installed: cannot resolve its signal numbers")
    proc = subprocess.run([binary, f"--signum={name}"], check=False, capture_output=True, text=True, timeout=10)
    text = proc.stdout.strip()
    if proc.returncode != 0 or not text.isdigit():
        raise RuntimeError(f"keepalived --signum={shlex.quote(name)} failed: "
                           f"{(proc.stderr or proc.stdout).strip() or proc.returncode}")
    return int(text)
