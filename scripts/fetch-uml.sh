#!/usr/bin/env bash
# A User-Mode Linux kernel from the newest Debian suite, for CPUs where the distribution's
# does not boot (Debian 12's 6.1 and 13's 6.12 panic on hosts whose XSAVE state is larger
# than they expect: "ptrace set fp regs failed", seen with AVX-512 and AMX).
#
# Downloads the packages user-mode-linux and libc6 (the kernel binary needs a newer glibc
# than the system's) from Debian's unstable suite through this system's own configured
# Debian mirror, using a temporary package list in lvstui's cache: the system's apt sources,
# lists and packages are not touched, and nothing is installed.  Unpacks both into
#   ${XDG_CACHE_HOME:-~/.cache}/lvstui/uml/<version>/root
# and writes a copy of the kernel whose ELF interpreter and library path point there
# (patchelf): .../uml/<version>/linux.uml.  The lab finds it there (lvstui/lab/kernel.py).
# Idempotent: does nothing when a kernel is already unpacked there (--refresh: look for a
# newer version in the suite and unpack it beside).
set -euo pipefail

say() { echo "setup: $*" >&2; }

SUITE=${LVSTUI_UML_SUITE:-sid}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/lvstui
APTDIR=$CACHE/apt-$SUITE

for tool in apt-get dpkg-deb patchelf; do
    command -v "$tool" >/dev/null 2>&1 || { say "fetching User-Mode Linux needs $tool (apt-get install $tool)"; exit 1; }
done

# The Debian mirror this system already uses (deb822 or one-line sources).
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    mirror=$(awk 'tolower($1)=="uris:" {for (i=2;i<=NF;i++) if ($i ~ /debian\/?$/ && $i !~ /security/) {print $i; exit}}' "$f")
    [ -n "$mirror" ] && break
done
if [ -z "$mirror" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        mirror=$(awk '$1=="deb" {for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\// && $i ~ /debian\/?$/ && $i !~ /security/) {print $i; exit}}' "$f")
        [ -n "$mirror" ] && break
    done
fi
if [ -z "$mirror" ]; then
    say "no Debian mirror in this system's apt sources: a User-Mode Linux that boots on this CPU needs Debian's" \
        "'$SUITE' suite; pass one with 'lvstui lab --uml PATH' (or LVSTUI_UML) instead"
    exit 1
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || { say "Debian's archive keyring ($keyring) is missing: apt-get install debian-archive-keyring"; exit 1; }

if [ "${1:-}" != "--refresh" ]; then
    for have in "$CACHE"/uml/*/linux.uml; do
        if [ -x "$have" ]; then
            say "User-Mode Linux $(basename "$(dirname "$have")") is already in $(dirname "$have") (--refresh looks for a newer one)"
            exit 0
        fi
    done
fi

mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/debs"
echo "deb [signed-by=$keyring] $mirror $SUITE main" > "$APTDIR/sources.list"
OPTS=(-o "Dir::Etc::sourcelist=$APTDIR/sources.list" -o Dir::Etc::sourceparts=-
      -o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache" -o APT::Get::List-Cleanup=0)
APT=(apt-get -qq "${OPTS[@]}")

say "reading Debian $SUITE's package list from $mirror (temporary list in $APTDIR)"
if ! "${APT[@]}" update 2>"$APTDIR/update.err"; then
    say "could not read Debian $SUITE from $mirror (offline?): $(tail -n 1 "$APTDIR/update.err")"
    exit 1
fi
version=$(apt-cache "${OPTS[@]}" policy user-mode-linux 2>/dev/null | awk '/Candidate:/{print $2; exit}')
[ "$version" = "(none)" ] && version=""
if [ -z "$version" ]; then
    say "Debian $SUITE has no user-mode-linux package for this architecture"
    exit 1
fi
dest=$CACHE/uml/$version
if [ -x "$dest/linux.uml" ]; then
    say "User-Mode Linux $version is already in $dest"
    exit 0
fi

say "downloading user-mode-linux $version and libc6 from Debian $SUITE"
chmod 755 "$APTDIR/debs"
rm -f "$APTDIR"/debs/*.deb
if ! (cd "$APTDIR/debs" && "${APT[@]}" download user-mode-linux libc6 2>"$APTDIR/download.err"); then
    say "download failed: $(grep -v unsandboxed "$APTDIR/download.err" | tail -n 1)"
    exit 1
fi

mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/uml-XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
for deb in "$APTDIR"/debs/*.deb; do
    dpkg-deb -x "$deb" "$tmp/root"
done
lib=$dest/root/usr/lib/x86_64-linux-gnu
cp "$tmp/root/usr/bin/linux.uml" "$tmp/linux.uml"
patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --set-rpath "$lib" "$tmp/linux.uml"
mkdir -p "$CACHE/uml"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
rm -f "$APTDIR"/debs/*.deb
say "User-Mode Linux $version unpacked into $dest ($("$dest/linux.uml" --version 2>/dev/null || echo '?'))"
