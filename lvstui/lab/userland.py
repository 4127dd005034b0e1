"""The lab's daemons: the system's keepalived, ipvsadm and sshd, or those scripts/userland.sh
unpacked into lvstui's cache (``userland/root``, wrappers in ``userland/bin``) where the system has none (so that setting up the lab never
installs a service on the machine).

In the guest the cache's tree is laid over the root file system (boot.py, agent.py), so
``/usr/sbin/keepalived`` and the rest are where every test and lvstui expect them.  On this
machine ``bin/`` holds wrappers that set the library path: ``tool_path`` finds them, and
``host_path`` puts that directory on PATH for the tests that run ``keepalived -t`` or a
loopback sshd here.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lvstui.cachedir import cache_dir

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DAEMONS = ("keepalived", "ipvsadm", "sshd")


def userland_dir() -> Path | None:
    """The unpacked tree laid over the guest's root, or None when scripts/userland.sh made none."""
    path = cache_dir() / "userland" / "root"
    return path if (path / "usr").is_dir() else None


def systemd_userland_dir() -> Path | None:
    """systemd-nspawn, ifupdown and a systemd of the same version, unpacked by
    ``scripts/userland.sh systemd-hosts`` for the lab's systemd hosts; None when absent."""
    path = cache_dir() / "userland-systemd" / "root"
    return path if (path / "usr" / "bin" / "systemd-nspawn").is_file() else None


def _wrappers() -> Path:
    return cache_dir() / "userland" / "bin"


def system_tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=SYSTEM_PATH)


def tool_path(name: str) -> str | None:
    """The system's ``name``, else the cache's wrapper for it, else None."""
    found = system_tool(name)
    if found:
        return found
    wrapper = _wrappers() / name
    return str(wrapper) if os.access(wrapper, os.X_OK) else None


def host_path(path: str | None = None) -> str:
    """PATH with the cache's wrappers after everything else (the system's own win)."""
    path = path if path is not None else os.environ.get("PATH", "")
    if not _wrappers().is_dir():
        return path
    extra = str(_wrappers())
    parts = [p for p in path.split(os.pathsep) if p]
    return os.pathsep.join([*parts, extra]) if extra not in parts else path
