#!/usr/bin/env bash
# The lab's package mirror: the .deb files that a lab host without keepalived and ipvsadm
# (HostSpec(bare=True)) needs for `apt-get install --no-install-recommends ipvsadm keepalived`,
# and their Packages/Release index, in
#   ${XDG_CACHE_HOME:-~/.cache}/lvstui/mirror/
# The lab serves that directory over HTTP to its bare hosts (lvstui/lab/mirror.py), so the
# director wizard installs the packages with apt for real inside the lab.
#
# A bare host's lower layer is this machine's root: its dpkg knows what this machine's dpkg
# knows.  So the set is what apt would install here for those two packages (a simulation:
# `apt-get install -s`, which installs nothing), taken from /var/cache/apt/archives where a
# file of that exact version is there, else fetched with `apt-get download` into a temporary
# directory.  Nothing is installed on this machine; nothing is written outside that directory.
# Idempotent: when the index is there and every file it lists is there with its size, it
# does nothing (not even ask apt); LVSTUI_MIRROR_REFRESH=1 computes the set again.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/lvstui
DEST=$CACHE/mirror
PACKAGES=(ipvsadm keepalived)
PY=${PYTHON_VENV:-.venv/bin/python}

complete() {  # the index and every file it lists, with the size it says
    [ -s "$DEST/Packages" ] && [ -s "$DEST/Release" ] || return 1
    local name size
    while read -r name size; do
        [ "$(stat -c %s "$DEST/$name" 2>/dev/null)" = "$size" ] || return 1
    done < <(awk '/^Filename: /{f=$2} /^Size: /{print f, $2}' "$DEST/Packages")
}
if [ "${LVSTUI_MIRROR_REFRESH:-0}" != 1 ] && complete; then
    exit 0
fi

if ! sim=$(apt-get install -s -qq --no-install-recommends "${PACKAGES[@]}" 2>&1); then
    say "mirror: cannot resolve ${PACKAGES[*]} with apt (run 'apt-get update' first?): $(echo "$sim" | tail -n 1)"
    exit 1
fi
# "Inst NAME (VERSION SUITE... [ARCH])" -> NAME=VERSION ARCH
mapfile -t wanted < <(echo "$sim" | awk '/^Inst /{v=$3; sub(/^\(/, "", v); a=$NF; gsub(/[][)]/, "", a); print $2 "=" v " " a}')
if [ ${#wanted[@]} -eq 0 ]; then
    say "mirror: this machine's dpkg already has ${PACKAGES[*]}: a bare lab host would not lack them; no mirror"
    exit 0
fi

# The file name apt gives a package: NAME_VERSION_ARCH.deb with the epoch's ':' as %3a.
deb_name() {  # "NAME=VERSION ARCH"
    local pv=${1% *} arch=${1##* }
    local name=${pv%%=*} version=${pv#*=}
    echo "${name}_${version//:/%3a}_${arch}.deb"
}

mkdir -p "$DEST"
missing=()
files=()
for entry in "${wanted[@]}"; do
    pv=${entry% *}
    f=$(deb_name "$entry")
    files+=("$f")
    [ -s "$DEST/$f" ] && continue
    if [ -s "/var/cache/apt/archives/$f" ]; then
        cp "/var/cache/apt/archives/$f" "$DEST/$f.tmp" && mv "$DEST/$f.tmp" "$DEST/$f"
    else
        missing+=("$pv")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    say "mirror: downloading ${missing[*]} (apt-get download: nothing is installed)"
    work=$(mktemp -d "${TMPDIR:-/tmp}/lvstui-mirror-XXXXXX")
    trap 'rm -rf "$work"' EXIT
    chmod 755 "$work"   # apt's download user must be able to write here
    if ! (cd "$work" && apt-get download -qq "${missing[@]}" 2>"$work/download.err"); then
        say "mirror: downloading ${missing[*]} failed (no Debian mirror reachable?): $(grep -v unsandboxed "$work/download.err" | tail -n 1)"
        exit 1
    fi
    for deb in "$work"/*.deb; do
        mv "$deb" "$DEST/$(basename "$deb")"
    done
fi
# Files of an older set (another version) go: the index lists exactly this set.
for deb in "$DEST"/*.deb; do
    keep=0
    for f in "${files[@]}"; do [ "$(basename "$deb")" = "$f" ] && keep=1; done
    [ $keep = 1 ] || rm -f "$deb"
done
for f in "${files[@]}"; do
    [ -s "$DEST/$f" ] || { say "mirror: $f is missing after the download"; exit 1; }
done
"$PY" -m lvstui.lab.aptrepo "$DEST"
