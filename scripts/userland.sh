#!/usr/bin/env bash
# The lab's daemons without installing a service on this machine.
#
# The lab guest runs keepalived, ipvsadm and sshd; the tests also run `keepalived -t` and a
# loopback sshd on this machine.  Installing Debian's keepalived or openssh-server packages
# would install (and, under systemd, start and enable) their services here: on a director
# that is a second keepalived, on a workstation an SSH server.  So where the system does not
# already have them, this script downloads the packages (and the libraries they need that
# the system lacks) with `apt-get download` and unpacks them with `dpkg-deb -x` into
#   ${XDG_CACHE_HOME:-~/.cache}/lvstui/userland/root/
# which the lab lays over the guest's root (lvstui/lab/userland.py); userland/bin/ holds
# wrappers that run them on this machine (for the tests).  Nothing is written outside that directory; nothing is started.
# Idempotent: a second run with the same packages does nothing.
set -euo pipefail

say() { echo "setup: $*" >&2; }

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/lvstui
DEST=$CACHE/userland
# binary -> the package that ships it
declare -A PACKAGE=([keepalived]=keepalived [ipvsadm]=ipvsadm [sshd]=openssh-server)

on_system() {
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v "$1" >/dev/null 2>&1
}

wanted=()
for bin in keepalived ipvsadm sshd; do
    on_system "$bin" || wanted+=("${PACKAGE[$bin]}")
done
if [ ${#wanted[@]} -eq 0 ]; then
    exit 0  # the system has them all: the lab uses the system's
fi

stamp=$DEST/.packages
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${wanted[*]}" ] && [ -d "$DEST/root/usr" ]; then
    exit 0
fi

# What apt would install for them (the packages and the missing libraries), without installing.
if ! sim=$(apt-get install -s -qq --no-install-recommends "${wanted[@]}" 2>&1); then
    say "cannot resolve ${wanted[*]} with apt (run 'apt-get update' first?): $(echo "$sim" | tail -n 1)"
    exit 1
fi
mapfile -t debs < <(echo "$sim" | awk '/^Inst /{print $2}')
if [ ${#debs[@]} -eq 0 ]; then
    say "apt would install nothing for ${wanted[*]}: is the package list current (apt-get update)?"
    exit 1
fi

say "unpacking ${wanted[*]} (not installed: no service on this machine) into $DEST"
work=$(mktemp -d "${TMPDIR:-/tmp}/lvstui-userland-XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"   # apt's download user must be able to write here
if ! (cd "$work" && apt-get download -qq "${debs[@]}" 2>"$work/download.err"); then
    say "downloading ${debs[*]} failed (no Debian mirror reachable?): $(grep -v unsandboxed "$work/download.err" | tail -n 1)"
    exit 1
fi
tree=$work/new/root
mkdir -p "$tree"
for deb in "$work"/*.deb; do
    dpkg-deb -x "$deb" "$tree"
done
# On a merged-/usr system /bin, /sbin and /lib are symlinks into /usr: a real directory of
# that name in a layer laid over the root would hide the system's.  Merge them into usr/.
for d in bin sbin lib lib32 lib64 libx32; do
    if [ -L "/$d" ] && [ -d "$tree/$d" ] && [ ! -L "$tree/$d" ]; then
        mkdir -p "$tree/usr/$d"
        cp -a "$tree/$d/." "$tree/usr/$d/"
        rm -rf "${tree:?}/$d"
    fi
done

# Wrappers for running them on this machine (the tests): the unpacked libraries first.
mkdir -p "$work/new/bin"
libs="$DEST/root/usr/lib/x86_64-linux-gnu:$DEST/root/lib/x86_64-linux-gnu"
for bin in keepalived ipvsadm sshd; do
    on_system "$bin" && continue
    for dir in usr/sbin sbin usr/bin bin; do
        if [ -x "$tree/$dir/$bin" ] && [ ! -d "$tree/$dir/$bin" ]; then
            printf '#!/bin/sh\n# lvstui lab userland (scripts/userland.sh)\nLD_LIBRARY_PATH=%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec %s "$@"\n' \
                "$libs" "$DEST/root/$dir/$bin" > "$work/new/bin/$bin"
            chmod 755 "$work/new/bin/$bin"
            break
        fi
    done
done
echo "${wanted[*]}" > "$work/new/.packages"

rm -rf "$DEST.new"
mkdir -p "$CACHE"
mv "$work/new" "$DEST.new"
rm -rf "$DEST"
mv "$DEST.new" "$DEST"
say "userland ready: $(ls "$DEST/bin" | tr '\n' ' ')"
