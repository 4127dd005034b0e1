"""The guest's init script and the linux.uml command line.

The guest boots with the host's root file system (hostfs) as its root and our script as
init. The host's root is mounted read-only (``ro``); init mounts an overlay (lower = the host's root,
upper = a tmpfs) and chroots into it, so nothing the guest writes reaches the host, except
into the one results directory mounted at /run/labout. It then starts the agent on /dev/tty1 (the host's pipes).
"""

from __future__ import annotations

import shlex
from pathlib import Path

_INIT = r"""#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
fail() { echo "lab init failed: $*"; poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o mode=755 tmpfs /mnt || fail "tmpfs on /mnt"
mkdir -p /mnt/out
mount -t hostfs none /mnt/out -o @outdir@ || fail "hostfs @outdir@"
exec >>/mnt/out/init.log 2>&1
echo "init: $(cat /proc/uptime) kernel $(uname -r)"
V=$(uname -r)
MODDIR=@moddir@
mkdir -p /mnt/mods/lib/modules /mnt/upper /mnt/work /mnt/root /mnt/layer/etc
# The chosen kernel's own module directory (the host decided what is a module, boot.py).
[ -n "$MODDIR" ] && ln -s "$MODDIR" /mnt/mods/lib/modules/$V
LOAD=""
for m in @modules@; do [ -d /sys/module/$m ] || LOAD="$LOAD $m"; done  # loaded or built in already
[ -z "$LOAD" ] || modprobe -a -d /mnt/mods $LOAD || fail "modprobe$LOAD (kernel $V, modules in ${MODDIR:-none})"
# Lower layers, top first: passwd/group with sshd's privilege separation user, the daemons
# scripts/userland.sh unpacked (if the host has none of its own), the host's root (read-only).
cp /etc/passwd /etc/group /mnt/layer/etc/
grep -q '^sshd:' /mnt/layer/etc/passwd || echo 'sshd:x:998:65534:lab sshd:/run/sshd:/usr/sbin/nologin' >>/mnt/layer/etc/passwd
LOWER=/mnt/layer
USERLAND=@userland@
if [ -n "$USERLAND" ]; then
    mkdir -p /mnt/userland
    mount -t hostfs -o ro,"$USERLAND" none /mnt/userland || fail "hostfs $USERLAND"
    LOWER=$LOWER:/mnt/userland
fi
mount -t overlay overlay -o lowerdir=$LOWER:/,upperdir=/mnt/upper,workdir=/mnt/work /mnt/root || fail "overlay"
R=/mnt/root
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mount -t tmpfs -o mode=755 tmpfs $R/run
mkdir -p $R/lab
mount -t tmpfs -o mode=755 tmpfs $R/lab
mkdir -p $R/run/labout $R/run/lab $R/lab/lower $R/lab/layer $R/lab/hosts $R/lab/ns $R/lab/up
mount --move /mnt/out $R/run/labout
mount --bind / $R/lab/lower && mount -o remount,bind,ro $R/lab/lower || fail "read-only lower"
mount --bind /mnt/layer $R/lab/layer && mount -o remount,bind,ro $R/lab/layer || fail "read-only layer"
if [ -n "$USERLAND" ]; then
    mkdir -p $R/lab/userland
    mount --bind /mnt/userland $R/lab/userland || fail "userland"
fi
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


def init_script(
    outdir: Path, stage2: Path, *, modules: list[str], module_dir: str | None, userland: Path | None
) -> str:
    """``modules``: what to modprobe (kernel.modules_to_load: built-in ones already left out)."""
    return _fill(
        _INIT,
        outdir=shlex.quote(str(outdir)),
        stage2=shlex.quote(str(stage2)),
        moddir=shlex.quote(module_dir or ""),
        modules=" ".join(shlex.quote(m) for m in modules),
        userland=shlex.quote(str(userland) if userland is not None else ""),
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
        "ro",  # the host's root stays read-only to the guest: writes go to the overlay's tmpfs
        f"init={init}",
        "con=null",
        "con0=fd:0,fd:1",
        f"con1=fd:{chan_in},fd:{chan_out}",
        "ssl=null",
        "quiet",
        f"umid={umid}",
        f"uml_dir={uml_dir}",
    ]
