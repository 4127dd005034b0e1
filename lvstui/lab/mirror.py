"""The lab's package mirror: scripts/mirror.sh's flat apt repository served to bare hosts.

``scripts/mirror.sh`` (run by scripts/setup.sh) puts the .deb files a bare lab host
(``HostSpec(bare=True)``) needs for ipvsadm and keepalived, and their index
(lvstui/lab/aptrepo.py), into ``~/.cache/lvstui/mirror``.  ``start_mirror`` serves that
directory over HTTP from the guest root on the bridge address (``spec.MIRROR_URL``), which
a bare host's sources.list names; ``lab.stop(proc)`` takes it down again (a mirror that is
down, as a test wants it).

Installing in the guest opens many files on hostfs (dpkg reads every package's file list
of the real machine), and UML keeps one host file descriptor per cached hostfs inode:
``limit_hostfs_files`` drops the guest's inode and dentry caches every half second while it
is open, so linux.uml stays under its open-file limit.
"""

from __future__ import annotations

import resource
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from lvstui.cachedir import cache_dir
from lvstui.lab.results import LabError
from lvstui.lab.spec import GATEWAY, MIRROR_PORT
from lvstui.lab.userland import SYSTEM_PATH, userland_dir

if TYPE_CHECKING:
    from lvstui.lab.lab import Lab, LabProcess

__all__ = [
    "BARE_USERLAND",
    "limit_hostfs_files",
    "mirror_dir",
    "open_file_limit",
    "require_mirror",
    "sshd_command",
    "start_mirror",
]

#: Where a bare host sees the unpacked daemons (agent.py's bare mounts).
BARE_USERLAND = "/lab/userland"


def mirror_dir() -> Path:
    return cache_dir() / "mirror"


def require_mirror() -> Path:
    """The mirror's directory, or LabError in one line saying what to run."""
    path = mirror_dir()
    if not (path / "Packages").is_file() or not any(path.glob("*.deb")):
        raise LabError(f"no package mirror in {path}: run scripts/mirror.sh (scripts/setup.sh runs it)")
    return path


def start_mirror(lab: Lab, timeout: float = 30.0) -> LabProcess:
    """Serves the mirror on GATEWAY:MIRROR_PORT in the guest root; returns once it answers."""
    path = require_mirror()
    proc = lab.spawn(None, [lab.python, "-I", "-m", "http.server", "--bind", GATEWAY,
                            "--directory", str(path), str(MIRROR_PORT)])
    lab.wait_for(lambda: lab.sh(None, f"ss -Hltn | grep -q '{GATEWAY}:{MIRROR_PORT} '").ok,
                 timeout=timeout, what=f"the package mirror on {GATEWAY}:{MIRROR_PORT}")
    return proc


def sshd_command() -> tuple[list[str], dict[str, str]]:
    """argv and environment of an sshd in a bare host: the system's, else the unpacked one
    at /lab/userland with its libraries (sshd gives its sessions a fresh environment)."""
    if shutil.which("sshd", path=SYSTEM_PATH) is not None or userland_dir() is None:
        return ["/usr/sbin/sshd"], {}
    libs = ":".join(f"{BARE_USERLAND}/{d}/x86_64-linux-gnu" for d in ("usr/lib", "lib"))
    return [f"{BARE_USERLAND}/usr/sbin/sshd"], {"LD_LIBRARY_PATH": libs}


def open_file_limit() -> int:
    """linux.uml's soft limit on open files (it inherits ours)."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@contextmanager
def limit_hostfs_files(lab: Lab) -> Iterator[None]:
    """While open, the guest drops its dentry and inode caches twice a second (see above)."""
    proc = lab.spawn(None, ["/bin/sh", "-c", "while :; do echo 2 > /proc/sys/vm/drop_caches; sleep 0.5; done"])
    try:
        yield
    finally:
        if lab.alive:
            lab.stop(proc)

