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

# unpack_packages DEST_TREE PACKAGE...: what apt would install for them (the packages and the
# libraries the system lacks or has in an older version), downloaded without installing and
# unpacked into DEST_TREE, with bin/sbin/lib merged into usr/ on a merged-/usr system.
unpack_packages() {
    local tree=$1; shift
    local sim
    if ! sim=$(apt-get install -s -qq --no-install-recommends "$@" 2>&1); then
        say "cannot resolve $* with apt (run 'apt-get update' first?): $(echo "$sim" | tail -n 1)"
        return 1
    fi
    local debs
    mapfile -t debs < <(echo "$sim" | awk '/^Inst /{print $2}')
    if [ ${#debs[@]} -eq 0 ]; then
        say "apt would install nothing for $*: is the package list current (apt-get update)?"
        return 1
    fi
    local dl
    dl=$(mktemp -d "${TMPDIR:-/tmp}/lvstui-download-XXXXXX")
    chmod 755 "$dl"   # apt's download user must be able to write here
    if ! (cd "$dl" && apt-get download -qq "${debs[@]}" 2>"$dl/download.err"); then
        say "downloading ${debs[*]} failed (no Debian mirror reachable?): $(grep -v unsandboxed "$dl/download.err" | tail -n 1)"
        rm -rf "$dl"
        return 1
    fi
    mkdir -p "$tree"
    local deb d
    for deb in "$dl"/*.deb; do
        dpkg-deb -x "$deb" "$tree"
    done
    rm -rf "$dl"
    for d in bin sbin lib lib32 lib64 libx32; do
        if [ -L "/$d" ] && [ -d "$tree/$d" ] && [ ! -L "$tree/$d" ]; then
            mkdir -p "$tree/usr/$d"
            cp -a "$tree/$d/." "$tree/usr/$d/"
            rm -rf "${tree:?}/$d"
        fi
    done
}

# `userland.sh systemd-hosts`: the lab's systemd hosts (lvstui/lab/README.md, "systemd hosts")
# boot Debian's systemd with systemd-nspawn inside the guest, and their network stacks
# include ifupdown: systemd-container and ifupdown (with a systemd of the same version) are
# unpacked into ${XDG_CACHE_HOME:-~/.cache}/lvstui/userland-systemd/root, laid over those
# hosts' roots only.  Nothing is installed or started on this machine.
if [ "${1:-}" = "systemd-hosts" ]; then
    SDEST=$CACHE/userland-systemd
    SPKGS=(systemd-container ifupdown)
    if [ -f "$SDEST/.packages" ] && [ "$(cat "$SDEST/.packages")" = "${SPKGS[*]}" ] \
        && [ -x "$SDEST/root/usr/bin/systemd-nspawn" ]; then
        exit 0
    fi
    say "unpacking ${SPKGS[*]} for the lab's systemd hosts (not installed) into $SDEST"
    swork=$(mktemp -d "${TMPDIR:-/tmp}/lvstui-userland-XXXXXX")
    trap 'rm -rf "$swork"' EXIT
    unpack_packages "$swork/new/root" "${SPKGS[@]}" || exit 1
    echo "${SPKGS[*]}" > "$swork/new/.packages"
    mkdir -p "$CACHE"
    rm -rf "$SDEST.new"
    mv "$swork/new" "$SDEST.new"
    rm -rf "$SDEST"
    mv "$SDEST.new" "$SDEST"
    exit 0
fi

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

say "unpacking ${wanted[*]} (not installed: no service on this machine) into $DEST"
work=$(mktemp -d "${TMPDIR:-/tmp}/lvstui-userland-XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=$work/new/root
unpack_packages "$tree" "${wanted[@]}" || exit 1

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
