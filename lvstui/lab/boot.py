"""The guest's init script and the linux.uml command line.

The guest boots with the host's root file system (hostfs) as its root and our script as
init. init mounts an overlay (lower = the host's root, upper = a tmpfs) and chroots into
it, so nothing the guest writes reaches the host, except into the one results directory
mounted at /run/labout. It then starts the agent on /dev/tty1 (the host's pipes).
"""

from __future__ import annotations

import shlex
from pathlib import Path

BASE_MODULES = ("ipv6", "sctp", "nf_conntrack", "veth", "bridge", "dummy")

_INIT = r"""#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
fail() { echo "lab init failed: $*"; poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o mode=755 tmpfs /mnt || fail "tmpfs on /mnt"
mkdir -p /mnt/out
mount -t hostfs none /mnt/out -o @outdir@ || fail "hostfs @outdir@"
exec >>/mnt/out/init.log 2>&1
echo "init: $(cat /proc/uptime)"
V=$(uname -r)
mkdir -p /mnt/mods/lib/modules /mnt/upper /mnt/work /mnt/root
ln -s /usr/lib/uml/modules/$V /mnt/mods/lib/modules/$V
modprobe -d /mnt/mods overlay || fail "modprobe overlay"
mount -t overlay overlay -o lowerdir=/,upperdir=/mnt/upper,workdir=/mnt/work /mnt/root || fail "overlay"
R=/mnt/root
IPVS=$(cd /usr/lib/uml/modules/$V/kernel/net/netfilter/ipvs && ls | sed 's/\.ko.*$//')
modprobe -a -d /mnt/mods $IPVS @modules@ || fail "modprobe"
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mount -t tmpfs -o mode=755 tmpfs $R/run
mkdir -p $R/lab
mount -t tmpfs -o mode=755 tmpfs $R/lab
mkdir -p $R/run/labout $R/run/lab $R/lab/lower $R/lab/hosts $R/lab/ns $R/lab/up
mount --move /mnt/out $R/run/labout
mount --bind / $R/lab/lower && mount -o remount,bind,ro $R/lab/lower || fail "read-only lower"
if grep -q ' /dev ' /proc/mounts; then mount --move /dev $R/dev; else mount -t devtmpfs devtmpfs $R/dev; fi
mount --move /proc $R/proc
mount --move /sys $R/sys
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o ptmxmode=0666,mode=0620 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
hostname lab
echo "init: chroot $(cat $R/proc/uptime)"
# /tmp is a fresh tmpfs in the chroot: reach our script through the read-only lower view.
chroot $R /bin/sh /lab/lower@stage2@
echo "agent ended: $?"
poweroff -f
"""

_STAGE2 = r"""#!/bin/sh
# Runs chrooted in the guest's overlay root: the agent. init powers off when it ends.
ip link set lo up
exec @python@ -I -S @agent@ /dev/tty1 /run/labout
"""


def init_script(outdir: Path, stage2: Path, modules: tuple[str, ...]) -> str:
    return _fill(
        _INIT,
        outdir=shlex.quote(str(outdir)),
        stage2=shlex.quote(str(stage2)),
        modules=" ".join(shlex.quote(m) for m in (*BASE_MODULES, *modules)),
    )


def stage2_script(python: str, agent: Path) -> str:
    return _fill(_STAGE2, python=shlex.quote(python), agent=shlex.quote(str(agent)))


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    return template


def uml_argv(
    binary: str, *, init: Path, mem: str, umid: str, uml_dir: Path, chan_in: int, chan_out: int
) -> list[str]:
    return [
        binary,
        f"mem={mem}",
        "root=/dev/root",
        "rootfstype=hostfs",
        "rootflags=/",
        "rw",
        f"init={init}",
        "con=null",
        "con0=fd:0,fd:1",
        f"con1=fd:{chan_in},fd:{chan_out}",
        "ssl=null",
        "quiet",
        f"umid={umid}",
        f"uml_dir={uml_dir}",
    ]
